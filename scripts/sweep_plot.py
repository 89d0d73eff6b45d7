#!/usr/bin/env python3
"""Plots of a tpusim sweep (DIR/results.jsonl of `tpusim sweep` or scripts/ray_sweep.py).

    build/venv/bin/python scripts/sweep_plot.py DIR [--out PLOTS_DIR] [--title TEXT]

Writes into PLOTS_DIR (default DIR/plots):
  pareto_throughput_power.png   TOPS vs average power; the front maximizes TOPS at least power
  pareto_perfw_area.png         TOPS/W vs die area; the front maximizes TOPS/W at least area
  pareto_carbon_latency.png     carbon per inference vs latency (seconds per batch); both minimized
  sensitivity.png / sensitivity.csv
      elasticity of each metric to each numeric axis, d ln(metric) / d ln(axis value): the
      least-squares slope in log-log space over points that differ only in that axis, averaged
      over the groups of such points (workloads, other axes' values). 1 = proportional, -1 =
      inversely proportional, 0 = insensitive.
  sensitivity_<axis>.png        each metric against the axis value, one line per workload (and
                                per value of the other axes), normalized to its first point
Points missing a metric (it was not kept by the spec) leave that plot out. Failed points are
skipped. Needs matplotlib (scripts/venv.sh).
"""
import argparse
import csv
import json
import math
import os
import sys
from collections import defaultdict

PARETO = [
    # (file, x metric, x label, x better, y metric, y label, y better)
    ("pareto_throughput_power.png", "avg_power_w", "average power (W)", "min",
     "tops", "throughput (TOPS)", "max"),
    ("pareto_perfw_area.png", "area_mm2", "die area (mm$^2$)", "min",
     "tops_per_w", "perf/W (TOPS/W)", "max"),
    ("pareto_carbon_latency.png", "seconds", "latency per batch (s)", "min",
     "carbon_g_per_inference", "carbon per inference (g CO$_2$e)", "min"),
]


def load(results):
    pts = []
    with open(results, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                if r.get("status") == "ok":
                    pts.append(r)
    return pts


def scalar_metrics(p):
    """The numeric metrics of a point, objects flattened to name.sub."""
    out = {}

    def walk(name, v):
        if isinstance(v, dict):
            for k, sub in v.items():
                walk(f"{name}.{k}", sub)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[name] = float(v)
    for k, v in p["metrics"].items():
        walk(k, v)
    return out


def log_axes(ax):
    """Log scales with labels on the decades only (minor labels crowd at small ranges)."""
    from matplotlib.ticker import NullFormatter  # noqa: PLC0415
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())


def pareto_front(xy, xbetter, ybetter):
    """Indices of the non-dominated points of a list of (x, y)."""
    sx = 1 if xbetter == "min" else -1
    sy = 1 if ybetter == "min" else -1
    order = sorted(range(len(xy)), key=lambda i: (sx * xy[i][0], sy * xy[i][1]))
    front, best = [], math.inf
    for i in order:
        y = sy * xy[i][1]
        if y < best:
            front.append(i)
            best = y
    return front


def axis_label(p, keys):
    return ", ".join(f"{k}={p['axes'].get(k)}" for k in keys)


def plot_pareto(plt, pts, plots, title):
    workloads = sorted({p["workload"] for p in pts})
    written = []
    for fname, xm, xl, xb, ym, yl, yb in PARETO:
        if not any(xm in scalar_metrics(p) and ym in scalar_metrics(p) for p in pts):
            continue
        n = len(workloads)
        cols = min(3, n)
        rows = (n + cols - 1) // cols
        fig, axs = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
        for i, wl in enumerate(workloads):
            ax = axs[i // cols][i % cols]
            sel = [p for p in pts if p["workload"] == wl]
            xy = []
            for p in sel:
                m = scalar_metrics(p)
                if xm in m and ym in m and m[xm] > 0 and m[ym] > 0:
                    xy.append((m[xm], m[ym]))
            if not xy:
                continue
            ax.scatter([v[0] for v in xy], [v[1] for v in xy], s=12, color="0.6", label="points")
            front = sorted((xy[j] for j in pareto_front(xy, xb, yb)))
            ax.plot([v[0] for v in front], [v[1] for v in front], "-o", color="C3", ms=4,
                    label="Pareto front")
            log_axes(ax)
            ax.set_title(wl, fontsize=9)
            ax.set_xlabel(xl, fontsize=8)
            ax.set_ylabel(yl, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(True, which="both", alpha=0.2)
        for j in range(n, rows * cols):
            axs[j // cols][j % cols].axis("off")
        axs[0][0].legend(fontsize=7)
        fig.suptitle(f"{title}: {yl} vs {xl}", fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(plots, fname), dpi=110)
        plt.close(fig)
        written.append(fname)
    return written


def numeric_axes(pts):
    keys = []
    for p in pts:
        for k in p["axes"]:
            if k not in keys:
                keys.append(k)
    out = []
    for k in keys:
        vals = {p["axes"].get(k) for p in pts}
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
               for v in vals) and len(vals) > 1 and not any(tied(pts, k, o) for o in out):
            out.append(k)
    return keys, out


def tied(pts, a, b):
    """True when keys a and b move together (a tie group): each one's value fixes the other's."""
    ab, ba = {}, {}
    for p in pts:
        va, vb = json.dumps(p["axes"].get(a)), json.dumps(p["axes"].get(b))
        if ab.setdefault(va, vb) != vb or ba.setdefault(vb, va) != va:
            return False
    return True


def axis_name(pts, key, keys):
    return "+".join([key] + [k for k in keys if k != key and tied(pts, key, k)])


def groups_along(pts, key, keys):
    """Points grouped by workload and every axis but `key` (tied keys move together: a key whose
    value changes wherever `key` does is left out of the group key)."""
    others = [k for k in keys if k != key]
    tied = set()
    for k in others:
        by = defaultdict(set)
        for p in pts:
            by[p["axes"].get(key)].add(p["axes"].get(k))
        # k is a function of key with more than one value overall: tied to it
        if all(len(v) == 1 for v in by.values()) and len({next(iter(v)) for v in by.values()}) > 1:
            tied.add(k)
    g = defaultdict(list)
    for p in pts:
        g[(p["workload"],) + tuple(json.dumps(p["axes"].get(k)) for k in others if k not in tied)].append(p)
    return {k: v for k, v in g.items() if len({p["axes"].get(key) for p in v}) > 1}


def slope(xs, ys):
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    den = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / den if den > 0 else float("nan")


def sensitivity(plt, pts, plots, title):
    keys, axes = numeric_axes(pts)
    metrics = []
    for p in pts:
        for m in scalar_metrics(p):
            if m not in metrics:
                metrics.append(m)
    # constant metrics (grid intensity, PUE) say nothing
    metrics = [m for m in metrics if len({scalar_metrics(p).get(m) for p in pts}) > 1]
    table = {}
    written = []
    for key in axes:
        groups = groups_along(pts, key, keys)
        for m in metrics:
            ss = []
            for g in groups.values():
                xy = [(p["axes"][key], scalar_metrics(p).get(m)) for p in g]
                xy = [(x, y) for x, y in xy if y is not None and y > 0]
                if len({x for x, _ in xy}) > 1:
                    ss.append(slope([x for x, _ in xy], [y for _, y in xy]))
            ss = [s for s in ss if not math.isnan(s)]
            table[(m, key)] = sum(ss) / len(ss) if ss else float("nan")
        # metric vs axis, one line per group, normalized to its smallest axis value
        shown = [m for m in metrics if not math.isnan(table[(m, key)])]
        if not shown:
            continue
        cols = min(4, len(shown))
        rows = (len(shown) + cols - 1) // cols
        fig, axs = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), squeeze=False)
        for i, m in enumerate(shown):
            ax = axs[i // cols][i % cols]
            for gk, g in sorted(groups.items()):
                xy = sorted((p["axes"][key], scalar_metrics(p).get(m)) for p in g)
                xy = [(x, y) for x, y in xy if y is not None and y > 0]
                if len(xy) < 2:
                    continue
                ax.plot([x for x, _ in xy], [y / xy[0][1] for _, y in xy], "-o", ms=3, lw=1,
                        label=gk[0])
            log_axes(ax)
            ax.set_title(f"{m} (elasticity {table[(m, key)]:+.2f})", fontsize=8)
            ax.set_xlabel(axis_name(pts, key, keys), fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(True, which="both", alpha=0.2)
        for j in range(len(shown), rows * cols):
            axs[j // cols][j % cols].axis("off")
        handles, labels = axs[0][0].get_legend_handles_labels()
        uniq = dict(zip(labels, handles))
        fig.legend(uniq.values(), uniq.keys(), fontsize=7, loc="lower right")
        fig.suptitle(f"{title}: metrics vs {axis_name(pts, key, keys)} (normalized to its smallest value)", fontsize=10)
        fig.tight_layout()
        fname = f"sensitivity_{key.replace('.', '_')}.png"
        fig.savefig(os.path.join(plots, fname), dpi=100)
        plt.close(fig)
        written.append(fname)

    with open(os.path.join(plots, "sensitivity.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["metric"] + [axis_name(pts, k, keys) for k in axes])
        for m in metrics:
            w.writerow([m] + [("" if math.isnan(table[(m, k)]) else f"{table[(m, k)]:.4f}")
                              for k in axes])
    written.append("sensitivity.csv")
    if axes and metrics:
        import numpy as np  # matplotlib depends on numpy
        data = np.array([[table[(m, k)] for k in axes] for m in metrics])
        fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(axes), 0.9 + 0.32 * len(metrics)))
        lim = max(1.0, float(np.nanmax(np.abs(data))) if np.isfinite(data).any() else 1.0)
        im = ax.imshow(np.ma.masked_invalid(data), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ax.set_xticks(range(len(axes)))
        ax.set_xticklabels([axis_name(pts, k, keys) for k in axes], rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(len(metrics)))
        ax.set_yticklabels(metrics, fontsize=8)
        for i in range(len(metrics)):
            for j in range(len(axes)):
                if np.isfinite(data[i, j]):
                    ax.text(j, i, f"{data[i, j]:+.2f}", ha="center", va="center", fontsize=7)
        fig.colorbar(im, ax=ax, label="d ln(metric) / d ln(axis)")
        ax.set_title(f"{title}: sensitivity (elasticity)", fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(plots, "sensitivity.png"), dpi=110)
        plt.close(fig)
        written.append("sensitivity.png")
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", help="sweep results folder (holds results.jsonl)")
    ap.add_argument("--out", help="plots folder (default DIR/plots)")
    ap.add_argument("--title", help="title prefix (default: the sweep's name)")
    a = ap.parse_args()
    results = os.path.join(a.dir, "results.jsonl")
    if not os.path.exists(results):
        sys.exit(f"sweep_plot: {results}: no such file (run the sweep first)")
    pts = load(results)
    if not pts:
        sys.exit(f"sweep_plot: {results}: no successful points")
    try:
        import matplotlib  # noqa: PLC0415
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        sys.exit("sweep_plot: matplotlib is not installed (run scripts/venv.sh, use build/venv/bin/python)")
    plots = a.out or os.path.join(a.dir, "plots")
    os.makedirs(plots, exist_ok=True)
    title = a.title or pts[0].get("sweep", "sweep")
    written = plot_pareto(plt, pts, plots, title) + sensitivity(plt, pts, plots, title)
    for f in written:
        print(os.path.join(plots, f))


if __name__ == "__main__":
    main()
