#!/usr/bin/env bash
# Measured GPU baseline (issue 8): builds gpu_gemm_bench (scripts/gpu/gemm_bench.cu, cuBLASLt
# int8 and bf16) and runs it over the GEMM shapes of the TPU v1 apps, writing
# results/gpu/<date>-<device>.json for `tpusim compare --gpu-results FILE`.
#
# Usage: scripts/gpu/run_gpu_baseline.sh [SHAPES.csv] [extra gpu_gemm_bench args...]
#   SHAPES.csv  layer,m,k,n[,batch_count] lines; default: the shapes `tpusim compare
#               --emit-gpu-shapes` writes for mlp0 mlp1 lstm0 lstm1 cnn0 cnn1 when the built
#               tpusim supports it, else scripts/gpu/tpu_v1_shapes.csv (all six apps).
# Env: BUILD_DIR (default build-gpu), JOBS (default nproc), MAX_SECONDS (default 300).
# Exit: 0 written, 77 no GPU (nothing written), else the failing step's code.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-gpu}"
JOBS="${JOBS:-$(nproc)}"
MAX_SECONDS="${MAX_SECONDS:-300}"

if ! command -v nvcc >/dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  echo "run_gpu_baseline: nvcc not found; install the CUDA toolkit" >&2
  exit 1
fi
export PATH="$PATH:/usr/local/cuda/bin"

cmake -S "$ROOT" -B "$BUILD_DIR" -DTPUSIM_RTL=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" --target gpu_gemm_bench -j "$JOBS"
BENCH="$BUILD_DIR/scripts/gpu/gpu_gemm_bench"

SHAPES="${1:-}"
[ $# -gt 0 ] && shift
if [ -z "$SHAPES" ]; then
  SHAPES="$BUILD_DIR/tpu_v1_shapes.csv"
  TPUSIM="$BUILD_DIR/sim/tpusim"
  if cmake --build "$BUILD_DIR" --target tpusim -j "$JOBS" >/dev/null 2>&1 &&
     "$TPUSIM" compare --help 2>/dev/null | grep -q -- '--emit-gpu-shapes'; then
    echo "layer,m,k,n,batch_count" > "$SHAPES"
    for app in mlp0 mlp1 lstm0 lstm1 cnn0 cnn1; do
      "$TPUSIM" compare --arch tpu-v1 --workload "$app" --emit-gpu-shapes "$SHAPES.$app"
      grep -v -e '^layer' -e '^#' "$SHAPES.$app" | sed "s/^/$app./" >> "$SHAPES"
    done
  else
    cp "$ROOT/scripts/gpu/tpu_v1_shapes.csv" "$SHAPES"
  fi
fi

TMP_OUT="$BUILD_DIR/gpu_gemm_bench.json"
set +e
"$BENCH" --shapes "$SHAPES" --max-seconds "$MAX_SECONDS" --out "$TMP_OUT" "$@"
rc=$?
set -e
if [ $rc -eq 77 ]; then
  echo "run_gpu_baseline: no GPU on this machine; nothing written" >&2
  exit 77
fi
[ $rc -eq 0 ] || exit $rc

DEVICE="$(sed -n 's/^  "device": "\(.*\)",$/\1/p' "$TMP_OUT" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' '-' |
          sed 's/-\+/-/g; s/^-//; s/-$//')"
DATE="$(sed -n 's/^  "date": "\(.*\)",$/\1/p' "$TMP_OUT")"
mkdir -p "$ROOT/results/gpu"
DEST="$ROOT/results/gpu/${DATE}-${DEVICE:-unknown-gpu}.json"
cp "$TMP_OUT" "$DEST"
echo "run_gpu_baseline: wrote $DEST"
