"""What the Python package adds over the CLI on a short run (issue 26): the README's MLP0 on
tpu-v1, fast engine with values, side by side and interleaved, N times each; prints the medians
and their ratio. Three figures: the CLI process (`tpusim run --json FILE --quiet`, start to exit),
tpusim.run() in a running interpreter, and a whole `python -c "import tpusim; tpusim.run(...)"`
process.
  PYTHONPATH=build/python build/venv/bin/python scripts/bench/python_overhead.py [N]"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import tpusim

N = int(sys.argv[1]) if len(sys.argv) > 1 else 15
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(ROOT, "build", "sim", "tpusim")
out = os.path.join(tempfile.mkdtemp(), "r.json")
cli_args = [CLI, "run", "--arch", "tpu-v1", "--workload", "mlp0", "--json", out, "--force",
            "--quiet"]
py_args = [sys.executable, "-c", "import tpusim; tpusim.run('tpu-v1', 'mlp0')"]

cli, call, proc = [], [], []
tpusim.run("tpu-v1", "mlp0")  # warm the file cache
for _ in range(N):
    t = time.perf_counter()
    subprocess.run(cli_args, check=True)
    cli.append(time.perf_counter() - t)
    t = time.perf_counter()
    tpusim.run("tpu-v1", "mlp0")
    call.append(time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run(py_args, check=True)
    proc.append(time.perf_counter() - t)
c, p, q = (statistics.median(x) for x in (cli, call, proc))
print(f"runs: {N} each, interleaved; medians")
print(f"CLI process             {c * 1e3:8.1f} ms")
print(f"tpusim.run() call       {p * 1e3:8.1f} ms   x{p / c:.3f} of the CLI")
print(f"python process + import {q * 1e3:8.1f} ms   x{q / c:.3f} of the CLI")
