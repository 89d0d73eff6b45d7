#!/usr/bin/env bash
# The application studies of issue 24 into results/apps/ (one Markdown page, report JSON and plot
# per application of workloads/apps/): scripts/app_study.py over `tpusim app`.
#   scripts/app_study.sh [OUT_DIR] [--only video-search,rag-hermes,tfdata,generative-agents,variants]
# Env: TPUSIM = the tpusim binary (default build/sim/tpusim), PYTHON = python with matplotlib and
# PyYAML (default build/venv/bin/python).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/results/apps}"
shift || true
bin="${TPUSIM:-$root/build/sim/tpusim}"
py="${PYTHON:-$root/build/venv/bin/python}"
[ -x "$bin" ] || { echo "app_study: no tpusim at $bin (scripts/build.sh)" >&2; exit 2; }
"$py" "$root/scripts/app_study.py" --tpusim "$bin" --out "$out" "$@"
rm -rf "$out/_work"
