"""Inference latency and throughput of a bundled model, three ways, in one process.

- ``raw signature``: the loaded SavedModel's ``serving_default`` concrete function called
  directly on a ``tf.constant``, outputs converted to numpy (the baseline);
- ``LoadedModel.predict``: the registry's path (input checks, truncation, chunking);
- ``keras Model.predict``: a Keras model wrapping the same SavedModel
  (``keras.layers.TFSMLayer``), the path the app must avoid.

Prints the median single-text latency of each with its ratio to the baseline, and the
throughput for 10,000 texts. Goal: ``LoadedModel.predict`` ≤ 1.5x the raw signature.

Usage: ``python benchmarks/bench_inference.py [--model banking77] [--repeats 300]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TEXT = "I ordered my new card two weeks ago and it still hasn't arrived."


def median_seconds(fn: Callable[[], object], *, repeats: int, warmup: int = 20) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="banking77")
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--n-texts", type=int, default=10_000)
    args = parser.parse_args(argv)

    import tensorflow as tf

    from cls_core.modelio.registry import load_model

    model = load_model(args.model)
    raw_fn = tf.saved_model.load(str(model.path)).signatures["serving_default"]

    def raw(texts: list[str]) -> object:
        out = raw_fn(text=tf.constant(texts))
        return out["logits"].numpy(), out["scores"].numpy()

    keras_model = None
    keras_note = ""
    try:
        import keras

        text_in = keras.Input(shape=(), dtype="string")
        layer = keras.layers.TFSMLayer(str(model.path), call_endpoint="serving_default")
        keras_model = keras.Model(text_in, layer(text_in))
    except Exception as exc:  # report and carry on without the Keras row
        keras_note = f"keras Model.predict skipped: {type(exc).__name__}: {exc}"

    one = [TEXT]
    rows: list[tuple[str, float]] = [
        ("raw signature", median_seconds(lambda: raw(one), repeats=args.repeats)),
        ("LoadedModel.predict", median_seconds(lambda: model.predict(one), repeats=args.repeats)),
    ]
    if keras_model is not None:
        km = keras_model
        rows.append(
            (
                "keras Model.predict",
                median_seconds(
                    lambda: km.predict(tf.constant(one), verbose=0),
                    repeats=max(20, args.repeats // 10),
                    warmup=3,
                ),
            )
        )
    base = rows[0][1]
    print(f"model {model.name} ({len(model.labels)} classes, {model.path})")
    print(f"single-text median latency ({args.repeats} calls):")
    for name, seconds in rows:
        print(f"  {name:<22} {seconds * 1e3:8.3f} ms   {seconds / base:6.2f}x raw")
    if keras_note:
        print(f"  {keras_note}")

    texts = [f"{TEXT} ({i})" for i in range(args.n_texts)]
    print(f"throughput, {args.n_texts} texts in one call:")
    bulk: list[tuple[str, Callable[[], object]]] = [
        ("raw signature", lambda: raw(texts)),
        ("LoadedModel.predict", lambda: model.predict(texts)),
    ]
    if keras_model is not None:
        km = keras_model
        bulk.append(
            (
                "keras Model.predict",
                lambda: km.predict(tf.constant(texts), batch_size=1024, verbose=0),
            )
        )
    for name, fn in bulk:
        seconds = median_seconds(fn, repeats=3, warmup=1)
        print(f"  {name:<22} {seconds:8.3f} s   {args.n_texts / seconds:10,.0f} texts/s")
    ratio = rows[1][1] / base
    print(f"goal LoadedModel.predict <= 1.5x raw: {'met' if ratio <= 1.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
