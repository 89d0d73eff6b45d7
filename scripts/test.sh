#!/usr/bin/env bash
# Installs what is missing (Debian packages, the test tools, the Python venv under build/),
# builds, and runs the whole CTest suite; then the ASan+UBSan tree build-asan/ (gcc, RTL off) and
# its labelled subset `ctest -L sanitize` (unit, cli, robustness; tests/README.md says why).
# SANITIZE=0 skips the sanitizer part (about 15 CPU-minutes, 8 minutes on 2 cores: tests/README.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-$(nproc)}
"$ROOT/scripts/install.sh"
"$ROOT/scripts/install_test_tools.sh"
"$ROOT/scripts/build.sh"
"$ROOT/scripts/venv.sh"
cd "$ROOT/build"
# -LE campaign: the fast-vs-twin library campaign (~2 CPU-hours) runs by label or script
# (tests/README.md), not in CI.
ctest --output-on-failure -j "$JOBS" -LE campaign ${CTEST_ARGS:-}

if [ "${SANITIZE:-1}" != 0 ]; then
  werror=OFF
  if [ "${CI:-}" = "true" ]; then werror=ON; fi
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  # -O1 -g1 (line tables for the reports): half the compile time of RelWithDebInfo's -O2 -g.
  cmake -S "$ROOT" -B "$ROOT/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTPUSIM_WERROR=$werror \
    -DTPUSIM_SANITIZE=ON -DTPUSIM_RTL=OFF -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    "${launcher[@]}" >/dev/null
  # Only what the `sanitize` label runs (the whole tree would double the CI time).
  cmake --build "$ROOT/build-asan" -j "$JOBS" --target tpusim models_tests isa_tests engines_tests fuzz_replay robustness_tests
  cd "$ROOT/build-asan"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=0:abort_on_error=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/robustness/lsan.supp}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  ctest --output-on-failure -j "$JOBS" -L sanitize
fi
