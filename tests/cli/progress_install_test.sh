#!/usr/bin/env bash
# Issue 26: progress bars only on a terminal (none in pipes, none with --quiet), and an installed
# tpusim (cmake --install) that runs from its prefix alone.
#   TPUSIM=build/sim/tpusim BUILD=build bash tests/cli/progress_install_test.sh
set -euo pipefail
T=${TPUSIM:?TPUSIM: the tpusim binary}
B=${BUILD:?BUILD: the build folder}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cat > "$tmp/wl.yaml" <<'YAML'
name: tiny-mlp
paper: none
description: two FC layers
batch: 6
input: {features: 20}
layers:
  - {type: fc, name: fc1, out: 24, act: relu}
  - {type: fc, name: fc2, out: 8}
YAML
run=(run --arch tiny-4 --workload "$tmp/wl.yaml" --mode cycle)
# A build without the cycle engine (-DTPUSIM_CYCLE=OFF) lists the mode but says so when run.
"$T" "${run[@]}" >/dev/null 2>"$tmp/probe" || true
if grep -q "not in this build" "$tmp/probe"; then
  echo "cycle engine not in this build: the progress checks are skipped"
elif "$T" list archs >/dev/null; then
  # A pipe: stdout is the summary alone, stderr empty.
  "$T" "${run[@]}" >"$tmp/out" 2>"$tmp/err" || fail "cycle run"
  [ ! -s "$tmp/err" ] || fail "stderr not empty in a pipe: $(cat "$tmp/err")"
  grep -q "^cycles" "$tmp/out" || fail "no summary"
  # --json - style output: the report file is JSON only.
  "$T" "${run[@]}" --json "$tmp/r.json" --quiet >"$tmp/out" 2>&1
  [ ! -s "$tmp/out" ] || fail "--quiet printed: $(cat "$tmp/out")"
  python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$tmp/r.json" || fail "report JSON"
  if command -v script >/dev/null; then
    # A terminal (script(1) gives the command a pseudo-terminal): the bar, its rate and ETA.
    script -qec "$T ${run[*]}" /dev/null >"$tmp/tty" 2>&1 || fail "cycle run on a tty"
    grep -q "cycles/s" "$tmp/tty" || fail "no progress bar on a terminal: $(cat "$tmp/tty")"
    grep -q "%" "$tmp/tty" || fail "no percentage on a terminal"
    script -qec "$T ${run[*]} --quiet" /dev/null >"$tmp/ttyq" 2>&1 || fail "quiet run on a tty"
    ! grep -q "cycles/s" "$tmp/ttyq" || fail "progress bar despite --quiet"
  fi
  echo "progress: ok"
fi

# cmake --install: the binary finds its data under PREFIX/share/tpusim, not in the source tree.
cmake --install "$B" --prefix "$tmp/prefix" >/dev/null
P="$tmp/prefix/bin/tpusim"
[ -x "$P" ] || fail "no installed binary"
[ -f "$tmp/prefix/share/tpusim/workloads/archs/tpu-v1.yaml" ] || fail "no installed presets"
[ -d "$tmp/prefix/share/tpusim/sim/report/schemas" ] || fail "no installed schemas"
env -u TPUSIM_HOME "$P" list workloads | grep -q mlp0 || fail "installed: list workloads"
(cd "$tmp" && env -u TPUSIM_HOME "$P" run --arch tpu-v1 --workload mlp0 --json r2.json >/dev/null) ||
  fail "installed: worked example"
python3 - "$tmp/r2.json" "$tmp/prefix/share/tpusim/" <<'PY' || fail "installed: data not from the prefix"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["workload"]["file"].startswith(sys.argv[2]), r["workload"]["file"]
PY
echo "install: ok"
