#!/usr/bin/env python3
"""Markdown and self-contained HTML report of tpusim runs (`tpusim report DIR` runs this script).

    report.py DIR

Reads DIR/report.json (the main run: `tpusim run ... --out DIR` or `--json DIR/report.json`), any
other run report DIR/*.json (compared in one table) and a Chrome trace (`--trace`) when present
(DIR/trace.json or trace.json.gz first, else any other *.json / *.json.gz trace), and writes
DIR/report.md, DIR/report.html (plots embedded as base64 PNG, no JavaScript) and DIR/plots/*.png:
roofline with the workload's layers, cycle breakdown per layer, energy breakdown, carbon split,
per-layer timeline, and power over time (from the trace, else per layer). $TPUSIM_REPORT_NOTE,
when set, is added as a paragraph under the title (scripts/make_results.sh names itself there).

Every number shown is read from the report JSON (or the trace's metadata); nothing is
recomputed from a model (only shares, the ratio of two reported numbers, are derived). Needs matplotlib (scripts/venv.sh). Exit 0 ok, 2 bad input.
"""
import base64
import gzip
import html
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BREAKDOWN = ["array_active", "weight_stall", "weight_shift", "non_matrix"]
BREAKDOWN_COLORS = {"array_active": "#2e7d32", "weight_stall": "#c62828",
                    "weight_shift": "#f9a825", "non_matrix": "#607d8b"}
DPI = 100


class InputError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Reading


def load_json(path):
    try:
        with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: {e}")


def is_run_report(j):
    return isinstance(j, dict) and "tool" in j and "totals" in j and "arch" in j


def is_trace(j):
    return isinstance(j, dict) and "traceEvents" in j and "power" in j.get("metadata", {})


def find_inputs(d):
    main_path = os.path.join(d, "report.json")
    if not os.path.isfile(main_path):
        raise InputError(f"{d}: no report.json")
    main = load_json(main_path)
    if not is_run_report(main):
        raise InputError(f"{main_path}: not a tpusim run report (needs tool, arch, totals)")
    others, traces = [], []
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if not name.endswith((".json", ".json.gz")) or name == "report.json" or not os.path.isfile(p):
            continue
        j = load_json(p)
        if is_run_report(j):
            others.append((name, j))
        elif is_trace(j):
            traces.append((name, j))
    trace = None
    for name, j in traces:  # trace.json(.gz) first, else the first other trace
        if name in ("trace.json", "trace.json.gz") and trace is None:
            trace = (name, j)
    if trace is None and traces:
        trace = traces[0]
    return main, others, trace


# ---------------------------------------------------------------------------------------------
# Formatting


def num(v, digits=4):
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v == 0:
            return "0"
        return f"{v:.{digits}g}"
    return str(v)


def pct(v):
    return "n/a" if v is None else f"{100.0 * v:.1f} %"


def run_name(rep):
    if "workload" in rep:
        return rep["workload"]["name"]
    return rep.get("program", {}).get("name", "?")


def timed(rep):
    return "cycles" in rep["totals"]


# ---------------------------------------------------------------------------------------------
# Document model: a list of blocks rendered to Markdown and to HTML.


class Doc:
    def __init__(self):
        self.blocks = []

    def h(self, level, text):
        self.blocks.append(("h", level, text))

    def p(self, text):
        self.blocks.append(("p", text))

    def table(self, header, rows):
        self.blocks.append(("table", header, rows))

    def image(self, path, alt):
        self.blocks.append(("img", path, alt))

    def markdown(self):
        out = []
        for b in self.blocks:
            if b[0] == "h":
                out.append("#" * b[1] + " " + b[2])
            elif b[0] == "p":
                out.append(b[1])
            elif b[0] == "table":
                header, rows = b[1], b[2]
                out.append("| " + " | ".join(header) + " |")
                out.append("|" + "|".join("---" for _ in header) + "|")
                for r in rows:
                    out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
            elif b[0] == "img":
                out.append(f"![{b[2]}]({b[1]})")
            out.append("")
        return "\n".join(out)

    def html(self, title, base_dir):
        css = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
               "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
               "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}"
               "th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}"
               "img{max-width:100%;border:1px solid #eee;margin:0.5em 0}"
               "h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:3px}")
        out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
               f"<title>{html.escape(title)}</title>", f"<style>{css}</style></head><body>"]
        for b in self.blocks:
            if b[0] == "h":
                out.append(f"<h{b[1]}>{html.escape(b[2])}</h{b[1]}>")
            elif b[0] == "p":
                out.append(f"<p>{inline_html(b[1])}</p>")
            elif b[0] == "table":
                out.append("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in b[1])
                           + "</tr></thead><tbody>")
                for r in b[2]:
                    cells = []
                    for c in r:
                        s = str(c)
                        cls = ' class="n"' if is_numeric_cell(s) else ""
                        cells.append(f"<td{cls}>{inline_html(s)}</td>")
                    out.append("<tr>" + "".join(cells) + "</tr>")
                out.append("</tbody></table>")
            elif b[0] == "img":
                with open(os.path.join(base_dir, b[1]), "rb") as f:
                    data = base64.b64encode(f.read()).decode("ascii")
                out.append(f'<figure><img alt="{html.escape(b[2])}" src="data:image/png;base64,{data}">'
                           f"<figcaption>{html.escape(b[2])}</figcaption></figure>")
        out.append("</body></html>")
        return "\n".join(out) + "\n"


def is_numeric_cell(s):
    t = s.replace(" %", "").replace("e", "").replace("-", "").replace("+", "").replace(".", "")
    return t.isdigit()


def inline_html(text):
    # `code` spans of the Markdown; everything else escaped.
    parts = text.split("`")
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p) for i, p in enumerate(parts))


# ---------------------------------------------------------------------------------------------
# Plots (each returns the PNG path relative to DIR, or None)


def save(fig, d, name):
    os.makedirs(os.path.join(d, "plots"), exist_ok=True)
    rel = os.path.join("plots", name)
    fig.savefig(os.path.join(d, rel), dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return rel


def layer_labels(layers, limit=40):
    names = [l["name"] for l in layers]
    if len(names) <= limit:
        return names, list(range(len(names)))
    step = (len(names) + limit - 1) // limit
    idx = list(range(0, len(names), step))
    return [names[i] for i in idx], idx


def plot_roofline(rep, d):
    arch, t = rep["arch"], rep["totals"]
    peak = arch["derived"]["peak_tops"]
    ridge = arch["derived"]["ridge_macs_per_weight_byte"]
    pts = []
    for l in rep.get("layers", []):
        if "roofline" in l and l["macs"] > 0:
            pts.append((l["name"], l["roofline"]["intensity_macs_per_weight_byte"], l["roofline"]["achieved_tops"]))
    total_i = t["roofline"]["intensity_macs_per_weight_byte"]
    finite = [p[1] for p in pts if p[1] is not None] + ([total_i] if total_i is not None else [])
    lo = min(finite + [ridge]) / 10 if finite else ridge / 100
    hi = max(finite + [ridge]) * 10 if finite else ridge * 100
    inf_x = hi / 2  # layers that read no weights (infinite intensity) are drawn at the right edge
    fig, ax = plt.subplots(figsize=(8, 5))
    xs = [lo, ridge, hi]
    ax.plot(xs, [peak * x / ridge if x < ridge else peak for x in xs], color="black", lw=2,
            label=f"roof: peak {num(peak)} TOPS, ridge {num(ridge)} MACs/weight byte")
    ax.axvline(ridge, color="gray", ls=":", lw=1)
    if pts:
        ax.scatter([p[1] if p[1] is not None else inf_x for p in pts], [max(p[2], 1e-6) for p in pts],
                   s=18, alpha=0.7, label="layers (achieved)")
    if total_i is not None or t["roofline"]["achieved_tops"] > 0:
        ax.scatter([total_i if total_i is not None else inf_x], [max(t["roofline"]["achieved_tops"], 1e-6)],
                   marker="*", s=200, color="#c62828", zorder=5, label=f"{run_name(rep)} total")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("operational intensity (MACs per weight byte, TPU paper convention)")
    ax.set_ylabel("TOPS (2 ops per MAC)")
    ax.set_title(f"Roofline: {run_name(rep)} on {arch['name']}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return save(fig, d, "roofline.png")


def plot_breakdown(rep, d):
    layers = [l for l in rep.get("layers", []) if "cycle_counts" in l]
    rows = layers + [dict(rep["totals"], name="TOTAL")] if layers else [dict(rep["totals"], name="TOTAL")]
    fig, ax = plt.subplots(figsize=(max(8, min(0.18 * len(rows) + 3, 24)), 5))
    bottom = [0.0] * len(rows)
    x = list(range(len(rows)))
    for k in BREAKDOWN:
        # The total bar is on its own scale: fractions; layers are shown as fractions too so that
        # bars of different lengths compare.
        vals = [r["breakdown"][k] for r in rows]
        ax.bar(x, vals, bottom=bottom, color=BREAKDOWN_COLORS[k], label=k.replace("_", " "), width=0.8)
        bottom = [b + v for b, v in zip(bottom, vals)]
    labels, idx = layer_labels(rows)
    ax.set_xticks(idx)
    ax.set_xticklabels(labels, rotation=90, fontsize=7)
    ax.set_ylabel("fraction of the layer's cycles")
    ax.set_ylim(0, 1)
    ax.set_title("Cycle breakdown per layer (TPU paper counters)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save(fig, d, "cycle_breakdown.png")


def plot_energy(rep, d):
    eb = rep["totals"]["energy_breakdown_j"]
    items = sorted(((k, v) for k, v in eb.items() if v > 0), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(8, max(3, 0.3 * len(items) + 1)))
    colors = ["#90a4ae" if k.startswith("static_") else "#1565c0" for k, _ in items]
    ax.barh([k for k, _ in items], [v for _, v in items], color=colors)
    ax.set_xlabel("energy (J)")
    ax.set_title(f"Energy breakdown: {num(rep['totals']['energy_j'])} J "
                 "(blue dynamic, grey static)")
    ax.grid(True, axis="x", alpha=0.3)
    return save(fig, d, "energy_breakdown.png")


def plot_carbon(rep, d):
    c = rep["totals"]["carbon_g"]
    panels = [("this run", c["operational"], c["embodied"])]
    if "deployment" in rep:
        dep = rep["deployment"]
        panels.append((f"deployment: {num(dep['qps'])} qps x {num(dep['years'])} years",
                       dep["operational_g"], dep["embodied_g"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (title, op, emb) in zip(axes[0], panels):
        ax.bar(["operational", "embodied"], [op, emb], color=["#ef6c00", "#6d4c41"])
        for i, v in enumerate([op, emb]):
            ax.text(i, v, num(v), ha="center", va="bottom", fontsize=9)
        ax.set_ylabel("g CO2e")
        ax.set_title(title, fontsize=10)
    fig.suptitle(f"Carbon: grid {num(c['grid_g_per_kwh'])} g/kWh, PUE {num(c['pue'])}")
    fig.tight_layout()
    return save(fig, d, "carbon.png")


def plot_timeline(rep, d):
    layers = [l for l in rep.get("layers", []) if "seconds" in l]
    if not layers:
        return None
    kinds = sorted({l["kind"] for l in layers})
    cmap = plt.get_cmap("tab10")
    color = {k: cmap(i % 10) for i, k in enumerate(kinds)}
    fig, ax = plt.subplots(figsize=(10, max(3, min(0.16 * len(layers) + 1.5, 16))))
    start = 0.0
    for i, l in enumerate(layers):
        s = l["seconds"] * 1e3
        ax.barh(i, s, left=start, color=color[l["kind"]], height=0.8)
        start += s
    labels, idx = layer_labels(layers, 60)
    ax.set_yticks(idx)
    ax.set_yticklabels(labels, fontsize=6 if len(layers) > 30 else 8)
    ax.invert_yaxis()
    ax.set_xlabel("time (ms)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=color[k]) for k in kinds]
    ax.legend(handles, kinds, fontsize=8, loc="lower right")
    ax.set_title("Per-layer timeline (layers in program order, each for its cycles with repeats)")
    ax.grid(True, axis="x", alpha=0.3)
    return save(fig, d, "timeline.png")


def plot_power(rep, d, trace):
    if trace is not None:
        m = trace[1]["metadata"]
        mhz = m["clock_mhz"]
        iv = m["power"]["intervals"]
        x, dyn, stat = [], [], []
        for i in iv:
            x.append(i["start_cycle"] / mhz / 1e3)
            dyn.append(i["dynamic_j"] / i["seconds"] if i["seconds"] > 0 else 0.0)
            stat.append(i["static_j"] / i["seconds"] if i["seconds"] > 0 else 0.0)
        end = m["cycles"] / mhz / 1e3
        fig, ax = plt.subplots(figsize=(10, 4))
        xs = x + [end]
        ax.stairs(stat, xs, fill=True, color="#90a4ae", label="static")
        ax.stairs([s + y for s, y in zip(stat, dyn)], xs, baseline=stat, fill=True, color="#1565c0",
                  label="dynamic")
        for p in m.get("parts", [])[1:]:
            ax.axvline(p["start_cycle"] / mhz / 1e3, color="black", lw=0.6, ls=":")
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("power (W)")
        note = "one instance of each segment" if any(p.get("repeat", 1) > 1 for p in m.get("parts", [])) else "whole run"
        ax.set_title(f"Power over time ({len(iv)} intervals, {note}; trace {trace[0]})")
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
        return save(fig, d, "power.png")
    layers = [l for l in rep.get("layers", []) if "avg_power_w" in l and l.get("seconds", 0) > 0]
    if not layers:
        return None
    edges, vals, t = [0.0], [], 0.0
    for l in layers:
        t += l["seconds"] * 1e3
        edges.append(t)
        vals.append(l["avg_power_w"])
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.stairs(vals, edges, fill=True, color="#1565c0")
    ax.axhline(rep["totals"]["avg_power_w"], color="#c62828", ls="--", lw=1,
               label=f"run average {num(rep['totals']['avg_power_w'])} W")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("average power (W)")
    ax.set_title("Power over time, per layer (no trace in the folder)")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return save(fig, d, "power.png")


# ---------------------------------------------------------------------------------------------
# The report


def build(d):
    rep, others, trace = find_inputs(d)
    t = rep["totals"]
    doc = Doc()
    name = run_name(rep)
    title = f"tpusim report: {name} on {rep['arch']['name']}"
    doc.h(1, title)
    doc.p(f"Made by `scripts/report.py` from `report.json` (tpusim {rep['tool']['version']}, mode "
          f"`{rep['mode']}`{', timing only' if rep.get('timing_only') else ''}). Every number below is "
          "read from the run's report JSON" + (f" or its trace `{trace[0]}`." if trace else "."))
    if os.environ.get("TPUSIM_REPORT_NOTE"):
        doc.p(os.environ["TPUSIM_REPORT_NOTE"])

    about = [("arch", rep["arch"]["name"]), ("array", f"{rep['arch']['array']['rows']} x {rep['arch']['array']['cols']}"),
             ("clock (MHz)", num(rep["arch"]["clock_mhz"])),
             ("node (nm) / voltage (V)", f"{num(rep['arch']['technology']['node_nm'])} / {num(rep['arch']['technology']['voltage_v'])}"),
             ("peak TOPS", num(rep["arch"]["derived"]["peak_tops"])),
             ("ridge (MACs per weight byte)", num(rep["arch"]["derived"]["ridge_macs_per_weight_byte"]))]
    if "dvfs_point" in rep:
        about.append(("DVFS point", rep["dvfs_point"]))
    if "workload" in rep:
        w = rep["workload"]
        about = [("workload", w["name"]), ("batch", num(w["batch"]))] + \
                ([("phase", f"{w['phase']} (prompt {w.get('prompt_len')}, context {w.get('context_len')})")] if w.get("phase") else []) + \
                [("model weight bytes", num(w["weight_bytes"])), ("source", w.get("paper", ""))] + about
    else:
        about = [("program", rep["program"]["name"]), ("instructions", num(rep["program"]["instructions"]))] + about
    doc.h(2, "Run")
    doc.table(["", "value"], about)
    if "workload" in rep and rep["workload"].get("assumptions"):
        doc.p("Workload assumptions: " + "; ".join(rep["workload"]["assumptions"]))
    if "capacity" in rep:
        c = rep["capacity"]
        doc.p(f"Capacity: {c['weight_bytes']} weight bytes in {c['weight_memory_bytes']} bytes of weight memory: "
              + ("fits." if c["fits"] else f"does NOT fit, {c['chips_needed']} chips needed (simulated as a one-chip what-if)."))

    doc.h(2, "Totals")
    rows = []
    if timed(rep):
        rows += [("cycles", num(t["cycles"])), ("seconds", num(t["seconds"]))]
        if "useful_tops" in t:
            rows += [("useful TOPS (2 ops per MAC)", num(t["useful_tops"])),
                     ("useful MACs of peak", pct(t["useful_utilization"]))]
        rows += [("array-slot TOPS (padding, identity passes included)", num(t["tops"])),
                 ("array-slot utilization", pct(t["utilization"]))]
    rows += [("instructions", num(t["instructions"])), ("MACs (array slots)", num(t["macs"])),
             ("useful MACs", num(t.get("useful_macs"))), ("weight tiles", num(t["weight_tiles"])),
             ("weight-memory (DRAM) bytes", num(t["bytes"]["weight_memory_read"])),
             ("host bytes in / out", f"{t['bytes']['host_read']} / {t['bytes']['host_write']}")]
    if timed(rep):
        opw = t["ops_per_weight_byte"]
        rows += [("MACs per weight byte (TPU paper)", num(opw["macs_per_weight_byte (TPU paper)"])),
                 ("ops per weight byte (2 ops per MAC)", num(opw["ops_per_weight_byte (2 ops per MAC)"])),
                 ("roofline", f"{t['roofline']['bound']}-bound, {num(t['roofline']['achieved_tops'])} of "
                              f"{num(t['roofline']['attainable_tops'])} attainable TOPS "
                              f"({pct(t['roofline']['fraction_of_attainable'])})"),
                 ("energy (J)", num(t["energy_j"])), ("average power (W)", num(t["avg_power_w"])),
                 ("chip power, DRAM excluded (W)", num(t["chip_power_w"])), ("TOPS/W", num(t["tops_per_w"])),
                 ("carbon operational (g CO2e)", num(t["carbon_g"]["operational"])),
                 ("carbon embodied, run's share (g CO2e)", num(t["carbon_g"]["embodied"]))]
    doc.table(["metric", "value"], rows)

    if timed(rep) and "steady_state" in rep:
        s = rep["steady_state"]
        doc.h(2, "Steady state (a stream of batches)")
        if s["measured"]:
            doc.p("One more batch of a two-batch stream, T(2) - T(1): the next batch's input is read "
                  "and the previous batch's output written while a batch computes"
                  + (" (two UB buffers each)." if s["double_buffered"]
                     else "; the UB has no room for two buffers of each, so they overlap less."))
            doc.table(["metric", "cold (one batch)", "steady state (per batch)"],
                      [("cycles", num(t["cycles"]), num(s["cycles"])),
                       ("useful TOPS", num(t.get("useful_tops")), num(s.get("useful_tops"))),
                       ("array-slot TOPS", num(t["tops"]), num(s["tops"]))]
                      + [(k.replace("_", " "), pct(t["breakdown"][k]), pct(s["breakdown"][k]))
                         for k in BREAKDOWN]
                      + [(k.replace("_", " "), num(t["cycle_counts"][k]), num(s["cycle_counts"][k]))
                         for k in ["raw_stall", "input_stall"]])
        else:
            doc.p(f"Not measured: {s['why']}")

    if timed(rep):
        doc.h(2, "Cycle breakdown")
        doc.table(["counter", "cycles", "fraction"],
                  [(k.replace("_", " "), num(t["cycle_counts"][k]), pct(t["breakdown"][k]))
                   for k in BREAKDOWN + ["raw_stall", "input_stall"]])
        doc.p("The first four partition the cycles; RAW and input stalls are parts of non-matrix.")
        doc.h(2, "Energy")
        eb = sorted(t["energy_breakdown_j"].items(), key=lambda kv: -kv[1])
        doc.table(["component", "J", "share"],
                  [(k, num(v), pct(v / t["energy_j"]) if t["energy_j"] else "n/a") for k, v in eb])
        doc.h(2, "Carbon")
        crow = [("grid (g CO2e/kWh)", num(t["carbon_g"]["grid_g_per_kwh"])), ("PUE", num(t["carbon_g"]["pue"])),
                ("operational (g)", num(t["carbon_g"]["operational"])),
                ("embodied, run's share (g)", num(t["carbon_g"]["embodied"]))]
        if "carbon_per" in rep:
            cp = rep["carbon_per"]
            crow += [("per run (g)", num(cp["per_run_g"])), ("per inference (g)", num(cp["per_inference_g"])),
                     ("per 1,000 queries (g)", num(cp["per_1000_queries_g"])),
                     ("energy per inference (J)", num(cp["energy_per_inference_j"]))]
            if cp.get("per_token_g") is not None:
                crow += [("tokens per run", num(cp["tokens_per_run"])), ("per token (g)", num(cp["per_token_g"]))]
        doc.table(["", "value"], crow)
        if "deployment" in rep:
            dep = rep["deployment"]
            doc.h(3, "Deployment")
            doc.table(["", "value"], [
                ("queries per second", num(dep["qps"])), ("years", num(dep["years"])),
                ("grid", f"{dep['grid']} ({num(dep['grid_g_per_kwh'])} g/kWh)"), ("chips", num(dep["chips"])),
                ("queries", num(dep["queries"])), ("energy (J)", num(dep["energy_j"])),
                ("operational (g)", num(dep["operational_g"])), ("embodied (g)", num(dep["embodied_g"])),
                ("total (g)", num(dep["total_g"])), ("per query (g)", num(dep["per_query_g"])),
                ("per 1,000 queries (g)", num(dep["per_1000_queries_g"]))])

        doc.h(2, "Plots")
        for caption, fn in [("Roofline", lambda: plot_roofline(rep, d)),
                            ("Cycle breakdown per layer", lambda: plot_breakdown(rep, d)),
                            ("Energy breakdown", lambda: plot_energy(rep, d)),
                            ("Carbon: operational vs embodied", lambda: plot_carbon(rep, d)),
                            ("Per-layer timeline", lambda: plot_timeline(rep, d)),
                            ("Power over time", lambda: plot_power(rep, d, trace))]:
            path = fn()
            if path:
                doc.h(3, caption)
                doc.image(path, caption)
        if trace is not None:
            m = trace[1]["metadata"]
            note = m.get("segments_note", "")
            doc.p(f"Trace `{trace[0]}`: {m['cycles']} cycles, {len(m['power']['intervals'])} power intervals, "
                  f"interval energy {num(m['power']['interval_energy_j'])} J. {note}")
    else:
        doc.p("A functional run has no time: no energy, power, carbon or timing plots.")

    layers = rep.get("layers", [])
    if layers:
        doc.h(2, "Layers")
        if timed(rep):
            header = ["layer", "kind", "repeat", "cycles", "share", "useful TOPS", "array-slot TOPS",
                      "weight reads", "MACs/weight B", "bound", "active", "w. stall", "energy (J)",
                      "power (W)"]
            lrows = [(l["name"], l["kind"], l["repeat"], num(l["cycles"]),
                      pct(l["cycles"] / t["cycles"]) if t["cycles"] else "n/a", num(l.get("useful_tops")),
                      num(l["tops"]), num(l.get("weight_reads")),
                      num(l["ops_per_weight_byte"]["macs_per_weight_byte (TPU paper)"]), l["roofline"]["bound"],
                      pct(l["breakdown"]["array_active"]), pct(l["breakdown"]["weight_stall"]),
                      num(l["energy_j"]), num(l["avg_power_w"])) for l in layers]
        else:
            header = ["layer", "kind", "repeat", "instructions", "MACs", "useful MACs", "weight tiles"]
            lrows = [(l["name"], l["kind"], l["repeat"], num(l["instructions"]), num(l["macs"]),
                      num(l["useful_macs"]), num(l["weight_tiles"])) for l in layers]
        doc.table(header, lrows)

    if others:
        doc.h(2, "Other reports in this folder")
        orows = []
        for fname, o in others:
            ot = o["totals"]
            orows.append((fname, run_name(o), o["arch"]["name"], o["mode"],
                          num(ot.get("cycles")), num(ot.get("seconds")), num(ot.get("useful_tops", ot.get("tops"))),
                          num(ot.get("energy_j")), num(ot.get("avg_power_w")),
                          num(ot["carbon_g"]["operational"] + ot["carbon_g"]["embodied"]) if "carbon_g" in ot else "n/a"))
        doc.table(["file", "run", "arch", "mode", "cycles", "seconds", "useful TOPS", "energy (J)", "power (W)",
                   "carbon (g)"], orows)

    doc.h(2, "Conventions")
    doc.p("TOPS count 2 ops per MAC (the TPU paper's 92 TOPS peak). Useful TOPS count the workload's own MACs "
          "(the paper's TOPS); array-slot TOPS count every MAC slot the array spent, padding, skipped strided "
          "positions and identity passes included. Weight reads: weight bytes read / weight bytes. "
          "\"MACs per weight byte\" is the TPU "
          "paper's operational intensity; the 2-ops convention doubles it. Breakdown fractions are of the "
          "cycles. Carbon is g CO2e; the run's embodied share is its time over the hardware lifetime. "
          "Equations: models/README.md.")
    with open(os.path.join(d, "report.md"), "w") as f:
        f.write(doc.markdown())
    with open(os.path.join(d, "report.html"), "w") as f:
        f.write(doc.html(title, d))
    return [os.path.join(d, "report.md"), os.path.join(d, "report.html")]


def main(argv):
    if len(argv) != 2:
        print("usage: report.py DIR", file=sys.stderr)
        return 2
    try:
        written = build(argv[1])
    except InputError as e:
        print(f"report.py: error: {e}", file=sys.stderr)
        return 2
    except (KeyError, TypeError) as e:
        print(f"report.py: error: {argv[1]}: report.json lacks a field the report needs: {e!r}", file=sys.stderr)
        return 2
    for w in written:
        print(f"wrote {w}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
