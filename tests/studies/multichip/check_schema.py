"""multichip:schema — multi-chip run reports (the committed results/multichip/*.json and fresh
`tpusim run --chips/--tp/--pp --json` ones) validate against sim/report/schemas/multichip_report.schema.json,
which borrows its arch and totals definitions from sim/report/schemas/report.schema.json; broken reports and
single-chip reports do not. Usage: check_schema.py SIM_DIR REPORT.json..."""
import copy
import json
import os
import sys

import jsonschema
from referencing import Registry, Resource


def main() -> int:
    sim = sys.argv[1]  # the folder of the schemas
    schemas = [json.load(open(os.path.join(sim, n))) for n in ("multichip_report.schema.json", "report.schema.json")]
    for s in schemas:
        jsonschema.Draft202012Validator.check_schema(s)
    registry = Registry().with_resources([(s["$id"], Resource.from_contents(s)) for s in schemas])
    v = jsonschema.Draft202012Validator(schemas[0], registry=registry)
    single = jsonschema.Draft202012Validator(schemas[1], registry=registry)
    failed = 0
    reports = []
    for path in sys.argv[2:]:
        rep = json.load(open(path))
        errs = sorted(v.iter_errors(rep), key=lambda e: list(e.path))
        for e in errs[:5]:
            print(f"FAIL {path}: {'/'.join(map(str, e.path))}: {e.message[:300]}")
        failed += bool(errs)
        if not errs:
            print(f"ok   {path}")
            reports.append(rep)
        # The single-chip schema must not take a multi-chip report (its top level is closed).
        if single.is_valid(rep):
            print(f"FAIL report.schema.json accepts the multi-chip report {path}")
            failed += 1
    if not reports:
        print("FAIL no valid report given")
        return 1

    def must_reject(what, mutate):
        nonlocal failed
        bad = copy.deepcopy(reports[0])
        mutate(bad)
        if v.is_valid(bad):
            print(f"FAIL schema accepts a report {what}")
            failed += 1
        else:
            print(f"ok   rejects a report {what}")

    must_reject("with an unknown top-level key", lambda r: r.update(bogus=1))
    must_reject("without a split", lambda r: r.pop("split"))
    must_reject("with a communication share over 1", lambda r: r["communication"].update(share=1.5))
    must_reject("with tp 0", lambda r: r["split"].update(tp=0))
    must_reject("with both tokens_per_s and items_per_s", lambda r: r.update(items_per_s=1.0))
    must_reject("whose totals lack cycles", lambda r: r["totals"].pop("cycles"))
    must_reject("with a chip lacking its energy", lambda r: r["chips"][0].pop("energy_j"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
