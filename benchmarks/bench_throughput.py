"""Scoring throughput (texts/s) of the bundled models against the previous export, in one process.

For each bundled model, texts are drawn (seeded, with replacement) from its evaluation
data under ``../shared/data`` (Banking77 test split for ``banking77``; GoEmotions test
split for ``ekman`` and ``goemotions``) and scored at batch sizes 256, 1,000 and 10,000:

- ``raw signature``: the loaded ``serving_default`` called on one ``tf.constant`` per
  batch, both outputs converted to numpy;
- ``LoadedModel.predict``: the registry's path (input checks, truncation, chunks of
  ``PREDICT_CHUNK_SIZE``).

The baseline is the same two paths over the models as exported before the throughput
work (the string n-gram graph), read from ``--baseline-dir`` or, by default, extracted
from git revision ``--baseline-rev`` into a temporary directory. Each configuration is
timed ``--repeats`` times, interleaved with its baseline, and the best run is kept (the
machine is shared, so the best run is the least disturbed one). Printed: texts/s of
each, the ratio new/baseline, and the largest score difference between the two exports
on the drawn texts.

Goal (issue 12): >= 10,000 texts/s per bundled model at batch size 10,000 on this 2-core
machine, scores unchanged (max |Δscore| <= 1e-6).

Usage: ``python benchmarks/bench_throughput.py [--models banking77 ekman goemotions]
[--repeats 5] [--baseline-rev 139d8a7] [--baseline-dir DIR] [--profile]``.
``--profile`` also prints, for both exports, the op types that take the time of one
10,000-text call on one thread (TF1 session step stats).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

MODELS = ("banking77", "ekman", "goemotions")
BATCH_SIZES = (256, 1_000, 10_000)
GOAL = 10_000.0


def extract_baseline(rev: str, dest: Path) -> Path:
    """Write ``models/`` as of git revision ``rev`` under ``dest``; return that root."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "models"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "models"


def eval_texts(name: str) -> list[str]:
    """The test-split texts a model is evaluated on."""
    from cls_core import paths
    from cls_core.modelio.datasets import read_banking77_csv, read_goemotions_split

    root = paths.data_dir()
    if name == "banking77":
        return read_banking77_csv(root / "banking77" / "test.csv")[0]
    return read_goemotions_split(root / "goemotions", "test", ekman=name == "ekman")[0]


def best_rate(fn: Callable[[], object], n: int, *, repeats: int) -> float:
    """Texts/s of the fastest of ``repeats`` runs of ``fn`` (which scores ``n`` texts)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def profile_ops(model_dir: Path, texts: list[str], *, top: int = 12) -> None:
    """Print where one call's time goes: op types of ``serving_default``, one thread.

    Loads the SavedModel in a TF1 session with one inter- and one intra-op thread and
    sums the step stats of a fully traced run by op type (the per-op times include the
    tracer's own overhead; the ranking is what matters).
    """
    import collections

    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        config = tf.compat.v1.ConfigProto(
            inter_op_parallelism_threads=1, intra_op_parallelism_threads=1
        )
        with tf.compat.v1.Session(graph=graph, config=config) as sess:
            meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], str(model_dir))
            sig = meta.signature_def["serving_default"]
            feed = {sig.inputs["text"].name: np.array(texts, dtype=object)}
            fetch = [sig.outputs[k].name for k in ("logits", "scores")]
            sess.run(fetch, feed)
            start = time.perf_counter()
            sess.run(fetch, feed)
            seconds = time.perf_counter() - start
            options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
            metadata = tf.compat.v1.RunMetadata()
            sess.run(fetch, feed, options=options, run_metadata=metadata)
    by_op: collections.Counter[str] = collections.Counter()
    for device in metadata.step_stats.dev_stats:
        for node in device.node_stats:
            op = node.timeline_label.split("(")[0].split(" = ")[-1].strip() or node.node_name
            by_op[op] += node.all_end_rel_micros
    total = sum(by_op.values()) or 1
    print(f"  {model_dir}: {len(texts)} texts in {seconds:.2f} s on one thread")
    for op, micros in by_op.most_common(top):
        print(f"    {micros / 1e3:9.1f} ms  {100 * micros / total:5.1f} %  {op}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-rev", default="139d8a7")
    parser.add_argument("--baseline-dir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--profile", action="store_true", help="also print each export's op-type profile"
    )
    args = parser.parse_args(argv)

    import tensorflow as tf

    from cls_core.modelio.registry import PREDICT_CHUNK_SIZE, load_model

    with tempfile.TemporaryDirectory() as tmp:
        baseline_root = args.baseline_dir or extract_baseline(args.baseline_rev, Path(tmp))
        print(
            f"baseline: {baseline_root} (rev {args.baseline_rev if not args.baseline_dir else '-'}); "
            f"PREDICT_CHUNK_SIZE={PREDICT_CHUNK_SIZE}; best of {args.repeats}; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )
        rng = np.random.default_rng(args.seed)
        header = f"{'model':11s} {'path':20s} {'batch':>6s} {'baseline/s':>11s} {'new/s':>9s} {'ratio':>6s}"
        print(header)
        shortfalls = []
        for name in args.models:
            pool = eval_texts(name)
            drawn = [pool[i] for i in rng.integers(0, len(pool), max(BATCH_SIZES))]
            old = load_model(name, roots=[baseline_root])
            new = load_model(name)
            for model in (old, new):  # first calls build the graphs
                model.predict(drawn[:600])
            diff = float(np.max(np.abs(old.predict(drawn).scores - new.predict(drawn).scores)))

            def raw(model: object, batch: list[str]) -> Callable[[], object]:
                def run() -> object:
                    out = model.signature(text=tf.constant(batch))  # type: ignore[attr-defined]
                    return out["logits"].numpy(), out["scores"].numpy()

                return run

            def via_predict(model: object, batch: list[str]) -> Callable[[], object]:
                return lambda: model.predict(batch)  # type: ignore[attr-defined]

            for label, make in (("raw signature", raw), ("LoadedModel.predict", via_predict)):
                for size in BATCH_SIZES:
                    batch = drawn[:size]
                    rates = {"old": 0.0, "new": 0.0}
                    for _ in range(args.repeats):  # interleave so both see the same load
                        for key, model in (("old", old), ("new", new)):
                            rates[key] = max(
                                rates[key], best_rate(make(model, batch), size, repeats=1)
                            )
                    print(
                        f"{name:11s} {label:20s} {size:6d} {rates['old']:11.0f} "
                        f"{rates['new']:9.0f} {rates['new'] / rates['old']:5.2f}x"
                    )
                    if size == max(BATCH_SIZES) and rates["new"] < GOAL:
                        shortfalls.append(f"{name} {label} {rates['new']:.0f}/s")
            print(f"{name:11s} max |Δscore| new vs baseline on {len(drawn)} texts: {diff:.2e}")
            if args.profile:
                profile_ops(old.path, drawn)
                profile_ops(new.path, drawn)
        print(
            f"goal >= {GOAL:.0f} texts/s at batch {max(BATCH_SIZES)}: "
            + ("met" if not shortfalls else "missed: " + "; ".join(shortfalls))
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
