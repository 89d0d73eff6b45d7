#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds, runs the built-in default
# (the TPU paper's MLP0 on the tpu-v1 preset, fast engine, values included) and writes its report
# under results/run/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/install.sh"
"$ROOT/scripts/build.sh" >/dev/null
mkdir -p "$ROOT/results/run"
"$ROOT/build/sim/tpusim" run --arch tpu-v1 --workload mlp0 --mode fast \
  --json "$ROOT/results/run/report.json" --force
