#!/usr/bin/env python3
"""Synthesizes the whole tpu_top with yosys (generic gates, memories kept as memory cells) at
one or more array sizes and reports, per module: cells, inferred memories (ports, synchronous or
asynchronous read), and the longest combinational path in gate levels (`ltp -noff`, a module's
own logic with its submodules as single nodes, except the memory primitive prim_ram_1r1w, whose
memory cell and bypass are counted in the module that instantiates it: a memory is a register
boundary, as an SRAM macro is, while an instance node would join its inputs to its outputs); for
the flattened chip: the longest register-to-register path, latches and combinational loops.
Called by scripts/yosys_area.sh.

  yosys_chip.py [--check] [--out FILE] [N ...]      (default N: 4)

--check exits 1 when the chip has a latch or a combinational loop, or when a module's or the
flattened chip's longest path is more than DEPTH_LIMIT x the PE's.
"""
import argparse
import datetime
import json
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
RTL = ROOT / "rtl"
SOURCES = ["systolic_array.v", "weight_fifo.v", "accumulators.v", "activation_unit.v",
           "act_lut.v", "unified_buffer.v", "dma.v", "controller.v", "tpu_top.v",
           "prim/prim_ram_1r1w.v"]
# The goal (issue 25): every module within 1.5x the logic depth of a PE. The PE is no
# longer a module (rtl/systolic_array.v updates the mesh in one loop), so the reference is the
# systolic_array module's longest path: a PE register through the int8 multiply and the int32
# add into the next PE's register (the shift decode and the skew are shallower).
DEPTH_LIMIT = 1.5
REFERENCE = "systolic_array"
# Test-bench-sized memories (every memory stays a memory cell, so its size does not change the
# logic). Host and weight memory are not the chip's (rtl/tb/), so they are not synthesized.
SMALL = {"UbVectors": 1024, "AccEntries": 256, "FifoTiles": 4, "ImemDepth": 256}
# latch cells, coarse ($dlatch, $adlatch, $dlatchsr, $sr) and fine-grained ($_DLATCH_*, $_SR_*)
LATCHES = ("$dlatch", "$adlatch", "$dlatchsr", "$sr", "$_DLATCH", "$_SR_")


def short(module):
    """tpu_top's parametrized copies are named $paramod$<hash>\\name."""
    return module.split("\\")[-1]


def run_yosys(n, work):
    params = dict(SMALL, Rows=n, Cols=n)
    chp = " ".join(f"-chparam {k} {v}" for k, v in params.items())
    files = " ".join(str(RTL / f) for f in SOURCES)
    script = f"""
read_verilog -sv -DSYNTHESIS {files}
hierarchy -check -top tpu_top {chp}
synth -top tpu_top -run :fine
opt -fast -full
opt -full
techmap
opt -fast
abc -fast
opt -fast
write_json {work}/chip.json
design -save chip
setattr -mod -set keep_hierarchy 1 *
setattr -mod -unset keep_hierarchy *prim_ram_1r1w*
flatten
tee -o {work}/ltp_modules.txt ltp -noff
design -load chip
flatten
opt_clean
tee -o {work}/ltp_chip.txt ltp -noff
tee -o {work}/check.txt check
"""
    (work / "chip.ys").write_text(script)
    r = subprocess.run(["yosys", "-q", "-s", str(work / "chip.ys")], capture_output=True,
                       text=True)
    if r.returncode != 0:
        sys.exit(f"yosys failed at {n}x{n}:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return params


def ltp(path):
    out = {}
    for m in re.finditer(r"Longest topological path in (\S+) \(length=(\d+)\)", path.read_text()):
        name = short(m.group(1))  # the deepest parametrization of a module
        out[name] = max(out.get(name, 0), int(m.group(2)))
    return out


def analyse(n, work):
    params = run_yosys(n, work)
    design = json.loads((work / "chip.json").read_text())
    modules = {}
    for name, mod in design["modules"].items():
        if mod.get("attributes", {}).get("blackbox"):
            continue
        cells = mod.get("cells", {})
        mems = []
        latches = 0
        for cell in cells.values():
            t = cell["type"]
            if t.startswith(LATCHES):
                latches += 1
            if t == "$mem_v2":
                p = cell["parameters"]
                rd, wr = int(p["RD_PORTS"], 2), int(p["WR_PORTS"], 2)
                # RD_CLK_ENABLE: one bit per read port, set when that port is registered
                sync = all(bit == "1" for bit in p["RD_CLK_ENABLE"][-rd:]) if rd else True
                mems.append({
                    "name": p["MEMID"].lstrip("\\"), "words": int(p["SIZE"], 2),
                    "width": int(p["WIDTH"], 2), "rd": rd, "wr": wr,
                    "sync": sync, "rom": wr == 0,
                })
        # Parametrizations of one module (prim_ram_1r1w as the instruction memory and as the
        # weight-FIFO banks) are reported together: cells summed, every memory listed.
        m = modules.setdefault(short(name), {"cells": 0, "mems": [], "latches": 0, "variants": 0})
        m["cells"] += len(cells)
        m["mems"] += mems
        m["latches"] += latches
        m["variants"] += 1
    depth = ltp(work / "ltp_modules.txt")
    if REFERENCE not in depth:
        sys.exit(f"yosys_chip.py: no longest path for module {REFERENCE} at {n}x{n} "
                 "(the reference depth)")
    chip_depth = max(ltp(work / "ltp_chip.txt").values())
    check = (work / "check.txt").read_text()
    loops = len(re.findall(r"found logic loop", check, re.I))
    problems = re.search(r"Found and reported (\d+) problems", check)
    return {"n": n, "params": params, "modules": modules, "depth": depth,
            "chip_depth": chip_depth, "loops": loops,
            "problems": int(problems.group(1)) if problems else 0}


def memory_kind(m):
    if m["rom"]:
        return "ROM"
    ports = f'{m["rd"]}R{m["wr"]}W'
    return ports + (" sync read" if m["sync"] else " async read")


def report(results):
    ver = subprocess.run(["yosys", "-V"], capture_output=True, text=True).stdout.strip()
    lines = [f"Synthesized with {ver}: `synth -run :fine`, then gate mapping (`techmap`, "
             "`abc -fast`) with memories left as memory cells; depth = `ltp -noff` (gate "
             f"levels between registers). Memory sizes: {SMALL}.", ""]
    failures = []
    for r in results:
        n, mods, depth = r["n"], r["modules"], r["depth"]
        pe = depth[REFERENCE]
        limit = DEPTH_LIMIT * pe
        lines += [f"## tpu_top at {n}x{n}", "",
                  "| module | cells | longest path (levels) | / PE (systolic_array) | memories |",
                  "|---|---|---|---|---|"]
        for name in sorted(mods, key=lambda k: (k != "tpu_top", k)):
            m = mods[name]
            d = depth.get(name, 0)
            mem = "; ".join(f'{x["name"]} {x["words"]}x{x["width"]} {memory_kind(x)}'
                            for x in m["mems"]) or "-"
            if name == "tpu_top":  # its submodules are single nodes here: the flattened chip
                lines.append(f"| {name} | {m['cells']} | (submodules) | - | {mem} |")
                continue
            label = name if m["variants"] == 1 else f"{name} ({m['variants']} parametrizations)"
            lines.append(f"| {label} | {m['cells']} | {d} | {d / pe:.2f} | {mem} |")
            if d > limit:
                failures.append(f"{n}x{n}: {name} longest path {d} > {DEPTH_LIMIT} x PE ({pe})")
        latches = sum(m["latches"] for m in mods.values())
        chip_ratio = r["chip_depth"] / pe
        lines += ["", f"Flattened chip: longest path {r['chip_depth']} levels "
                  f"({chip_ratio:.2f}x the PE's {pe}); latches: {latches}; combinational loops: "
                  f"{r['loops']}; `check` problems: {r['problems']}.", ""]
        if latches:
            failures.append(f"{n}x{n}: {latches} latches")
        if r["loops"]:
            failures.append(f"{n}x{n}: {r['loops']} combinational loops")
        if r["chip_depth"] > limit:
            failures.append(f"{n}x{n}: flattened chip longest path {r['chip_depth']} > "
                            f"{DEPTH_LIMIT} x PE ({pe})")
        bad = [f'{name}.{x["name"]} ({memory_kind(x)})' for name, m in sorted(mods.items())
               for x in m["mems"] if not x["rom"] and not (x["sync"] and x["rd"] == 1
                                                          and x["wr"] <= 1)]
        lines += ["Memories that are not a synchronous 1R1W / 1RW memory: " +
                  (", ".join(bad) if bad else "none") + ".", ""]
    return "\n".join(lines), failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[4])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args()
    results = []
    for n in a.sizes:
        if n < 2 or n & (n - 1):
            sys.exit(f"yosys_chip.py: array size {n}: expected a power of two >= 2")
        with tempfile.TemporaryDirectory() as d:
            results.append(analyse(n, pathlib.Path(d)))
    text, failures = report(results)
    if a.out:
        head = (f"# Synthesis of tpu_top\n\nGenerated by `scripts/yosys_area.sh "
                f"{' '.join(map(str, a.sizes))}` on {datetime.date.today()}.\n\n")
        out = pathlib.Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(head + text + "\n")
    print(text)
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    return 1 if (a.check and failures) else 0


if __name__ == "__main__":
    sys.exit(main())
