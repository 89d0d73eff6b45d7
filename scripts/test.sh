#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole CTest suite.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/install.sh"
"$ROOT/scripts/build.sh"
cd "$ROOT/build"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" ${CTEST_ARGS:-}
