#!/usr/bin/env python3
"""Runs SCALE-Sim (PyPI `scalesim`, weight-stationary) on one topology and prints one JSON line:
per-layer "Total Cycles" and "Stall Cycles" from its COMPUTE_REPORT.csv, wall time of the run and
peak memory (ru_maxrss of this process).

    scalesim_run.py --rows R --cols C --topology FILE.csv [--gemm] [--out DIR]

Config: a R x C weight-stationary array, SRAMs of 6 MiB / 6 MiB / 2 MiB (ifmap / filter / ofmap,
large enough that no layer of the suite refills), InterfaceBandwidth = CALC (SCALE-Sim sizes the
DRAM bandwidth itself, so "Stall Cycles" are 0 and "Total Cycles" is its compute model), traces
not written (save_disk_space).

Compatibility shim: scalesim 3.0.0 calls int() on a one-element array in
memory/double_buffered_scratchpad_mem.py (`int(max(ofmap_serviced_cycles))`), which NumPy >= 2.4
rejects ("only 0-dimensional arrays can be converted"). This script rebinds `max` in that module
to the same maximum over the element values; nothing else in SCALE-Sim changes.
"""
import argparse
import csv
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np

CONFIG = """[general]
run_name = bench

[run_presets]
InterfaceBandwidth = CALC
UseRamulatorTrace = False

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
IfmapSramSzkB = 6144
FilterSramSzkB = 6144
OfmapSramSzkB = 2048
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = 10
Dataflow = ws
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
FilterCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40
"""


def _max_of_elements(*args):
    if len(args) == 1:
        args = tuple(args[0])
    return np.max(np.array([np.asarray(x).max() for x in args]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--cols", type=int, required=True)
    ap.add_argument("--topology", required=True)
    ap.add_argument("--gemm", action="store_true", help="topology in M, N, K form")
    ap.add_argument("--out", help="folder for SCALE-Sim's reports (default: a temporary folder)")
    args = ap.parse_args()

    import scalesim
    import scalesim.memory.double_buffered_scratchpad_mem as dbsp
    from scalesim.scale_sim import scalesim as ScaleSim

    dbsp.max = _max_of_elements
    out = args.out or tempfile.mkdtemp(prefix="scalesim-")
    os.makedirs(out, exist_ok=True)
    cfg = os.path.join(out, f"ws_{args.rows}x{args.cols}.cfg")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(rows=args.rows, cols=args.cols))
    layout = os.path.join(out, "layout.csv")  # SCALE-Sim requires one; header only = default layout
    with open(layout, "w") as f:
        f.write("Layer name, unused,\n")

    t0 = time.perf_counter()
    sim = ScaleSim(save_disk_space=True, verbose=False, config=cfg, topology=args.topology,
                   layout=layout, input_type_gemm=args.gemm)
    devnull = open(os.devnull, "w")
    saved = sys.stdout
    sys.stdout = devnull  # SCALE-Sim prints progress even when not verbose
    try:
        sim.run_scale(top_path=out)
    finally:
        sys.stdout = saved
    wall = time.perf_counter() - t0

    report = os.path.join(out, "bench", "COMPUTE_REPORT.csv")
    layers = []
    with open(report) as f:
        rows = list(csv.reader(f))
    for r in rows[1:]:
        r = [x.strip() for x in r]
        if not r or not r[0]:
            continue
        layers.append({"id": int(r[0]), "total_cycles": int(r[2]), "stall_cycles": int(r[3]),
                       "total_cycles_incl_prefetch": int(r[1])})
    print(json.dumps({
        "tool": "scalesim", "version": getattr(scalesim, "__version__", "3.0.0"),
        "rows": args.rows, "cols": args.cols, "topology": args.topology,
        "layers": layers, "total_cycles": sum(l["total_cycles"] for l in layers),
        "stall_cycles": sum(l["stall_cycles"] for l in layers),
        "wall_s": wall, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "report": report,
    }))


if __name__ == "__main__":
    main()
