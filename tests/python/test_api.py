"""The Python package against the library and the CLI (tests/python/run_pytest.sh; CTest
`python: pytest`). The CLI binary is $TPUSIM; the module comes from PYTHONPATH (build/python)."""

import json
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import tpusim

TPUSIM = os.environ.get("TPUSIM", "")

# A small workload of two FC layers (rows not a multiple of the array size), built in Python.
TINY = tpusim.Workload.from_layers(
    "tiny-mlp", [{"type": "fc", "name": "fc1", "out": 24, "act": "relu"},
                 {"type": "fc", "name": "fc2", "out": 8}],
    input={"features": 20}, batch=6)


def cli(*args):
    if not TPUSIM:
        pytest.skip("TPUSIM (the CLI binary) not set")
    return subprocess.run([TPUSIM, *args], capture_output=True, text=True)


def test_run_equals_cli_report(tmp_path):
    r = tpusim.run("tpu-v1", "mlp0")
    out = tmp_path / "r.json"
    p = cli("run", "--arch", "tpu-v1", "--workload", "mlp0", "--json", str(out), "--quiet")
    assert p.returncode == 0, p.stderr
    c = json.loads(out.read_text())
    assert r.totals.useful_tops == c["totals"]["useful_tops"]
    assert r.totals.cycles == c["totals"]["cycles"]
    # The whole report, key for key (the Python one is the same JSON, as objects).
    assert json.loads(r.to_json()) == c


def test_layers_table():
    r = tpusim.run("tpu-v1", "mlp0", timing_only=True)
    pd = pytest.importorskip("pandas")
    df = r.layers
    assert isinstance(df, pd.DataFrame)
    assert [n.split("/")[-1] for n in df.index] == ["fc1", "fc2", "fc3", "fc4", "fc5"]
    # The layers partition the cycles (sim/engines/engine.h, EngineOptions::layer_of).
    assert df["cycles"].sum() == r.totals.cycles
    assert "breakdown.weight_stall" in df.columns


def test_arch_changes_and_errors():
    a = tpusim.Arch("tiny-8")
    b = a.set("array.rows", 16).set("array.cols", 16)
    assert a["array.rows"] == 8 and b["array.rows"] == 16
    ra, rb = (tpusim.run(x, TINY, timing_only=True) for x in (a, b))
    assert rb.arch.array.rows == 16 and ra.totals.cycles != rb.totals.cycles
    with pytest.raises(tpusim.InputError, match="nosuch_key"):
        a.set("array.nosuch_key", 1)
    with pytest.raises(tpusim.InputError, match="array.rows|rows"):
        a.set("array.rows", 0)


def test_errors_carry_the_cli_message():
    with pytest.raises(tpusim.InputError) as e:
        tpusim.run("tpu-v1", "nosuch-workload")
    p = cli("run", "--arch", "tpu-v1", "--workload", "nosuch-workload")
    assert p.returncode == 2
    assert str(e.value) in p.stderr
    with pytest.raises(tpusim.InputError, match="nosuch-arch"):
        tpusim.Arch("nosuch-arch")
    with pytest.raises(ValueError):  # InputError is a ValueError
        tpusim.run("tpu-v1", "mlp0", engine="nosuch-engine")


def test_engines_agree_and_progress():
    if "cycle" not in tpusim.engines():
        pytest.skip("built without the cycle engine")
    seen = []
    fast = tpusim.run("tiny-4", TINY, steady=False)
    cyc = tpusim.run("tiny-4", TINY, engine="cycle", steady=False,
                     progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert cyc.totals.cycles == fast.totals.cycles
    assert cyc.outputs.fnv1a64 == fast.outputs.fnv1a64
    assert seen and seen[-1] == ("run", fast.totals.cycles, fast.totals.cycles)

    def boom(stage, done, total):
        raise RuntimeError("stop here")
    # Raised after the run, never through the SystemC kernel.
    with pytest.raises(RuntimeError, match="stop here"):
        tpusim.run("tiny-4", TINY, engine="cycle", steady=False, progress=boom)


def test_lower_matches_cli():
    prog = tpusim.lower("tpu-v1", "mlp0")
    assert prog.segments and len(prog) > 0
    assert prog.segments[0].instructions[0].mnemonic
    assert [l.name for l in prog.layers][0].endswith("fc1")
    p = cli("lower", "--arch", "tpu-v1", "--workload", "mlp0", "--timing-only")
    assert p.returncode == 0, p.stderr

    def code(text):
        return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(";")]
    assert code(prog.disassemble()) == code(p.stdout)


def test_gil_released_during_simulation():
    # While a run is on another thread, this thread keeps running (a held GIL would stop it).
    done = threading.Event()
    ticks = 0

    def work():
        tpusim.run("tpu-v1", "mlp0")  # ~0.25 s
        done.set()

    t = threading.Thread(target=work)
    t0 = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - t0
    assert elapsed > 0.05, "run too short to tell"
    assert ticks > 10


def test_sweep_with_futures_equals_sequential():
    archs = [tpusim.Arch("tiny-8").set("array.rows", n).set("array.cols", n) for n in (8, 16, 32)]
    seq = [tpusim.run(a, TINY, timing_only=True).totals.cycles for a in archs]
    with ThreadPoolExecutor(max_workers=2) as ex:
        par = list(ex.map(lambda a: tpusim.run(a, TINY, timing_only=True).totals.cycles, archs))
    assert par == seq


def test_compare_and_serve():
    c = tpusim.compare("tpu-v1", "mlp0", baselines="haswell")
    assert len(c.devices) == 2 and c.devices[0].name == "tpu-v1"
    s = tpusim.serve(arch="tpu-llm", model="opt-13b", trace="orca", requests=20, rate=1.0,
                     scheduler="continuous")
    assert s.report and s.csv.count("\n") >= 2
    with pytest.raises(tpusim.InputError, match="nosuch"):
        tpusim.serve(nosuch=1)


def test_sweep_spec(tmp_path):
    wl = tmp_path / "wl.yaml"
    wl.write_text(TINY.yaml_text)
    spec = tmp_path / "s.yaml"
    spec.write_text(f"name: t\nbase: tiny-8\ntiming_only: true\nworkloads: [{wl}]\n"
                    "axes:\n  - key: batch\n    values: [1, 2]\nmetrics: [seconds]\n")
    o = tpusim.sweep(str(spec), str(tmp_path / "out"), jobs=2)
    assert o.total == 2 and o.failed == 0
    assert (tmp_path / "out" / "results.jsonl").read_text().count("\n") == 2
