"""Beam scoring (``score --runner direct``) against the in-process ``score``, same rows, same run.

For each row count (default 2,000 and 20,000; texts from the banking77 demo set, varied
per row) the script writes one CSV file and the same rows as two shards, then runs, in this
one process:

1. the in-process ``cls-explorer score`` on the file (the baseline);
2. ``score --runner direct`` (FnApiRunner, multi_processing, 2 workers) on the two shards,
   with the same ``--chunk-rows``, so the scores must be bit-identical (checked);
3. with ``--sizes``: the Beam run again at other chunk sizes (rows per signature call),
   to choose the default batch size.

It prints wall seconds and rows/s of each, and the Beam/in-process ratio. Wall time is the
whole command (the in-process run loads the model once; the Beam run loads it in the main
process to check it, then once per worker process). Nothing is written outside a temporary
directory.

First, with ``--step-sizes``, the scoring step alone (the handler's ``run_inference`` on one
loaded model, no pipeline) at several chunk sizes: what the chunk size changes.

Usage: ``.venv/bin/python benchmarks/bench_beam_score.py [--rows 2000 20000] [--chunk 1000]
[--sizes 256 4096] [--step-sizes 64 256 1024 2048 4096]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cls_core.cli import main
from cls_core.evaluation.demo_data import demo_eval_set

MODEL = "banking77"


def _rows(n: int) -> pd.DataFrame:
    texts = demo_eval_set(MODEL)["text"].tolist()
    k = len(texts)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "text": [
                texts[i % k] if i < k else f"{texts[i % k]} (case {i // k})" for i in range(n)
            ],
        }
    )


def _run(args: list[str]) -> float:
    """Wall seconds of one command (its stderr kept quiet)."""
    started = time.perf_counter()
    with (
        contextlib.redirect_stderr(io.StringIO()) as err,
        contextlib.redirect_stdout(io.StringIO()),
    ):
        status = main(args)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"command failed ({status}): {' '.join(args)}\n{err.getvalue()}")
    return seconds


def _scores(paths: list[Path]) -> pd.DataFrame:
    frame = pd.concat([pq.read_table(p).to_pandas() for p in paths], ignore_index=True)
    return frame.sort_values("id").reset_index(drop=True)


def bench(n: int, chunk: int, sizes: list[int], root: Path) -> None:
    frame = _rows(n)
    folder = root / f"rows{n}"
    folder.mkdir()
    whole = folder / "all.csv"
    frame.to_csv(whole, index=False)
    half = n // 2
    frame.iloc[:half].to_csv(folder / "part-0.csv", index=False)
    frame.iloc[half:].to_csv(folder / "part-1.csv", index=False)
    common = ["--model", MODEL, "--text-column", "text"]

    ref_path = folder / "ref.parquet"
    t_ref = _run(["score", str(whole), *common, "--out", str(ref_path), "--chunk-rows", str(chunk)])
    ref = _scores([ref_path])
    labels = [c for c in ref.columns if c not in ("id", "text")]
    print(f"\n{n:,} rows ({MODEL}, {len(labels)} labels)")
    print(
        f"  in-process score, chunk {chunk:>5}: {t_ref:6.1f} s  {n / t_ref:7.0f} rows/s  (baseline)"
    )
    for size in [chunk, *[s for s in sizes if s != chunk]]:
        out = folder / f"beam{size}"
        out.mkdir()
        t_beam = _run(
            [
                "score",
                str(folder / "part-*.csv"),
                *common,
                "--out",
                str(out) + "/",
                "--chunk-rows",
                str(size),
                "--runner",
                "direct",
            ]
        )
        got = _scores(sorted(out.glob("scores-*.parquet")))
        diff = float(np.abs(got[labels].to_numpy() - ref[labels].to_numpy()).max())
        same = np.array_equal(
            got[labels].to_numpy().view(np.uint32), ref[labels].to_numpy().view(np.uint32)
        )
        aligned = (half % chunk == 0) and size == chunk
        print(
            f"  Beam direct x2,     chunk {size:>5}: {t_beam:6.1f} s  {n / t_beam:7.0f} rows/s  "
            f"ratio {t_ref / t_beam:4.2f}x  max |diff| {diff:.1e}"
            + ("  bit-identical" if same else "")
            + ("  (same chunks as in-process)" if aligned else "")
        )
        if aligned and not same:
            raise SystemExit("Beam scores differ from the in-process scores with the same chunks")


def bench_chunk_sizes(sizes: list[int], n: int) -> None:
    """Rows/s of the handler's scoring step alone (model loaded once) per chunk size."""
    from cls_core.modelio.registry import load_model
    from cls_core.pipelines.model_handler import RegistryModelHandler

    model = load_model(MODEL)
    handler = RegistryModelHandler(MODEL, text_column="text", labels=model.labels)
    frame = _rows(n)
    handler.run_inference(
        [frame.iloc[:256]], model
    )  # warm-up: first call traces nothing, but pages in
    print(f"\nscoring step alone (RegistryModelHandler.run_inference, {n:,} rows, best of 2)")
    for size in sizes:
        chunks = [frame.iloc[i : i + size] for i in range(0, n, size)]
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            for chunk in chunks:
                handler.run_inference([chunk], model)
            best = min(best, time.perf_counter() - started)
        print(f"  chunk {size:>5} rows per signature call: {n / best:7.0f} rows/s")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--chunk", type=int, default=1000, help="chunk of the compared runs")
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[], help="more chunk sizes for the Beam runs"
    )
    parser.add_argument(
        "--step-sizes",
        type=int,
        nargs="*",
        default=[64, 256, 1024, 2048, 4096],
        help="chunk sizes for the scoring step alone (no pipeline)",
    )
    args = parser.parse_args()
    if args.step_sizes:
        bench_chunk_sizes(args.step_sizes, 20_000)
    with tempfile.TemporaryDirectory(prefix="bench-beam-score-") as tmp:
        for n in args.rows:
            bench(n, args.chunk, args.sizes if n == max(args.rows) else [], Path(tmp))


if __name__ == "__main__":
    cli()
