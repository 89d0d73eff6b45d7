"""Design-space question: how does the array size of a TPU v1 trade TOPS/W on the paper's six apps
against an LLM decode step? Same chip (tpu-v1 preset: memories, clock, 28 nm), arrays of 64x64 to
512x512, fast engine, timing only. Run: python examples/array_size_study.py [--out FILE.png]
(needs the tpusim package: `pip install .`, or PYTHONPATH=build/python; and matplotlib).
The committed examples/array_size_study.png is this script's output."""
import argparse
from concurrent.futures import ThreadPoolExecutor

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

import tpusim

SIZES = [64, 128, 256, 512]
APPS = ["mlp0", "mlp1", "lstm0", "lstm1", "cnn0", "cnn1"]
LLM = tpusim.Workload("opt-13b", phase="decode", batch=8, context_len=1024)

parser = argparse.ArgumentParser()
parser.add_argument("--out", default="examples/array_size_study.png")
out = parser.parse_args().out

archs = {n: tpusim.Arch("tpu-v1").set("array.rows", n).set("array.cols", n) for n in SIZES}
jobs = [(n, w) for n in SIZES for w in APPS + [LLM]]
with ThreadPoolExecutor(max_workers=2) as ex:  # runs release the GIL
    reports = list(ex.map(lambda j: tpusim.run(archs[j[0]], j[1], timing_only=True), jobs))

fig, ax = plt.subplots(figsize=(7, 4.5))
for w in APPS + [LLM]:
    name = w if isinstance(w, str) else "opt-13b decode"
    tops_w = [r.totals.useful_tops / r.totals.avg_power_w
              for (n, wj), r in zip(jobs, reports) if wj is w]
    ax.plot(SIZES, tops_w, marker="o", lw=2.5 if name.startswith("opt") else 1.2, label=name)
    print(f"{name:16s}" + "".join(f"{n:>5}: {v:7.3f}" for n, v in zip(SIZES, tops_w)))
ax.set(xscale="log", xticks=SIZES, xticklabels=[f"{n}x{n}" for n in SIZES], yscale="log",
       xlabel="array size (tpu-v1 otherwise)", ylabel="useful TOPS / W (cold batch)",
       title="TPU v1 array size vs energy efficiency")
ax.minorticks_off()
ax.legend(fontsize=8, ncol=2)
fig.tight_layout()
fig.savefig(out, dpi=110)
print(f"plot: {out}")
