"""Decision export: agreement with cls_core on each bundled model's full test split, and cost.

For each bundled model whose dataset is present: thresholds are tuned with cls_core on the
dev split (multi-class: per-class F1 winner thresholds plus a ``coverage>=0.9`` reject
threshold; multi-label: per-class F1), the model is exported at temperature 1 and 1.7, and
every test text goes through the export's ``serving_default``. Printed per export:

- ``fired = cls_core``: rows whose ``fired`` equals cls_core's decision
  (:func:`~cls_core.modelio.decision_export.reference_fired`) on the export's own scores —
  the exactness claim, expected 100%;
- ``vs explorer``: rows whose ``fired`` equals cls_core's decision on the scores the
  explorer computes itself (``LoadedModel.predict`` on the source, numpy temperature),
  with the largest score difference; equal at T = 1 (same graph, bit for bit);
- ``near``: rows with a score within 1e-6 of a cutoff (where rounding could matter);
- time per 1,000 texts through the export vs the source signature, timed interleaved in
  the same process, best of 3 each (ratio: the decision's cost).

Usage: ``python benchmarks/bench_export.py [--models goemotions ekman banking77]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

CHUNK = 1024


def _truth(frame: Any, labels: tuple[str, ...], task: str) -> np.ndarray:
    index = {label: c for c, label in enumerate(labels)}
    if task == "multi-class":
        return np.array([index[x] for x in frame["label"]])
    truth = np.zeros((len(frame), len(labels)), dtype=np.int64)
    for i, joined in enumerate(frame["label"]):
        for name in filter(None, str(joined).split(";")):
            truth[i, index[name]] = 1
    return truth


def _thresholds_doc(model: Any, frame: Any) -> dict[str, Any]:
    from cls_core.evaluation.metrics import build_evaluation
    from cls_core.evaluation.thresholds import thresholds_file, tune

    scores = model.predict(frame["text"].tolist()).scores
    ev = build_evaluation(
        scores, _truth(frame, model.labels, model.task), labels=model.labels, task=model.task
    )
    doc = thresholds_file(tune(ev, "f1").metrics, objective="f1", model=model.name).to_dict()
    if model.task == "multi-class":
        doc["reject_threshold"] = tune(ev, "coverage>=0.9").reject_threshold
        doc["objective"] = "f1 + coverage>=0.9"
    return doc


def _run(fn: Any, texts: list[str], key: str) -> tuple[np.ndarray, float]:
    import tensorflow as tf

    fn(text=tf.constant(texts[:CHUNK]))  # warm, at the size that is timed
    parts, start = [], time.perf_counter()
    for i in range(0, len(texts), CHUNK):
        parts.append(fn(text=tf.constant(texts[i : i + CHUNK]))[key].numpy())
    return np.concatenate(parts), time.perf_counter() - start


def _timed_pair(source: Any, exported: Any, texts: list[str]) -> tuple[float, float]:
    """Seconds for ``texts`` through the source and the export, interleaved (best of 3
    each), so a change in the machine's load hits both alike."""
    src, exp = [], []
    for _ in range(3):
        src.append(_run(source, texts, "scores")[1])
        exp.append(_run(exported, texts, "fired")[1])
    return min(src), min(exp)


def bench_model(name: str, workdir: Path) -> list[dict[str, Any]]:
    import tensorflow as tf

    from cls_core.modelio.datasets import bundled_eval_splits
    from cls_core.modelio.decision_export import export_decision_model, reference_fired
    from cls_core.modelio.registry import load_model
    from cls_core.scoring.activations import apply_activation

    splits = bundled_eval_splits(name)
    if "test" not in splits:
        print(f"{name}: dataset absent, skipped")
        return []
    source = load_model(name)
    test = splits["test"]()
    texts = test["text"].tolist()
    tune_on = splits.get("dev", splits["test"])()
    doc = _thresholds_doc(source, tune_on)
    doc_path = workdir / f"{name}.json"
    doc_path.write_text(json.dumps(doc))
    src_out = source.predict(texts)
    src_fn = source._saved_model.signatures["serving_default"]
    rows = []
    for temperature in (1.0, 1.7):
        root = workdir / f"t{temperature:g}"
        root.mkdir(exist_ok=True)
        started = time.perf_counter()
        result = export_decision_model(
            name, doc_path, out_dir=root / f"{name}-decision", temperature=temperature
        )
        export_seconds = time.perf_counter() - started
        exported = tf.saved_model.load(str(result.path)).signatures["serving_default"]
        scores, _ = _run(exported, texts, "scores")
        fired, _ = _run(exported, texts, "fired")
        src_seconds, seconds = _timed_pair(src_fn, exported, texts)
        rule = result.rule
        exact = (fired == reference_fired(scores, rule)).all(axis=1)
        explorer_scores = (
            src_out.scores
            if temperature == 1.0
            else apply_activation(src_out.logits, rule.activation, temperature=temperature)
        )
        vs_explorer = (fired == reference_fired(explorer_scores, rule)).all(axis=1)
        near = (np.abs(scores - rule.cutoffs()[np.newaxis, :]) <= 1e-6).any(axis=1)
        rows.append(
            {
                "model": name,
                "T": temperature,
                "rows": len(texts),
                "exact": int(exact.sum()),
                "vs_explorer": int(vs_explorer.sum()),
                "max_dscore": float(np.max(np.abs(scores - explorer_scores))),
                "near": int(near.sum()),
                "ms_per_1k": 1000 * seconds / len(texts) * 1000,
                "ratio": seconds / src_seconds,
                "export_s": export_seconds,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["goemotions", "ekman", "banking77"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [row for name in args.models for row in bench_model(name, Path(tmp))]
    print(
        f"{'model':<11} {'T':>4} {'rows':>6} {'fired = cls_core':>17} {'vs explorer':>12} "
        f"{'max |Δscore|':>12} {'near':>5} {'ms/1k':>7} {'vs source':>9} {'export s':>8}"
    )
    for r in rows:
        print(
            f"{r['model']:<11} {r['T']:>4g} {r['rows']:>6} "
            f"{100 * r['exact'] / r['rows']:>16.3f}% {100 * r['vs_explorer'] / r['rows']:>11.3f}% "
            f"{r['max_dscore']:>12.2e} {r['near']:>5} {r['ms_per_1k']:>7.1f} "
            f"{r['ratio']:>8.2f}x {r['export_s']:>8.1f}"
        )


if __name__ == "__main__":
    main()
