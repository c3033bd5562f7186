"""Benchmarks for cls_core.evaluation.metrics / thresholds and ``python -m cls_core tune`` (issues 5, 15).

1. All-class PR sweep at N=200k x C=28 vs a per-class scikit-learn loop (same process),
   results asserted equal. Goal: >= 6x faster (per-class sorts on a thread per core).
2. One threshold change -> all metrics (``Evaluation.metrics_at`` after moving one class's
   threshold to a random value), against the from-scratch computation in the same
   process; also the first move on a cold evaluation (just built). Goal: <= 2 ms.
3. A whole ``tune`` run on a 200k x 28 Parquet file vs an equivalent pandas + scikit-learn
   script, both as fresh processes (imports, reading, sweep, writing). Goal: <= 0.3x its time.
4. ``--big``: a 1,000,000 x 28 scores file: load, sweep, export through ``tune``; peak RSS.

Times are medians of ``--repeat`` runs; the machine's load average is printed, since
other jobs share its cores. Wall time and this thread's CPU time are both shown for
threshold moves: under load the wall time includes waiting for a core.

Run: ``.venv/bin/python benchmarks/bench_metrics.py [--big] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
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

from cls_core.evaluation import metrics as metrics_module  # noqa: E402
from cls_core.evaluation.metrics import MetricsTracker, build_evaluation, build_sweep  # noqa: E402

N, C = 200_000, 28
LABELS = [f"label_{i:02d}" for i in range(C)]


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """float32 sigmoid-like scores with ties, and a correlated multi-label truth."""
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random((n, C), dtype=np.float32), 4)  # 4 decimals: plenty of ties
    prevalence = np.linspace(0.01, 0.2, C, dtype=np.float32)
    truth = rng.random((n, C), dtype=np.float32) < prevalence * (0.3 + 1.4 * scores)
    return scores, truth


def median_of(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def load() -> str:
    return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())


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
    t_ours = median_of(ours, repeat)
    t_sk = median_of(sklearn_loop, repeat)
    saved = metrics_module.MIN_PARALLEL_CELLS
    metrics_module.MIN_PARALLEL_CELLS = 2**62  # one thread, for reference
    try:
        t_one = median_of(ours, repeat)
    finally:
        metrics_module.MIN_PARALLEL_CELLS = saved
    print(
        f"[1] PR sweep {N}x{C}: cls_core {t_ours * 1000:.0f} ms "
        f"({metrics_module._n_workers()} threads; one thread {t_one * 1000:.0f} ms), "
        f"sklearn loop {t_sk * 1000:.0f} ms, ratio {t_sk / t_ours:.1f}x "
        f"(one thread {t_sk / t_one:.1f}x; goal >= 6x), results equal; {load()}"
    )


def _moves(n: int, seed: int) -> list[tuple[int, float]]:
    rng = np.random.default_rng(seed)
    return [(int(rng.integers(C)), float(rng.random())) for _ in range(n)]


def bench_threshold_move(scores: np.ndarray, truth: np.ndarray, repeat: int) -> None:
    # cold: the first move after loading data (build + first metrics), then the second move
    cold_first, cold_second, builds = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        ev = build_evaluation(scores, truth, labels=LABELS, task="multi-label")
        built = time.perf_counter()
        t = np.full(C, 0.5)
        ev.metrics_at(t)
        first = time.perf_counter()
        t[3] = 0.3
        ev.metrics_at(t)
        builds.append(built - start)
        cold_first.append(first - built)
        cold_second.append(time.perf_counter() - first)
    wall: list[float] = []
    cpu: list[float] = []
    scratch_wall: list[float] = []
    scratch_cpu: list[float] = []
    t = np.full(C, 0.5)
    ev.metrics_at(t)
    for c, value in _moves(300, seed=1):
        t = t.copy()
        t[c] = value
        w, p = time.perf_counter(), time.thread_time()
        moved = ev.metrics_at(t)
        wall.append(time.perf_counter() - w)
        cpu.append(time.thread_time() - p)
        if len(scratch_wall) < 60:  # baseline: the same metrics from scratch (a fresh tracker)
            w, p = time.perf_counter(), time.thread_time()
            fresh = MetricsTracker(ev).metrics_at(t)
            scratch_wall.append(time.perf_counter() - w)
            scratch_cpu.append(time.thread_time() - p)
            assert fresh.samples == moved.samples and fresh.micro == moved.micro
    ms = statistics.median(wall) * 1000
    print(
        f"[2] one threshold change -> all metrics (multi-label, incl. samples avg) {N}x{C}: "
        f"median {ms:.2f} ms wall, {statistics.median(cpu) * 1000:.2f} ms CPU "
        f"(p90 {np.quantile(wall, 0.9) * 1000:.2f} ms wall); from scratch "
        f"{statistics.median(scratch_wall) * 1000:.2f} ms wall, "
        f"{statistics.median(scratch_cpu) * 1000:.2f} ms CPU: "
        f"{statistics.median(scratch_wall) / statistics.median(wall):.1f}x (goal <= 2 ms); "
        f"{load()}"
    )
    print(
        f"    cold evaluation: build (sort) {statistics.median(builds) * 1000:.0f} ms, first move "
        f"{statistics.median(cold_first) * 1000:.1f} ms, second move "
        f"{statistics.median(cold_second) * 1000:.2f} ms"
    )
    rng = np.random.default_rng(1)
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
        f"    multi-class reject move: median {statistics.median(times) * 1000:.2f} ms; "
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
    t_ours_all, t_sk_all = [], []
    for _ in range(repeat):  # interleaved, so both see the same load
        t_ours_all.append(timed_run(ours_cmd)[0])
        t_sk_all.append(timed_run(sk_cmd)[0])
    t_ours, t_sk = statistics.median(t_ours_all), statistics.median(t_sk_all)
    ours = json.loads((tmp / "ours.json").read_text())
    sk = json.loads((tmp / "sk.json").read_text())
    # same objective, same tie rule (highest threshold among F1 ties) -> same thresholds
    np.testing.assert_allclose(ours["thresholds"], sk["thresholds"], rtol=0, atol=1e-7)
    assert abs(ours["micro"]["f1"] - sk["micro"]["f1"]) < 1e-9
    ratios = sorted(o / k for o, k in zip(t_ours_all, t_sk_all, strict=True))
    print(
        f"[3] tune on a {N}x{C} Parquet file (fresh processes, median of {repeat}): cls_core "
        f"{t_ours:.2f} s, pandas+sklearn {t_sk:.2f} s, ratio {t_ours / t_sk:.2f} "
        f"(per pair {ratios[0]:.2f}-{ratios[-1]:.2f}; goal <= 0.3), same thresholds; {load()}"
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
    parser.add_argument("--repeat", type=int, default=5, help="repeats, median (default 5)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; {load()}")
    scores, truth = synthetic(N)
    bench_sweep(scores, truth, args.repeat)
    bench_threshold_move(scores, truth, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        bench_tune(scores, truth, Path(tmp), args.repeat)
        if args.big:
            bench_big(Path(tmp))


if __name__ == "__main__":
    main()
