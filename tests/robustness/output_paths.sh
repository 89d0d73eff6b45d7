#!/usr/bin/env bash
# Output paths (issue 12): every writer refuses to replace an existing file unless --force, and
# writes nothing outside the folder or files it is given.
source "$(dirname "$0")/lib.sh"
P=$ROOT/workloads/examples/mlp2.s
WL=$ROOT/tests/studies/sweep/tiny_mlp.yaml
exists() {  # exists NAME FILE -- command... : FILE exists beforehand, the command must refuse
  local name=$1 f=$2; shift 3
  echo keep > "$f"
  expect2 "$name:refuse" "$(basename "$f"): file exists \(use --force" -- "$@"
  if [ "$(cat "$f")" = keep ]; then ok; else bad "$name: the existing file was changed"; fi
  expect0 "$name:force" -- "$@" --force
  if [ "$(cat "$f")" != keep ]; then ok; else bad "$name: --force did not replace the file"; fi
}
o=$tmp/o; mkdir -p $o
exists run-json $o/r.json -- "$T" run --arch tiny-4 --program "$P" --mode functional --quiet --json $o/r.json
mkdir -p $o/d
exists run-out $o/d/report.json -- "$T" run --arch tiny-4 --program "$P" --mode fast --quiet --out $o/d
exists run-csv $o/l.csv -- "$T" run --arch tiny-8 --workload "$WL" --timing-only --quiet --csv $o/l.csv
exists run-trace $o/t.json -- "$T" run --arch tiny-4 --program "$P" --quiet --trace $o/t.json
exists asm $o/p.bin -- "$T" asm "$P" -o $o/p.bin
exists lower $o/p.s -- "$T" lower --arch tiny-8 --workload "$WL" -o $o/p.s
printf 'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\nc1, 8, 8, 3, 3, 4, 8, 1,\n' > $tmp/topo.csv
exists import-scalesim $o/w.yaml -- "$T" import-scalesim $tmp/topo.csv -o $o/w.yaml
exists compare-json $o/c.json -- "$T" compare --arch tpu-v1 --workload mlp0 --baselines k80 --json $o/c.json
exists compare-shapes $o/s.csv -- "$T" compare --arch tpu-v1 --workload mlp0 --emit-gpu-shapes $o/s.csv
exists serve-json $o/sv.json -- "$T" serve --trace orca --requests 10 --quiet --json $o/sv.json
exists serve-csv $o/sv.csv -- "$T" serve --trace orca --requests 10 --quiet --csv $o/sv.csv
exists serve-requests-csv $o/rq.csv -- "$T" serve --trace orca --requests 10 --quiet --requests-csv $o/rq.csv
exists plan-json $o/pl.json -- "$T" plan --arch tpu-v1 --workload mlp0 --slo-latency 1 --max-chips 2 --json $o/pl.json
exists app-json $o/ap.json -- "$T" app tfdata-resnet50 --requests 10 --quiet --json $o/ap.json
mkdir -p $o/ad
exists app-out $o/ad/report.json -- "$T" app tfdata-resnet50 --requests 10 --quiet --out $o/ad
# `report DIR` writes only inside DIR and refuses to replace report.md / report.html.
r=$tmp/rep/run; mkdir -p $r
"$T" run --arch tiny-4 --program "$P" --quiet --out $r >/dev/null 2>&1
echo keep > $r/report.md
expect2 report-refuse 'report.md: file exists \(use --force' -- "$T" report $r
if [ -x "$ROOT/build/venv/bin/python" ] || [ -n "${TPUSIM_PYTHON:-}" ]; then
  before=$(cd $tmp && find . | sort)
  expect0 report-force -- "$T" report $r --force
  outside=$(cd $tmp && find . | sort | comm -13 <(echo "$before") - | grep -v '^./rep/run/')
  if [ -z "$outside" ]; then ok; else bad "report wrote outside its folder: $outside"; fi
fi
# run --out DIR: report.json inside DIR, nothing else anywhere.
before=$(cd $tmp && find . | sort)
expect0 run-out-only -- "$T" run --arch tiny-4 --program "$P" --quiet --out $tmp/only
new=$(cd $tmp && find . | sort | comm -13 <(echo "$before") - | tr '\n' ' ')
if [ "$new" = "./only ./only/report.json " ]; then ok; else bad "run --out created: $new"; fi
# Sweep: point files are named by hash ids, never by names from the spec.
printf 'name: ../../evil\nbase: tiny-8\nworkloads: [%s]\ntiming_only: true\naxes: [{key: clock_mhz, values: [700, 350]}]\nmetrics: [cycles]\n' "$WL" > $tmp/sw.yaml
mkdir -p $tmp/swbox
before=$(cd $tmp && find . | sort)
"$T" sweep $tmp/sw.yaml --out $tmp/swbox/out --quiet --no-progress >/dev/null 2>&1
outside=$(cd $tmp && find . | sort | comm -13 <(echo "$before") - | grep -v '^./swbox/out')
if [ -z "$outside" ]; then ok; else bad "sweep wrote outside --out: $outside"; fi
finish
