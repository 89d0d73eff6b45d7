#!/usr/bin/env python3
"""Runs a tpusim sweep (sim/studies/sweep/sweep.h) as Ray tasks, one point per task.

    scripts/ray_sweep.py SPEC --out DIR [--address ADDR|local] [--tpusim BIN] [--max-retries N]
                         [--num-cpus N]

Same folder layout and the same bytes as `tpusim sweep SPEC --out DIR`: every task runs
`tpusim sweep SPEC --out TMP --only-point ID` on its worker and returns the point file, which
this driver writes to DIR/points/<id>.json (or DIR/failed/) through a temporary file and a
rename; finished points are skipped, so an interrupted run resumes. At the end
`tpusim sweep --collect` writes DIR/results.jsonl and DIR/summary.csv.

--address local starts a private Ray cluster on 127.0.0.1 for this run (stopped at the end);
any other address is passed to ray.init (e.g. ray://head:10001 or auto). Workers need the tpusim
binary and the spec (and the files it names) at the same absolute paths: a shared checkout.

A task whose worker dies, or whose tpusim process crashes (a signal, an internal error), is
retried up to --max-retries times; a point that fails deterministically (bad arch, capacity) is
recorded in DIR/failed and not retried. Exit code 0 when every point succeeded, 1 when some
failed, 2 on bad input. Needs `ray` in the project's venv (scripts/venv.sh).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PointCrash(RuntimeError):
    """tpusim died on a point without recording a result: worth a retry."""


def run_point(tpusim, spec, point_id):
    """Runs one point in a private folder; returns (kind, text): kind is 'points' or 'failed'."""
    with tempfile.TemporaryDirectory(prefix="tpusim_ray_") as tmp:
        proc = subprocess.run([tpusim, "sweep", spec, "--out", tmp, "--only-point", point_id,
                               "--quiet", "--no-progress"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for kind in ("points", "failed"):
            path = os.path.join(tmp, kind, point_id + ".json")
            if proc.returncode in (0, 1) and os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    return kind, f.read()
        if proc.returncode == 2:
            raise ValueError(f"point {point_id}: {proc.stderr.strip()}")
        raise PointCrash(f"point {point_id}: tpusim exited with {proc.returncode}: "
                         f"{proc.stderr.strip()[-500:]}")


def write_atomic(path, text):
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def list_points(tpusim, spec, out):
    proc = subprocess.run([tpusim, "sweep", spec, "--out", out, "--list"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit(proc.returncode)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", help="sweep spec YAML")
    ap.add_argument("--out", required=True, help="results folder")
    ap.add_argument("--address", default="local",
                    help="Ray cluster address, or 'local' for a private cluster on 127.0.0.1")
    ap.add_argument("--tpusim", default=os.path.join(ROOT, "build", "sim", "tpusim"),
                    help="tpusim binary (or any binary with the same `sweep` subcommand)")
    ap.add_argument("--max-retries", type=int, default=3, help="retries of a crashed task")
    ap.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local cluster")
    a = ap.parse_args()

    tpusim = os.path.abspath(a.tpusim)
    spec = os.path.abspath(a.spec)
    out = os.path.abspath(a.out)
    if not os.access(tpusim, os.X_OK):
        sys.exit(f"ray_sweep: --tpusim {tpusim}: not an executable")
    try:
        import ray  # noqa: PLC0415 (optional dependency, imported only when used)
    except ImportError:
        sys.exit("ray_sweep: ray is not installed (run scripts/venv.sh and use build/venv/bin/python)")

    points = list_points(tpusim, spec, out)
    todo = [p["id"] for p in points if not p["done"]]
    for kind in ("points", "failed"):
        os.makedirs(os.path.join(out, kind), exist_ok=True)
    print(f"ray_sweep: {len(points)} points, {len(points) - len(todo)} already done",
          file=sys.stderr)

    if a.address == "local":
        ray.init(address="local", _node_ip_address="127.0.0.1", num_cpus=a.num_cpus,
                 include_dashboard=False, log_to_driver=False,
                 object_store_memory=128 * 1024 * 1024)
    else:
        ray.init(address=a.address, log_to_driver=False)
    task = ray.remote(num_cpus=1, max_retries=a.max_retries,
                      retry_exceptions=[PointCrash])(run_point)
    pending = {task.remote(tpusim, spec, pid): pid for pid in todo}
    failed = crashed = done = 0
    t0 = time.monotonic()
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            ref = ready[0]
            pid = pending.pop(ref)
            try:
                kind, text = ray.get(ref)
            except Exception as e:  # retries exhausted, or the worker's node is gone
                crashed += 1
                print(f"\nray_sweep: {pid}: {e}", file=sys.stderr)
                continue
            write_atomic(os.path.join(out, kind, pid + ".json"), text)
            if kind == "points":
                stale = os.path.join(out, "failed", pid + ".json")
                if os.path.exists(stale):
                    os.remove(stale)
            else:
                failed += 1
            done += 1
            if sys.stderr.isatty():
                el = time.monotonic() - t0
                eta = el / done * (len(todo) - done)
                print(f"\rray_sweep: {done}/{len(todo)} points ({failed} failed), ETA {eta:.0f}s  ",
                      end="", file=sys.stderr)
    finally:
        ray.shutdown()
    if sys.stderr.isatty() and todo:
        print(file=sys.stderr)

    proc = subprocess.run([tpusim, "sweep", spec, "--out", out, "--collect"], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    print(f"ray_sweep: {done} points run on Ray", file=sys.stderr)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if crashed:
        print(f"ray_sweep: {crashed} points crashed after {a.max_retries} retries "
              "(rerun to resume)", file=sys.stderr)
    return proc.returncode if proc.returncode in (0, 1, 2) else 1


if __name__ == "__main__":
    sys.exit(main())
