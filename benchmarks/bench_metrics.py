"""Benchmarks for cls_core.evaluation.metrics / thresholds and ``python -m cls_core tune`` (issue 5).

1. All-class PR sweep at N=200k x C=28 vs a per-class scikit-learn loop (same process),
   results asserted equal. Goal: >= 3x faster.
2. One threshold change -> all metrics (``Evaluation.metrics_at``). Goal: <= 20 ms.
3. A whole ``tune`` run on a 200k x 28 Parquet file vs an equivalent pandas + scikit-learn
   script, both as fresh processes. Goal: <= 0.7x its time.
4. ``--big``: a 1,000,000 x 28 scores file: load, sweep, export through ``tune``; peak RSS.

Run: ``.venv/bin/python benchmarks/bench_metrics.py [--big] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cls_core.evaluation.metrics import build_evaluation, build_sweep  # noqa: E402

N, C = 200_000, 28
LABELS = [f"label_{i:02d}" for i in range(C)]


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """float32 sigmoid-like scores with ties, and a correlated multi-label truth."""
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random((n, C), dtype=np.float32), 4)  # 4 decimals: plenty of ties
    prevalence = np.linspace(0.01, 0.2, C, dtype=np.float32)
    truth = rng.random((n, C), dtype=np.float32) < prevalence * (0.3 + 1.4 * scores)
    return scores, truth


def best_of(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def bench_sweep(scores: np.ndarray, truth: np.ndarray, repeat: int) -> None:
    from sklearn.metrics import precision_recall_curve

    def ours() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        sweep = build_sweep(scores, truth, labels=LABELS)
        return [(c.precision, c.recall, c.thresholds) for c in sweep.curves]

    def sklearn_loop() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return [precision_recall_curve(truth[:, c], scores[:, c]) for c in range(C)]

    a, b = ours(), sklearn_loop()
    for (p, r, t), (sp, sr, st) in zip(a, b, strict=True):
        np.testing.assert_array_equal(t, st[::-1])
        np.testing.assert_allclose(p, sp[:-1][::-1], rtol=1e-12)
        np.testing.assert_allclose(r, sr[:-1][::-1], rtol=1e-12)
    t_ours = best_of(ours, repeat)
    t_sk = best_of(sklearn_loop, repeat)
    print(
        f"[1] PR sweep {N}x{C}: cls_core {t_ours * 1000:.0f} ms, sklearn loop {t_sk * 1000:.0f} ms, "
        f"ratio {t_sk / t_ours:.1f}x (goal >= 3x), results equal"
    )


def bench_threshold_move(scores: np.ndarray, truth: np.ndarray) -> None:
    ev = build_evaluation(scores, truth, labels=LABELS, task="multi-label")
    rng = np.random.default_rng(1)
    times = []
    for _ in range(50):
        t = rng.random(C)
        start = time.perf_counter()
        ev.metrics_at(t)
        times.append(time.perf_counter() - start)
    print(
        f"[2] threshold change -> all metrics (multi-label, incl. samples avg) {N}x{C}: "
        f"median {statistics.median(times) * 1000:.1f} ms, p90 {np.quantile(times, 0.9) * 1000:.1f} ms (goal <= 20 ms)"
    )
    logits = rng.normal(size=(N, C)).astype(np.float32) * 2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    ids = probs.argmax(axis=1)
    mc = build_evaluation(probs, ids, labels=LABELS, task="multi-class")
    times = []
    for _ in range(50):
        r = float(rng.random())
        start = time.perf_counter()
        mc.metrics_at(reject_threshold=r)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    mc.confusion_matrix(reject_threshold=0.5)
    cm = time.perf_counter() - start
    print(
        f"    multi-class reject move: median {statistics.median(times) * 1000:.1f} ms; "
        f"confusion matrix {cm * 1000:.1f} ms"
    )


SKLEARN_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, pandas as pd
    from sklearn.metrics import precision_recall_curve, precision_recall_fscore_support
    path, out = sys.argv[1], sys.argv[2]
    frame = pd.read_parquet(path)
    labels = [c for c in frame.columns if c != "label"]
    truth = frame["label"].str.get_dummies(sep=";").reindex(columns=labels, fill_value=0).to_numpy().astype(bool)
    scores = frame[labels].to_numpy()
    thresholds = []
    for c in range(len(labels)):
        p, r, t = precision_recall_curve(truth[:, c], scores[:, c])
        f = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)[:-1]
        thresholds.append(float(t[np.flatnonzero(f == f.max())[-1]]))
    pred = scores >= np.array(thresholds)
    P, R, F, S = precision_recall_fscore_support(truth, pred, average=None, zero_division=0)
    micro = precision_recall_fscore_support(truth, pred, average="micro", zero_division=0)
    macro = precision_recall_fscore_support(truth, pred, average="macro", zero_division=0)
    json.dump({"labels": labels, "thresholds": thresholds,
               "micro": {"precision": micro[0], "recall": micro[1], "f1": micro[2]},
               "macro": {"precision": macro[0], "recall": macro[1], "f1": macro[2]}}, open(out, "w"))
    """
)


def write_scores_file(path: Path, scores: np.ndarray, truth: np.ndarray) -> None:
    frame = pd.DataFrame(scores, columns=LABELS)
    names = np.array(LABELS, dtype=object)
    frame["label"] = [";".join(names[row]) for row in truth]
    frame.to_parquet(path)


def timed_run(cmd: list[str]) -> tuple[float, int, str]:
    """Wall time, peak RSS (KiB) of the child, stderr."""
    start = time.perf_counter()
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"command failed ({run.returncode}): {' '.join(cmd)}\n{run.stderr}")
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, run.stderr


def bench_tune(scores: np.ndarray, truth: np.ndarray, tmp: Path, repeat: int) -> None:
    path = tmp / "scores.parquet"
    write_scores_file(path, scores, truth)
    script = tmp / "sklearn_tune.py"
    script.write_text(SKLEARN_SCRIPT)
    ours_cmd = [
        sys.executable,
        "-m",
        "cls_core",
        "tune",
        str(path),
        "--out",
        str(tmp / "ours.json"),
    ]
    sk_cmd = [sys.executable, str(script), str(path), str(tmp / "sk.json")]
    t_ours = min(timed_run(ours_cmd)[0] for _ in range(repeat))
    t_sk = min(timed_run(sk_cmd)[0] for _ in range(repeat))
    ours = json.loads((tmp / "ours.json").read_text())
    sk = json.loads((tmp / "sk.json").read_text())
    # same objective, same tie rule (highest threshold among F1 ties) -> same thresholds
    np.testing.assert_allclose(ours["thresholds"], sk["thresholds"], rtol=0, atol=1e-7)
    assert abs(ours["micro"]["f1"] - sk["micro"]["f1"]) < 1e-9
    print(
        f"[3] tune on a {N}x{C} Parquet file (fresh processes): cls_core {t_ours:.2f} s, "
        f"pandas+sklearn {t_sk:.2f} s, ratio {t_ours / t_sk:.2f} (goal <= 0.7), same thresholds"
    )


def bench_big(tmp: Path) -> None:
    n = 1_000_000
    scores, truth = synthetic(n, seed=5)
    path = tmp / "big.parquet"
    start = time.perf_counter()
    write_scores_file(path, scores, truth)
    print(
        f"[4] wrote {n}x{C} scores file ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - start:.1f} s"
    )
    del scores, truth
    cmd = [
        sys.executable,
        "-c",
        "import resource, sys, time; from cls_core.cli import main; t = time.perf_counter(); "
        f"code = main(['tune', {str(path)!r}, '--out', {str(tmp / 'big.json')!r}]); "
        "print(f'{time.perf_counter() - t:.1f} s, peak RSS '"
        " f'{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB', file=sys.stderr); sys.exit(code)",
    ]
    elapsed, _, err = timed_run(cmd)
    print(
        f"    tune (load + sweep + export) {n}x{C}: {err.strip().splitlines()[-1]} (wall {elapsed:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big", action="store_true", help="also run the 1,000,000 x 28 scale test")
    parser.add_argument("--repeat", type=int, default=3, help="best-of repeats (default 3)")
    args = parser.parse_args()
    scores, truth = synthetic(N)
    bench_sweep(scores, truth, args.repeat)
    bench_threshold_move(scores, truth)
    with tempfile.TemporaryDirectory() as tmp:
        bench_tune(scores, truth, Path(tmp), args.repeat)
        if args.big:
            bench_big(Path(tmp))


if __name__ == "__main__":
    main()
