#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds, runs the built-in default
# and writes its report under results/run/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/install.sh"
"$ROOT/scripts/build.sh" >/dev/null
mkdir -p "$ROOT/results/run"
"$ROOT/build/sim/tpusim" run --arch tpu-v1 --program "$ROOT/workloads/examples/mlp2.s" \
  --mode fast --json "$ROOT/results/run/report.json" --force
