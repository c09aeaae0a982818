#!/usr/bin/env python3
"""One measurement of the scikit-learn / torch reference, for bench/run.mjs.

Seed-traffic cells (--train N) run ../shared/reference/bench.py's own `measure(model, n, cap)` (a
fresh spawned process per measurement: data loading and scaling untimed, then fit, then scoring of
the 100,000-row file). bench.py's main() is not used because it writes into the (read-only)
reference folder.

Width cells (--width-data DIR, a dataset prepared by bench/width-data.mjs) fit the reference's
models with bench.py's settings on the same float64 rows our cell reads: StandardScaler fitted on
the training rows (untimed), then IsolationForest(n_estimators=100, random_state=42),
OneClassSVM(nu=c, kernel='rbf', gamma='auto'), LocalOutlierFactor(n_neighbors=20, novelty=True) or
the torch autoencoder of seed_ensemble.py (30 epochs, batch 32, validation split 0.1, 2 threads;
'autoencoder_1t': 1 thread) with its training-set MSE pass, as bench.py times them; contamination
--contamination (default 0.1). Also in a fresh spawned process, capped at --cap seconds a phase.

Prints one JSON line: {"fit": s, "score": s, "maxRssMb": peak RSS of the measuring process, ...}.

Needs /usr/bin/python3 with numpy, scikit-learn, torch and pandas (Debian/Ubuntu:
`sudo apt-get install -y python3-sklearn python3-torch python3-pandas`).

Usage: python3 bench/reference_cell.py --reference-dir DIR --model M (--train N | --width-data DIR)
         [--cap S] [--contamination C]
"""
import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time


def _width_worker(reference_dir, data_dir, model, contamination, conn):
    sys.path.insert(0, reference_dir)
    import numpy as np
    import torch
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    from sklearn.neighbors import LocalOutlierFactor
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import OneClassSVM

    from seed_ensemble import TorchAutoencoder, ae_threshold_from
    torch.set_num_threads(1 if model == "autoencoder_1t" else 2)

    with open(os.path.join(data_dir, "meta.json")) as f:
        meta = json.load(f)
    d = meta["cols"]
    Xtr = np.fromfile(os.path.join(data_dir, "train.f64"), dtype="<f8").reshape(meta["trainRows"], d)
    Xsc = np.fromfile(os.path.join(data_dir, "score.f64"), dtype="<f8").reshape(meta["scoreRows"], d)
    y = np.fromfile(os.path.join(data_dir, "labels.u8"), dtype=np.uint8)
    scaler = StandardScaler().fit(Xtr)
    Xtr_s = scaler.transform(Xtr)
    Xsc_s = scaler.transform(Xsc)
    conn.send(("scaler",))

    c = contamination
    t = time.perf_counter()
    if model == "isolation_forest":
        est = IsolationForest(n_estimators=100, contamination=c, random_state=42).fit(Xtr_s)
    elif model == "one_class_svm":
        est = OneClassSVM(nu=c, kernel="rbf", gamma="auto").fit(Xtr_s)
    elif model == "lof":
        est = LocalOutlierFactor(n_neighbors=20, novelty=True, contamination=c).fit(Xtr_s)
    else:
        est = TorchAutoencoder(d, epochs=30, batch_size=32, validation_split=0.1, seed=42).fit(Xtr_s)
        ae_threshold_from(est.mse(Xtr_s), c)
    fit_s = time.perf_counter() - t
    extra = {}
    if model == "one_class_svm":
        extra["n_support_vectors"] = int(est.support_vectors_.shape[0])
    conn.send(("fit", fit_s, extra))

    t = time.perf_counter()
    if model in ("isolation_forest", "lof"):
        s = -est.score_samples(Xsc_s)
        flags = (-s - est.offset_) < 0
    elif model == "one_class_svm":
        s = -est.decision_function(Xsc_s)
        flags = s >= 0
    else:
        s = est.mse(Xsc_s)
        flags = s > ae_threshold_from(s, c)
    score_s = time.perf_counter() - t
    extra = {"flagged": int(flags.sum())}
    if 0 < y.sum() < len(y):
        extra["rocAuc"] = round(float(roc_auc_score(y, s)), 5)
    conn.send(("score", score_s, extra))
    conn.close()


def measure_width(reference_dir, data_dir, model, contamination, cap):
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_width_worker, args=(reference_dir, data_dir, model, contamination, child))
    p.start()
    child.close()
    res = {"fit": None, "score": None, "extra": {}}
    try:
        if not parent.poll(300):  # imports, data loading, scaling
            raise TimeoutError("setup")
        parent.recv()
        for phase in ("fit", "score"):
            if not parent.poll(cap):
                res[phase] = f"> {cap} s"
                return res
            _, res[phase], extra = parent.recv()
            res["extra"].update(extra)
        return res
    finally:
        if p.is_alive():
            p.kill()
        p.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference-dir", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--train", type=int)
    ap.add_argument("--width-data")
    ap.add_argument("--contamination", type=float, default=0.1)
    ap.add_argument("--cap", type=int, default=300)
    a = ap.parse_args()
    sys.path.insert(0, a.reference_dir)
    if a.width_data:
        res = measure_width(a.reference_dir, os.path.abspath(a.width_data), a.model, a.contamination, a.cap)
    else:
        import bench  # the reference's bench.py

        res = bench.measure(a.model, a.train, a.cap)
    for phase in ("fit", "score"):
        if not isinstance(res[phase], float):
            print(json.dumps({"error": f"{phase} {res[phase] or 'failed'}"}))
            return
    # peak RSS of the (joined) measuring child, in KiB on Linux
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = {"fit": res["fit"], "score": res["score"], "maxRssMb": round(rss_kb / 1024, 1)}
    out.update(res.get("extra", {}))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
