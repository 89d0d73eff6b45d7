#!/usr/bin/env bash
# Optional: what scripts/fuzz.sh needs beyond scripts/install.sh (Debian 12): clang 14 and its
# runtime libraries (libFuzzer, ASan, UBSan: libclang-rt-14-dev).
set -euo pipefail
need=()
command -v clang++ >/dev/null || need+=(clang)
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || need+=(libclang-rt-14-dev)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${need[@]}"
fi
