"""Benchmark: the examples list of the threshold-tuning page at 1,000,000 rows (issue 13).

What an analyst does on the "Examples" view, server side: pick a class and an outcome (the
false positives of one class), sort by score, show page 1; then move the threshold (the
list follows). Goal: filtering a class at 1M rows <= 200 ms.

Baseline in the same process: the obvious pandas version (a DataFrame of the rows, boolean
filter on the class's columns, ``sort_values``, ``head``), which gives the same rows.
Also: a text search over the class's FP rows, and the label-issue search (cleanlab) on
a 50,000-row multi-class set.

Run: ``.venv/bin/python benchmarks/bench_examples.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cls_core.evaluation.examples import ExampleQuery, select_examples  # noqa: E402
from cls_core.evaluation.metrics import build_evaluation  # noqa: E402

N, C = 1_000_000, 28
GOAL_MS = 200.0


def _median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    scores = np.round(rng.random((N, C), dtype=np.float32), 4)
    truth = rng.random((N, C), dtype=np.float32) < np.linspace(0.01, 0.2, C, dtype=np.float32) * (
        0.3 + 1.4 * scores
    )
    labels = [f"label_{i:02d}" for i in range(C)]
    texts = pd.Series([f"text {i} about label {i % C}" for i in range(N)], dtype=object)
    t0 = time.perf_counter()
    ev = build_evaluation(scores, truth, labels=labels, task="multi-label")
    print(f"build_evaluation {N:,} x {C}: {time.perf_counter() - t0:.2f} s (once per data set)")
    thresholds = np.full(C, 0.5)
    c = 7
    query = ExampleQuery(class_index=c, outcomes=("fp",), sort="score_desc")

    def ours(th: np.ndarray = thresholds) -> Any:
        return select_examples(ev, query, texts=texts, thresholds=th, page_size=25)

    frame = pd.DataFrame({"score": scores[:, c], "truth": truth[:, c], "text": texts})

    def pandas_way() -> pd.DataFrame:
        fp = frame[(frame["score"] >= np.float32(0.5)) & ~frame["truth"]]
        return fp.sort_values("score", ascending=False, kind="stable").head(25)

    # the same rows, in the same order
    page = ours()
    baseline = pandas_way()
    assert page.frame["row"].tolist() == baseline.index.tolist(), "different rows"
    ms = _median_ms(ours, args.repeat)
    base_ms = _median_ms(pandas_way, args.repeat)
    print(
        f"filter one class's FP + sort + page 1 at {N:,} rows: {ms:.1f} ms "
        f"(pandas baseline {base_ms:.1f} ms, ratio {ms / base_ms:.2f}x); "
        f"goal <= {GOAL_MS:.0f} ms: {'met' if ms <= GOAL_MS else 'NOT met'}; "
        f"{page.n_matching:,} matching rows"
    )
    moved = [np.full(C, v) for v in (0.45, 0.55, 0.6, 0.4, 0.5, 0.52, 0.48)]
    it = iter(moved * (args.repeat // len(moved) + 1))
    move_ms = _median_ms(lambda: ours(next(it)), args.repeat)
    print(f"threshold move -> the open list recomputed: {move_ms:.1f} ms")
    search = ExampleQuery(class_index=c, outcomes=("fp",), search="label 7", sort="score_desc")
    search_ms = _median_ms(
        lambda: select_examples(ev, search, texts=texts, thresholds=thresholds), args.repeat
    )
    print(f"... with a text search over the class's FP rows: {search_ms:.1f} ms")

    from cls_core.evaluation.label_issues import find_label_issues

    n_small = 50_000
    p = rng.dirichlet(np.ones(7) * 0.5, size=n_small)
    y = np.where(rng.random(n_small) < 0.8, p.argmax(1), rng.integers(0, 7, n_small))
    small = build_evaluation(p, y, labels=[f"c{i}" for i in range(7)], task="multi-class")
    t = time.perf_counter()
    issues = find_label_issues(small)
    print(
        f"label issues (cleanlab) on {n_small:,} x 7 multi-class: "
        f"{time.perf_counter() - t:.2f} s, {len(issues.rows):,} flagged (computed once per data set)"
    )


if __name__ == "__main__":
    main()
