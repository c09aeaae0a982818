#!/usr/bin/env python3
"""One measurement of the scikit-learn / torch reference, for bench/run.mjs.

Runs ../shared/reference/bench.py's own `measure(model, n, cap)` (a fresh spawned process per
measurement: data loading and scaling untimed, then fit, then scoring of the 100,000-row file) and
prints one JSON line: {"fit": s, "score": s, "maxRssMb": peak RSS of the measuring process, ...}.
bench.py's main() is not used because it writes into the (read-only) reference folder.

Usage: python3 bench/reference_cell.py --reference-dir DIR --model M --train N [--cap S]
"""
import argparse
import json
import resource
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference-dir", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--train", type=int, required=True)
    ap.add_argument("--cap", type=int, default=300)
    a = ap.parse_args()
    sys.path.insert(0, a.reference_dir)
    import bench  # the reference's bench.py

    res = bench.measure(a.model, a.train, a.cap)
    # peak RSS of the (joined) measuring child, in KiB on Linux
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = {"fit": res["fit"], "score": res["score"], "maxRssMb": round(rss_kb / 1024, 1)}
    out.update(res.get("extra", {}))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
