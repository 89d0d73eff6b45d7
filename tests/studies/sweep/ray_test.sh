#!/usr/bin/env bash
# scripts/ray_sweep.py on a local Ray cluster (127.0.0.1) gives the bytes of the local sweep:
# every point file, results.jsonl and summary.csv. A tpusim that crashes on its first try at two
# points exercises the retries. Skips (77) when ray is not importable from the venv.
#   ray_test.sh SWEEP_DRIVER VENV_PYTHON
set -euo pipefail
DRIVER=$1 PY=$2
HERE=$(cd "$(dirname "$0")" && pwd) ROOT=$(cd "$HERE/../../.." && pwd)
if [ ! -x "$PY" ] || ! "$PY" -c "import ray" 2>/dev/null; then
  echo "skip: ray not importable from $PY (add it with scripts/venv.sh)"; exit 77
fi
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
SPEC=$HERE/small.yaml
"$DRIVER" sweep "$SPEC" --out "$TMP/local" --jobs 2 --quiet --no-progress

# A tpusim that SIGKILLs itself the first time it runs each of two chosen points.
mapfile -t IDS < <("$DRIVER" sweep "$SPEC" --out "$TMP/local" --list | "$PY" -c \
  'import json,sys; print("\n".join(json.loads(l)["id"] for l in list(sys.stdin)[0:4:2]))')
cat > "$TMP/crashy.sh" <<WRAP
#!/usr/bin/env bash
for id in ${IDS[*]}; do
  if [[ " \$* " == *" --only-point \$id "* ]] && mkdir "$TMP/crashed-\$id" 2>/dev/null; then
    kill -9 \$\$
  fi
done
exec "$DRIVER" "\$@"
WRAP
chmod +x "$TMP/crashy.sh"

# Half done already (resume): the Ray run must finish the rest and keep these files.
mkdir -p "$TMP/ray/points"
"$DRIVER" sweep "$SPEC" --out "$TMP/local" --list | "$PY" -c '
import json, shutil, sys
for i, l in enumerate(sys.stdin):
    if i % 2:
        pid = json.loads(l)["id"]
        shutil.copy(f"{sys.argv[1]}/points/{pid}.json", f"{sys.argv[2]}/points/{pid}.json")
' "$TMP/local" "$TMP/ray"

"$PY" "$ROOT/scripts/ray_sweep.py" "$SPEC" --out "$TMP/ray" --address local --num-cpus 2 \
  --tpusim "$TMP/crashy.sh" --max-retries 2 > "$TMP/ray.out" 2> "$TMP/ray.err" ||
  { echo "FAIL: ray_sweep exited $?"; cat "$TMP/ray.out" "$TMP/ray.err"; exit 1; }
for id in "${IDS[@]}"; do
  [ -d "$TMP/crashed-$id" ] || { echo "FAIL: point $id was not crashed once"; exit 1; }
done
grep -q "24 points, 0 run, 24 reused, 0 failed" "$TMP/ray.out" || { cat "$TMP/ray.out"; exit 1; }
grep -q "12 points run on Ray" "$TMP/ray.err" || { cat "$TMP/ray.err"; exit 1; }
diff -r "$TMP/local/points" "$TMP/ray/points"
cmp "$TMP/local/results.jsonl" "$TMP/ray/results.jsonl"
cmp "$TMP/local/summary.csv" "$TMP/ray/summary.csv"
[ -z "$(ls -A "$TMP/ray/failed")" ] || { echo "FAIL: failed points"; exit 1; }
echo ok
