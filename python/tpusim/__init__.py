"""tpusim from Python: the simulator's library, not its command line.

    import tpusim
    r = tpusim.run("tpu-v1", "mlp0")            # fast engine; engine="cycle" | "rtl" | "functional"
    r.totals.useful_tops                        # the report as Python objects
    r.layers                                    # per-layer table (a pandas DataFrame with pandas)
    big = tpusim.Arch("tpu-v1").set("array.rows", 512).set("array.cols", 512)
    tpusim.run(big, tpusim.Workload("gpt3-175b", phase="decode", batch=8), timing_only=True)

Reports are the JSON report of `tpusim run --json` (DESIGN.md), as dicts whose keys also read as
attributes. Bad input raises tpusim.InputError (a ValueError) with the CLI's message, naming the
file, the key and the allowed range. Simulations release the GIL: runs on several threads
(concurrent.futures.ThreadPoolExecutor) proceed in parallel.
"""

from __future__ import annotations

import copy
import json
import os
import sys

# A pip-installed package ships the data (presets, workloads, devices, schemas) beside itself;
# the library finds it through TPUSIM_HOME unless the user points elsewhere.
_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
if os.path.isdir(os.path.join(_DATA, "workloads")):
    os.environ.setdefault("TPUSIM_HOME", _DATA)

from . import _tpusim  # noqa: E402  (after TPUSIM_HOME)

__version__ = _tpusim.version()
InputError = _tpusim.InputError

__all__ = ["Arch", "Workload", "Report", "Program", "InputError", "run", "compare", "serve",
           "sweep", "lower", "list_archs", "list_workloads", "engines", "data_root"]


class Obj(dict):
    """A dict whose keys also read as attributes (r.totals.breakdown.array_active)."""

    def __getattr__(self, key):
        try:
            return _wrap(self[key])
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key):
        return _wrap(dict.__getitem__(self, key))

    def __dir__(self):
        return list(self.keys()) + list(super().__dir__())


def _wrap(v):
    if isinstance(v, dict) and not isinstance(v, Obj):
        return Obj(v)
    if isinstance(v, list):
        return [_wrap(e) for e in v]
    return v


def list_archs() -> list[str]:
    """Names of the shipped arch presets."""
    return _tpusim.list_archs()


def list_workloads() -> list[dict]:
    """The shipped workloads: name, paper, description."""
    return [Obj(w) for w in _tpusim.list_workloads()]


def engines() -> list[str]:
    """The engines (modes) this build has, in ladder order."""
    return _tpusim.engine_modes()


def data_root() -> str:
    """The folder the library reads workloads/ from."""
    return _tpusim.data_root()


def _set_path(d: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
        if not isinstance(d, dict):
            raise InputError(f"arch key '{dotted}': '{k}' is not a block")
    d[keys[-1]] = value


class Arch:
    """An arch preset (name or YAML path) with changes, validated by the library's one loader.

    Arch("tpu-v1").set("array.rows", 128) returns a new Arch; keys are the dotted paths of the
    report's `arch` block (the sweep's keys). Arch.resolved is that block, as the loader read it.
    """

    def __init__(self, name_or_path: str = "tpu-v1", changes: dict | None = None):
        if os.sep in name_or_path or name_or_path.endswith((".yaml", ".yml")):
            name_or_path = os.path.abspath(name_or_path)
        self.base = name_or_path
        self.changes: dict = {}
        for k, v in (changes or {}).items():
            _set_path(self.changes, k, v)
        self._resolved = None
        self.resolved  # validates now: a bad key fails where it was set

    def set(self, key: str, value) -> "Arch":
        """A copy with the arch key `key` (dotted, e.g. "array.rows") set to `value`."""
        a = copy.copy(self)
        a.changes = copy.deepcopy(self.changes)
        _set_path(a.changes, key, value)
        a._resolved = None
        a.resolved
        return a

    @property
    def name(self) -> str:
        return self.resolved["name"]

    def yaml(self) -> str:
        """The arch as the library reads it: the base plus the changes (JSON is YAML)."""
        return json.dumps({"base": self.base, **self.changes})

    def _file(self) -> str:
        return self.base if not self.changes else f"{self.base} (changed in Python)"

    @property
    def resolved(self) -> Obj:
        if self._resolved is None:
            self._resolved = Obj(_tpusim.resolve_arch(self.yaml(), self._file()))
        return self._resolved

    def __getitem__(self, dotted: str):
        v = self.resolved
        for k in dotted.split("."):
            v = v[k]
        return v

    def __repr__(self) -> str:
        return f"Arch({self.base!r}, changes={self.changes!r})"


class Workload:
    """A shipped workload (name), a YAML file (path) or one built from layers, with overrides."""

    def __init__(self, name_or_path: str, batch: int = 0, phase: str = "", prompt_len: int = 0,
                 context_len: int = 0, *, yaml_text: str = ""):
        self.name = name_or_path
        self.yaml_text = yaml_text
        self.batch, self.phase = batch, phase
        self.prompt_len, self.context_len = prompt_len, context_len

    @classmethod
    def from_layers(cls, name: str, layers: list[dict], input: dict, batch: int = 1,
                    **fields) -> "Workload":
        """A workload from primitive layers, as in workloads/*.yaml:
        Workload.from_layers("tiny", [{"type": "fc", "name": "fc1", "out": 256}],
                             input={"features": 512}, batch=16)."""
        doc = {"name": name, "paper": "none (built in Python)", "description": name,
               "batch": batch, "input": input, "layers": layers, **fields}
        return cls(name, yaml_text=json.dumps(doc))

    def _args(self):
        return (self.name, self.yaml_text, self.batch, self.phase, self.prompt_len,
                self.context_len)

    def __repr__(self) -> str:
        return f"Workload({self.name!r})"


def _arch(a) -> Arch:
    return a if isinstance(a, Arch) else Arch(a)


def _workload(w) -> Workload:
    return w if isinstance(w, Workload) else Workload(w)


class Report(Obj):
    """The run report (DESIGN.md "Report JSON"); .layers is the per-layer table as a pandas
    DataFrame when pandas is installed (else a list of dicts); .to_json() is the CLI's JSON."""

    @property
    def layers(self):
        rows = dict.__getitem__(self, "layers")
        try:
            import pandas as pd
        except ImportError:
            return _wrap(rows)
        flat = []
        for r in rows:
            f = {}
            for k, v in r.items():
                if isinstance(v, dict):
                    for k2, v2 in v.items():
                        f[f"{k}.{k2}"] = v2
                else:
                    f[k] = v
            flat.append(f)
        df = pd.DataFrame(flat)
        return df.set_index("name") if "name" in df.columns else df

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self, indent=indent)


def _progress_callback(progress):
    """progress=True: a tqdm bar on stderr when tqdm is installed and stderr is a terminal."""
    if callable(progress):
        return progress
    if not progress or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    bars = {}

    def update(stage, done, total):
        bar = bars.get(stage)
        if bar is None:
            for b in bars.values():
                b.close()
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="cycle", unit_scale=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def run(arch, workload, engine: str = "fast", *, timing_only: bool = False,
        strict_capacity: bool = False, seed: int = 1, steady: bool = True, batch: int = 0,
        phase: str = "", prompt_len: int = 0, context_len: int = 0, progress=False,
        warn=None) -> Report:
    """Runs `workload` (name, path or Workload) on `arch` (preset name, path or Arch) on
    `engine`, returning the report of `tpusim run --json` without writing files.

    batch/phase/prompt_len/context_len override a named workload's defaults (0/"" keep them).
    progress: True for a bar on a terminal (tqdm), or a callable(stage, done_cycles,
    total_cycles) told every ~65,000 cycles of the cycle and rtl engines. warn: a callable told
    the capacity warning (default: none; the report's `capacity` block says it anyway).
    """
    a, w = _arch(arch), _workload(workload)
    name, text, b, ph, pl, cl = w._args()
    rep = _tpusim.run(a.yaml(), a._file(), name, text, batch or b, phase or ph,
                      prompt_len or pl, context_len or cl, engine, timing_only, strict_capacity,
                      seed, steady, _progress_callback(progress), warn)
    return Report(rep)


def compare(arch, workload, *, baselines: str = "", batch: int = 0, phase: str = "",
            prompt_len: int = 0, context_len: int = 0) -> Obj:
    """The chip beside the roofline baselines (`tpusim compare` without --measure-cpu):
    `devices`, accelerator first. `workload` is a name or path."""
    a, w = _arch(arch), _workload(workload)
    if w.yaml_text:
        raise InputError("compare: a workload built from layers is not supported; save it as "
                         "YAML and pass the path")
    return Obj(_tpusim.compare(a.yaml(), a._file(), w.name, batch or w.batch, phase or w.phase,
                               prompt_len or w.prompt_len, context_len or w.context_len,
                               baselines))


def serve(*, on_rate=None, **options) -> Obj:
    """An LLM serving study (`tpusim serve`): keyword options as its flags with underscores
    (arch, model, trace, requests, rates=[...] or rate=..., seed, scheduler, max_batch, tp, pp,
    slo_ttft, slo_tpot, ...). Returns {report, csv, requests_csv}."""
    opt = _tpusim.ServeOptions()
    if "rate" in options:
        options["rates"] = [options.pop("rate")]
    for k, v in options.items():
        if not hasattr(opt, k):
            raise InputError(f"serve: unknown option '{k}'")
        setattr(opt, k, v)
    return Obj(_tpusim.serve(opt, on_rate))


def sweep(spec: str, out: str, jobs: int = 1, progress=None) -> Obj:
    """A sweep spec (YAML path) run into folder `out` on `jobs` threads, resumable, as `tpusim
    sweep`; progress: a callable(points_done, points, failed, eta_s). Returns the counts; the
    results are in out/results.jsonl and out/summary.csv."""
    return Obj(_tpusim.sweep(os.path.abspath(spec), out, jobs, progress))


class Program:
    """A workload lowered to the ISA: .segments (each with .instructions, .disassemble(),
    .binary(), .repeat, .group) and .layers; str() is `tpusim lower`'s assembly."""

    def __init__(self, d: dict):
        self.workload = d["workload"]
        self.useful_macs = d["useful_macs"]
        self.layers = [Obj(l) for l in d["layers"]]
        self.segments = d["segments"]

    def disassemble(self) -> str:
        return "".join(f"; segment {s.group or 'all'} x {s.repeat}\n" + s.disassemble()
                       for s in self.segments)

    def __str__(self) -> str:
        return self.disassemble()

    def __len__(self) -> int:
        return sum(len(s) for s in self.segments)

    def __repr__(self) -> str:
        return (f"<Program {self.workload}: {len(self.segments)} segments, {len(self)} "
                f"instructions>")


def lower(arch, workload, *, values: bool = False, batches: int = 1, batch: int = 0,
          phase: str = "", prompt_len: int = 0, context_len: int = 0) -> Program:
    """`workload` lowered for `arch` (`tpusim lower`): a Program to inspect and disassemble."""
    a, w = _arch(arch), _workload(workload)
    name, text, b, ph, pl, cl = w._args()
    return Program(_tpusim.lower(a.yaml(), a._file(), name, text, batch or b, phase or ph,
                                 prompt_len or pl, context_len or cl, values, batches))
