#!/usr/bin/env bash
# reports:tpusim_report — `tpusim report DIR` (make_html_report through the fixture driver) writes
# report.md, a self-contained report.html with embedded PNG plots and no script, and the numbers
# it shows are the report JSON's. Skips (77) without the Python environment of scripts/venv.sh.
set -euo pipefail
FIXTURE=$1
OUT=$2
PY=${TPUSIM_PYTHON:-}
if [ -z "$PY" ] || ! [ -x "$PY" ] || ! "$PY" -c "import matplotlib" 2>/dev/null; then
  echo "SKIP: no Python with matplotlib at '${PY}' (run scripts/venv.sh)"
  exit 77
fi
rm -f "$OUT/report.md" "$OUT/report.html"
rm -rf "$OUT/plots"
"$FIXTURE" report "$OUT"
for f in report.md report.html plots/roofline.png plots/cycle_breakdown.png plots/energy_breakdown.png \
         plots/carbon.png plots/timeline.png plots/power.png; do
  [ -s "$OUT/$f" ] || { echo "FAIL: $OUT/$f missing or empty"; exit 1; }
done
"$PY" - "$OUT" <<'PYEOF'
import json, os, re, sys
d = sys.argv[1]
rep = json.load(open(os.path.join(d, "report.json")))
md = open(os.path.join(d, "report.md")).read()
page = open(os.path.join(d, "report.html")).read()
fail = []
if re.search(r"<script|javascript:|\son\w+=", page, re.I):
    fail.append("report.html holds script")
if re.search(r"""(src|href)=["'](?!data:|#)""", page):
    fail.append("report.html links an external resource")
if page.count("data:image/png;base64,") < 6:
    fail.append("report.html embeds fewer than 6 PNG plots")
t = rep["totals"]
def g(v):  # report.py's number format
    return f"{v:.4g}" if isinstance(v, float) else str(v)
for label, v in [("cycles", t["cycles"]), ("energy_j", t["energy_j"]), ("tops", t["tops"]),
                 ("avg_power_w", t["avg_power_w"]), ("layer0 cycles", rep["layers"][0]["cycles"]),
                 ("deployment total_g", rep["deployment"]["total_g"]),
                 ("per_inference_g", rep["carbon_per"]["per_inference_g"])]:
    for name, text in (("report.md", md), ("report.html", page)):
        if f"| {g(v)} |" not in text and f">{g(v)}<" not in text:
            fail.append(f"{name} does not show {label} = {g(v)}")
for l in rep["layers"]:
    if l["name"] not in md:
        fail.append(f"report.md lacks layer {l['name']}")
if "trace.json" not in md:
    fail.append("report.md does not name the trace it plotted power from")
for f in fail:
    print("FAIL:", f)
sys.exit(1 if fail else 0)
PYEOF
echo "ok: report.md, report.html and 6 plots in $OUT"
