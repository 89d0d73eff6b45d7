#!/usr/bin/env bash
# The Debian package of tpusim (CPack, from build/: scripts/build.sh first): PREFIX /usr, the
# binary (stripped) and its data under /usr/share/tpusim, Depends from the shared libraries it
# links.
#   scripts/package.sh            writes build/tpusim_<version>_<arch>.deb and prints its path
#   scripts/package.sh --chroot   also installs it with apt into a fresh Debian 12 root
#                                 (debootstrap, as root; ~5 minutes, ~400 MB in build/deb-root)
#                                 and runs `tpusim list workloads` and the README's worked example
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
cd "$BUILD_DIR"
cmake --build . --target tpusim >/dev/null  # up to date, CPackConfig.cmake regenerated
cpack -G DEB >/dev/null
deb=$(ls -t "$BUILD_DIR"/tpusim_*.deb | head -1)
echo "$deb"
[ "${1:-}" = "--chroot" ] || exit 0

[ "$(id -u)" -eq 0 ] || { echo "package.sh --chroot: run as root" >&2; exit 2; }
command -v debootstrap >/dev/null ||
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
R="$BUILD_DIR/deb-root"
if [ ! -x "$R/usr/bin/apt-get" ]; then
  rm -rf "$R"
  debootstrap --variant=minbase bookworm "$R" >/dev/null
fi
cp "$deb" "$R/tmp/tpusim.deb"
mount -t proc proc "$R/proc"
trap 'umount "$R/proc"' EXIT
chroot "$R" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
chroot "$R" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/tpusim.deb >/dev/null
chroot "$R" tpusim list workloads | head -3
chroot "$R" sh -c 'cd /tmp && tpusim run --arch tpu-v1 --workload mlp0 --json r.json --force' | head -4
echo "chroot: ok"
