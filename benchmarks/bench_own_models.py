"""Cost of opening your own model (issue 10): inference once, then the adapter per call.

For each of the five own-model kinds (built into a temporary root by
``tests/_own_models.py``):

- **infer**: ``infer_model`` (read signatures, load, 20 probe texts, labels), paid once per
  model version (the registry memoizes it on the files' stamps);
- **direct**: calling the chosen signature directly on 1 and on 1,000 texts (the baseline);
- **adapter**: ``AdaptedModel.predict`` on the same texts (validation, tf.Example wrapping
  for classify signatures, logits recovery); printed as a ratio against **direct** measured
  in this same process.

Run: ``.venv/bin/python benchmarks/bench_own_models.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _median_ms(fn: Callable[..., object], rounds: int) -> float:
    fn()  # warm up (traces, kernel caches)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    from cls_core.cli import quiet_tensorflow

    quiet_tensorflow()
    from cls_core.modelio.adapters import run_signature
    from cls_core.modelio.inspect import infer_model
    from cls_core.modelio.registry import load_model
    from tests._own_models import KINDS, build_all

    multi_output_card = (
        '{"adapter": {"output": "topic_scores"}}'  # the one kind that needs a choice
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = build_all(Path(tmp) / "root")
        (root / "multi_output" / "model_card.json").write_text(multi_output_card)
        one = ["the vote was close"]
        many = [f"text number {i} about phones and votes" for i in range(1000)]
        print(
            f"{'kind':20} {'infer ms':>9} {'direct 1':>9} {'adapter 1':>10} {'ratio':>6} "
            f"{'direct 1k':>10} {'adapter 1k':>11} {'ratio':>6}"
        )
        for kind in KINDS:
            start = time.perf_counter()
            infer_model(root / kind, output="topic_scores" if kind == "multi_output" else None)
            infer_ms = (time.perf_counter() - start) * 1000.0
            model = load_model(kind, roots=[root])
            spec, signature = model.adapter, model.signature
            assert spec is not None  # every own model has an adapter
            row = [f"{kind:20} {infer_ms:9.0f}"]
            for texts in (one, many):
                direct = _median_ms(
                    lambda t=texts, f=signature, s=spec: run_signature(f, s, t), args.rounds
                )
                adapter = _median_ms(lambda t=texts, m=model: m.predict(t), args.rounds)
                row.append(f"{direct:9.2f} {adapter:10.2f} {adapter / direct:5.2f}x")
            print(" ".join(row))


if __name__ == "__main__":
    main()
