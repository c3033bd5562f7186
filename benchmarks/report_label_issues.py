"""Suspected label errors in the bundled models' held-out splits, per class (README figure).

Scores each bundled model's dev/test split (as the threshold-tuning page offers them,
read with the training run's own readers) and runs the label-issue search (cleanlab) on
the out-of-sample scores. Needs ``../shared/data``; prints a Markdown table per split.

Run: ``.venv/bin/python benchmarks/report_label_issues.py [--top 5]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cls_core.cli import quiet_tensorflow  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=5, help="classes listed per split")
    args = parser.parse_args()
    quiet_tensorflow()
    from cls_core.evaluation.evaldata import parse_truth
    from cls_core.evaluation.label_issues import find_label_issues
    from cls_core.evaluation.metrics import build_evaluation
    from cls_core.modelio.datasets import bundled_eval_splits
    from cls_core.modelio.registry import load_model

    for name in ("banking77", "ekman", "goemotions"):
        splits = bundled_eval_splits(name)
        if not splits:
            print(f"{name}: dataset not found under the data directory; skipped")
            continue
        model = load_model(name)
        for split, loader in splits.items():
            frame = loader()
            started = time.perf_counter()
            prediction = model.predict(frame["text"].tolist())
            truth = parse_truth(frame["label"], model.labels, task=model.card.task)  # type: ignore[arg-type]
            target: Any = truth.ids if truth.task == "multi-class" else truth.indicator
            ev = build_evaluation(prediction.scores, target, labels=model.labels, task=truth.task)
            issues = find_label_issues(ev)
            took = time.perf_counter() - started
            top = sorted(issues.per_class.items(), key=lambda kv: -kv[1])[: args.top]
            share = 100 * len(issues.rows) / ev.n_examples
            listed = ", ".join(f"{label} {count}" for label, count in top)
            print(
                f"| {name} | {split} | {ev.n_examples:,} | {len(issues.rows):,} ({share:.1f} %) "
                f"| {listed} | {took:.1f} s |"
            )


if __name__ == "__main__":
    main()
