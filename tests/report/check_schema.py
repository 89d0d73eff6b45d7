"""Validates real run reports against sim/report/schemas/report.schema.json, and checks that the schema rejects
broken ones (reports:schema). Usage: check_schema.py SCHEMA REPORT.json..."""
import copy
import json
import sys

import jsonschema


def main() -> int:
    schema = json.load(open(sys.argv[1]))
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    failed = 0
    reports = {}
    for path in sys.argv[2:]:
        rep = json.load(open(path))
        reports[path] = rep
        errs = sorted(v.iter_errors(rep), key=lambda e: list(e.path))
        for e in errs[:5]:
            print(f"FAIL {path}: {'/'.join(map(str, e.path))}: {e.message[:300]}")
        failed += bool(errs)
        if not errs:
            print(f"ok   {path}")

    def must_reject(what, rep, mutate):
        nonlocal failed
        bad = copy.deepcopy(rep)
        mutate(bad)
        if v.is_valid(bad):
            print(f"FAIL schema accepts a report {what}")
            failed += 1
        else:
            print(f"ok   rejects a report {what}")

    timed = [r for r in reports.values() if r.get("mode") != "functional"]
    workload = [r for r in timed if "workload" in r]
    if not timed or not workload:
        print("FAIL no timed workload report given")
        return 1
    w = workload[0]
    must_reject("missing totals.cycles", w, lambda r: r["totals"].pop("cycles"))
    must_reject("missing totals.energy_j", w, lambda r: r["totals"].pop("energy_j"))
    must_reject("missing totals.breakdown.weight_stall", w, lambda r: r["totals"]["breakdown"].pop("weight_stall"))
    must_reject("missing a layer's cycles", w, lambda r: r["layers"][0].pop("cycles"))
    must_reject("missing capacity", w, lambda r: r.pop("capacity"))
    must_reject("with both workload and program", w, lambda r: r.update(program={"name": "x", "instructions": 1}))
    must_reject("with an unknown top-level key", w, lambda r: r.update(surprise=1))
    must_reject("with a negative energy", w, lambda r: r["totals"].update(energy_j=-1.0))
    must_reject("with a fraction above 1", w, lambda r: r["totals"]["breakdown"].update(array_active=1.5))
    must_reject("with a float cycle count", w, lambda r: r["totals"].update(cycles=1.5))
    must_reject("of mode 'turbo'", w, lambda r: r.update(mode="turbo"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
