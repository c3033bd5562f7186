"""``score``: stream a text file through a model, chunk by chunk.

``cls-explorer score --model NAME INPUT --text-column COL --out scores.parquet`` writes one
float32 column per label (plus the input's other columns); progress goes to stderr; memory
stays bounded. INPUT may be ``-`` (standard input) or a pipe; it is read once.

The output is written to a unique temporary file beside ``--out`` and renamed over it only
when every row is scored: a failure, Ctrl-C or SIGTERM leaves no partial file and the
previous ``--out`` intact.

Bad input raises :class:`~cls_core.errors.CliError`: exit status 2, one ``error: ...`` line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cls_core.cli._files import (
    STDIN,
    check_not_input,
    check_writable,
    input_name,
    same_file,
    streamable_input,
)
from cls_core.cli._signals import checkpoint
from cls_core.errors import CliError
from cls_core.paths import atomic_output
from cls_core.preview import preview, preview_list

__all__ = ["add_parser", "run_score"]


def add_parser(subparsers: Any) -> None:
    """Add the ``score`` subcommand to ``subparsers``."""
    score = subparsers.add_parser(
        "score",
        help="score a labelled text file with a model (streaming)",
        description="Score every text of INPUT with a model; write one float column per label "
        "plus the input's other columns.",
    )
    score.add_argument(
        "input",
        metavar="INPUT",
        help=f"CSV, TSV, JSONL or Parquet file; {STDIN} reads standard input; with --runner: "
        "a path or a glob of shards ('texts/part-*.csv', gs://...)",
    )
    score.add_argument("--model", required=True, help="model name (a directory under models/)")
    score.add_argument("--text-column", required=True, help="the column holding the texts")
    score.add_argument(
        "--out",
        required=True,
        help="output file (.parquet or .csv); with --runner: a directory or shard prefix "
        "(writes PREFIX-SSSSS-of-NNNNN.parquet)",
    )
    score.add_argument("--chunk-rows", type=int, default=2048, help="rows per chunk (default 2048)")
    score.add_argument(
        "--logits", action="store_true", help="write logits instead of scores (probabilities)"
    )
    score.add_argument(
        "--runner",
        choices=("direct", "dataflow", "flink", "spark"),
        help="run as an Apache Beam pipeline on this runner (INPUT may be a glob of shards; "
        "direct = local worker processes); without it, scoring runs in this process",
    )
    score.add_argument(
        "--beam-option",
        action="append",
        default=[],
        metavar="FLAG",
        help="a Beam pipeline flag for --runner, repeatable (e.g. --beam-option=--project=p "
        "--beam-option=--region=europe-west1 --beam-option=--temp_location=gs://b/tmp)",
    )
    score.set_defaults(func=run_score)


def run_score(args: argparse.Namespace) -> int:
    """The ``score`` command: stream INPUT through the model, chunk by chunk."""
    if args.chunk_rows < 1:
        raise CliError(f"--chunk-rows must be >= 1; got {args.chunk_rows}")
    if getattr(args, "runner", None) is not None:
        return _score_beam(args)
    if getattr(args, "beam_option", None):
        raise CliError("--beam-option needs --runner (direct, dataflow, flink or spark)")
    out = Path(args.out)
    out_format = out.suffix.lower()
    if out_format not in (".parquet", ".csv"):
        raise CliError(f"--out must end in .parquet or .csv; got {str(out)!r}")
    check_writable(out)
    check_not_input(out, args.input)
    with streamable_input(args.input) as path:
        return _score(args, path, out)


def _score(args: argparse.Namespace, path: str, out: Path) -> int:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cls_core.evaluation.evaldata import EvalDataError, iter_table_chunks

    out_format = out.suffix.lower()
    name = input_name(args.input)  # messages name "<stdin>", not "-"
    try:
        _, total, chunks = iter_table_chunks(path, chunk_rows=args.chunk_rows, name=name)
        first = next(chunks, None)
    except EvalDataError as exc:
        raise CliError(str(exc)) from None
    if first is None or first.shape[0] == 0:
        raise CliError(f"file {name!r} has no data rows")
    if args.text_column not in first.columns:
        raise CliError(
            f"file {name!r} has no text column {preview(args.text_column)}; "
            f"columns are [{preview_list(first.columns)}]"
        )

    from cls_core.errors import ModelLoadError
    from cls_core.modelio.registry import load_model  # imports TensorFlow: only now, input checked

    try:
        model = load_model(args.model)
    except ModelLoadError as exc:
        raise CliError(str(exc)) from None
    labels = [str(x) for x in model.labels]
    clash = [c for c in first.columns if c in labels]
    if clash:
        raise CliError(f"input columns {clash[:10]} have the same names as the model's labels")

    writer: Any = None
    done = 0
    empty_texts = 0
    started = time.monotonic()
    last_report = 0.0
    reported = 0
    metadata = {
        b"cls_core.labels": json.dumps(labels).encode(),
        b"cls_core.model": str(args.model).encode(),
    }
    card = getattr(model, "card", None)  # (test doubles of a model may have no card)
    if card is not None and card.binary:  # `tune` then chooses the binary rule's threshold
        metadata[b"cls_core.binary"] = b"1"

    def all_chunks() -> Any:
        yield first
        yield from chunks

    try:
        # A unique temporary file renamed over --out at the end: never a half file, never
        # an input, and two runs on one --out do not share it (the last one wins whole).
        with atomic_output(out) as tmp:
            try:
                for chunk in all_chunks():
                    checkpoint()  # a SIGTERM whose exception something swallowed
                    texts = [
                        "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                        for v in chunk[args.text_column].tolist()
                    ]
                    empty_texts += sum(1 for t in texts if not t.strip())
                    prediction = model.predict(texts)
                    values = np.asarray(
                        prediction.logits if args.logits else prediction.scores, dtype=np.float32
                    )
                    if values.shape != (len(texts), len(labels)):
                        raise CliError(
                            f"model {args.model!r} returned shape {values.shape} for {len(texts)} texts"
                        )
                    result = chunk.reset_index(drop=True).copy()
                    for j, label in enumerate(labels):
                        result[label] = values[:, j]
                    if out_format == ".parquet":
                        table = pa.Table.from_pandas(result, preserve_index=False)
                        if writer is None:
                            schema = table.schema.with_metadata(
                                {**(table.schema.metadata or {}), **metadata}
                            )
                            writer = pq.ParquetWriter(tmp, schema)
                        try:
                            table = table.cast(writer.schema)
                        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
                            raise CliError(
                                f"column types change between chunks of {name!r}: {exc}"
                            ) from None
                        writer.write_table(table)
                    else:
                        result.to_csv(tmp, mode="a" if done else "w", header=not done, index=False)
                    done += len(texts)
                    now = time.monotonic()
                    if now - last_report >= 1.0:
                        last_report, reported = now, done
                        _progress(done, total, started)
            except BaseException:
                if writer is not None:
                    with contextlib.suppress(Exception):  # the temporary file goes away anyway
                        writer.close()
                raise
            checkpoint()
            if writer is not None:
                writer.close()
            if done == 0:
                raise CliError(f"file {name!r} has no data rows")
    except EvalDataError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:  # a full disk, a file size limit: --out is left as it was
        raise CliError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    if reported != done:
        _progress(done, total, started)
    if empty_texts:
        print(f"warning: {empty_texts} rows had empty text (scored as '')", file=sys.stderr)
    print(f"wrote {out}: {done} rows x {len(labels)} labels", file=sys.stderr)
    return 0


def _score_beam(args: argparse.Namespace) -> int:
    """``score --runner``: the same scoring as an Apache Beam pipeline (Parquet shards out).

    Beam is imported only here. The input (a path or a glob of shards), the text column,
    the model and the options are all checked before the pipeline starts.
    """
    if args.input == STDIN:
        raise CliError("--runner reads files: give INPUT as a path or a glob of shards, not '-'")
    from cls_core.cli import quiet_tensorflow

    quiet_tensorflow()  # the worker processes inherit the environment
    from cls_core.pipelines import quiet_beam_logging

    quiet_beam_logging()  # before Beam is imported
    from cls_core.errors import ModelLoadError
    from cls_core.modelio.registry import list_models, load_model
    from cls_core.pipelines.io import PipelineInputError, inspect_inputs
    from cls_core.pipelines.options import RunnerOptionError, pipeline_options
    from cls_core.pipelines.score import output_prefix, run_score_pipeline

    try:
        pipeline_options(args.runner, args.beam_option)
        prefix = output_prefix(args.out)
        layout = inspect_inputs(args.input)
    except (PipelineInputError, RunnerOptionError) as exc:
        raise CliError(str(exc)) from None
    _check_no_input_is_a_shard(prefix, layout.files)
    if args.text_column not in layout.columns:
        raise CliError(
            f"file {preview(args.input, limit=200)} has no text column {preview(args.text_column)}; "
            f"columns are [{preview_list(layout.columns)}]"
        )
    # The registry's checks before any worker starts. A model with a valid card is listed
    # without TensorFlow (each worker loads it with load_model); any other name goes
    # through load_model here, for its message (unknown, broken) or its inferred card.
    card = list_models().get(args.model)
    if card is None:
        try:
            card = load_model(args.model).card
        except ModelLoadError as exc:
            raise CliError(str(exc)) from None
    labels = [str(x) for x in card.labels]
    extra = {b"cls_core.binary": b"1"} if getattr(card, "binary", False) else {}
    try:
        run = run_score_pipeline(
            layout,
            model_name=args.model,
            labels=labels,
            text_column=args.text_column,
            out=args.out,
            runner=args.runner,
            beam_options=args.beam_option,
            logits=args.logits,
            chunk_rows=args.chunk_rows,
            extra_metadata=extra,
        )
    except (PipelineInputError, RunnerOptionError) as exc:
        raise CliError(str(exc)) from None
    except RuntimeError as exc:
        raise CliError(f"the {args.runner} pipeline failed: {exc}") from None
    rate = run.rows / max(run.seconds, 1e-9)
    if run.empty_texts:
        print(f"warning: {run.empty_texts} rows had empty text (scored as '')", file=sys.stderr)
    shown = run.files[0] if len(run.files) == 1 else f"{len(run.files)} shards"
    print(
        f"wrote {shown}: {run.rows} rows x {len(labels)} labels "
        f"({args.runner} runner, {run.seconds:.1f} s, {rate:.0f} rows/s)",
        file=sys.stderr,
    )
    for path in run.files:
        print(path)
    return 0


def _check_no_input_is_a_shard(prefix: str, inputs: Sequence[str]) -> None:
    """Refuse a local run whose input is one of ``--out``'s existing shards.

    The pipeline replaces (and removes stale) ``PREFIX-SSSSS-of-NNNNN.parquet`` files at the
    end; an input that is one of them under another spelling (``./``, ``..``, a symlink, a
    hard link) would be overwritten or deleted. Compared by resolved path and device + inode.
    """
    if "://" in prefix:
        return
    import glob
    import re

    shard = re.compile(r"-\d{5}-of-\d{5}\.parquet$")
    real = os.path.realpath(prefix)
    existing = [
        p for p in glob.glob(glob.escape(real) + "-*.parquet") if shard.fullmatch(p[len(real) :])
    ]
    for path in inputs:
        clash = next((o for o in existing if "://" not in path and same_file(o, path)), None)
        if clash is not None:
            raise CliError(
                f"--out {preview(prefix, limit=200)} would overwrite the input shard "
                f"{preview(path, limit=200)} (it is {preview(clash, limit=200)}); write to "
                "another prefix"
            )


def _progress(done: int, total: int | None, started: float) -> None:
    share = f"/{total} rows ({100 * done / total:.1f}%)" if total else " rows"
    rate = done / max(time.monotonic() - started, 1e-9)
    print(f"scored {done}{share}, {rate:.0f} rows/s", file=sys.stderr)
