#!/usr/bin/env bash
# Benchmarks against the peers (issue 11), one command: builds the benchmark binaries (RTL on,
# -DTPUSIM_BENCH=ON) in BUILD_DIR, makes sure the venv has SCALE-Sim (scripts/venv.sh), runs
# SCALE-Sim, the verilated RTL, the SystemC twin, the fast engine and native GEMM on the same work
# and regenerates results/BENCHMARKS.md (and results/bench/) from scratch.
#   scripts/bench/run_all.sh [--quick]
# Env: BUILD_DIR (default build-bench), JOBS (default 2), TPUSIM_VENV (default build/venv).
# The suite itself takes about 10 minutes on 2 cores; a first build with the RTL about 15 more.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
cmake -S "$root" -B "$build" -DTPUSIM_BENCH=ON -DTPUSIM_RTL=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target tpusim_engine_bench tpusim_micro_bench tpusim >/dev/null
"$root/scripts/venv.sh" || echo "warning: venv setup failed; SCALE-Sim columns will be empty" >&2
py="${TPUSIM_VENV:-$root/build/venv}/bin/python"
[ -x "$py" ] || py=python3
rm -f "$root/results/BENCHMARKS.md"
rm -rf "$root/results/bench"
"$py" "$root/scripts/bench/bench.py" --build "$build" "$@"
