"""The scoring pipeline: texts in (a file or a glob of shards), Parquet shards of scores out.

The output has the columns of the in-process ``cls-explorer score``: the input's columns,
then one float32 column per label (scores, or logits with ``logits=True``), and the same
Parquet schema metadata (``cls_core.labels``: the labels as JSON, ``cls_core.model``: the
model name, and pandas' own). Column types are fixed as the in-process command fixes them,
from the first chunk of the (first) input file; rows of later chunks are cast to them.

Each shard is read in chunks of ``chunk_rows`` consecutive rows and each chunk is scored in
one signature call, as in process, so every score is bit-identical to the in-process
output for the same file and chunk size (see :mod:`cls_core.pipelines.model_handler`). The
order of rows across output shards is the runner's: join on an id column, not on position.

Shards are named ``PREFIX-SSSSS-of-NNNNN.parquet``. Beam writes them to a temporary
directory and renames them when every bundle is done; then shards of an earlier run under
the same prefix (another shard count) are removed, so ``PREFIX-*.parquet`` is this run only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
import pandas as pd
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import RunInference

from cls_core.pipelines.io import (
    CHUNK_ROWS,
    InputLayout,
    PipelineInputError,
    read_batches,
    sample_frame,
)
from cls_core.pipelines.model_handler import METRICS_NAMESPACE, RegistryModelHandler
from cls_core.pipelines.options import pipeline_options
from cls_core.preview import preview

__all__ = [
    "SHARD_SUFFIX",
    "ScoreRun",
    "build_score_pipeline",
    "output_prefix",
    "pipeline_failure",
    "run_score_pipeline",
    "score_schema",
]

#: Ending of every output shard.
SHARD_SUFFIX = ".parquet"
_SHARD_RE = re.compile(r"-\d{5}-of-\d{5}\.parquet$")


@dataclass(frozen=True, kw_only=True)
class ScoreRun:
    """What a scoring run wrote.

    Attributes
    ----------
    files : tuple of str
        The output shards, sorted.
    rows : int
        Rows scored (from the handler's counter).
    empty_texts : int
        Rows whose text was empty or blank (scored as ``""``).
    seconds : float
        Wall time of the pipeline run (construction checks excluded).
    """

    files: tuple[str, ...]
    rows: int
    empty_texts: int
    seconds: float


def output_prefix(out: str) -> str:
    """The shard prefix ``--out`` means: a directory (existing, or ending in ``/``) gets
    ``DIR/scores``; a name ending in ``.parquet`` loses the extension; anything else is the
    prefix itself.

    Raises
    ------
    PipelineInputError
        An empty ``out``; a ``.csv`` name (the pipeline writes Parquet shards); a local
        directory that does not exist.
    """
    if not out or not out.strip():
        raise PipelineInputError("--out must be an output directory or shard prefix; got ''")
    if out.lower().endswith(".csv"):
        raise PipelineInputError(
            f"--out {preview(out, limit=200)} names a CSV file; with --runner the scores are written as "
            "Parquet shards: give a directory or a prefix (e.g. out/scores)"
        )
    remote = "://" in out
    if out.endswith("/") or (not remote and os.path.isdir(out)):
        prefix = out.rstrip("/") + "/scores"
    elif out.lower().endswith(SHARD_SUFFIX):
        prefix = out[: -len(SHARD_SUFFIX)]
    else:
        prefix = out
    if not remote:
        parent = os.path.dirname(prefix) or "."
        if not os.path.isdir(parent):
            raise PipelineInputError(f"--out directory {preview(parent, limit=200)} does not exist")
    return prefix


def score_schema(
    sample: pd.DataFrame,
    labels: Sequence[str],
    *,
    model_name: str,
    extra_metadata: Mapping[bytes, bytes] | None = None,
) -> Any:
    """The Arrow schema of the output: as the in-process ``score`` derives it.

    ``sample`` is the first chunk of the input; the label columns (float32) are appended,
    the schema taken with ``pyarrow.Table.from_pandas(..., preserve_index=False)`` and the
    metadata ``cls_core.labels`` / ``cls_core.model`` (and ``extra_metadata``) added.
    """
    import numpy as np
    import pyarrow as pa

    frame = sample.reset_index(drop=True).copy()
    for label in labels:
        frame[label] = np.zeros(len(frame), dtype=np.float32)
    schema = pa.Table.from_pandas(frame, preserve_index=False).schema
    metadata = {
        b"cls_core.labels": json.dumps([str(x) for x in labels]).encode(),
        b"cls_core.model": str(model_name).encode(),
        **(extra_metadata or {}),
    }
    return schema.with_metadata({**(schema.metadata or {}), **metadata})


class _ToArrow(beam.DoFn):
    """A scored DataFrame chunk → an Arrow table of the output schema (cast as in process)."""

    def __init__(self, schema: Any) -> None:
        self._schema = schema

    def process(self, frame: pd.DataFrame) -> Iterator[Any]:
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        try:
            table = table.cast(self._schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
            raise PipelineInputError(f"column types change between chunks: {exc}") from None
        yield table


def build_score_pipeline(
    pipeline: Any,
    layout: InputLayout,
    *,
    model_name: str,
    labels: Sequence[str],
    text_column: str,
    prefix: str,
    logits: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    roots: Sequence[str] | None = None,
    extra_metadata: Mapping[bytes, bytes] | None = None,
) -> Any:
    """Add read → score → write to ``pipeline``; returns the write's result.

    Raises
    ------
    PipelineInputError
        ``text_column`` is not a column of the input; an input column has a label's name;
        the first shard cannot be read.
    """
    from apache_beam.io.parquetio import WriteToParquetBatched

    if text_column not in layout.columns:
        raise PipelineInputError(
            f"the input has no text column {preview(text_column)}; columns are "
            f"[{', '.join(preview(c) for c in layout.columns[:20])}]"
        )
    clash = [c for c in layout.columns if c in set(labels)]
    if clash:
        raise PipelineInputError(
            f"input columns {clash[:10]} have the same names as the model's labels"
        )
    schema = score_schema(
        sample_frame(layout, rows=chunk_rows),
        labels,
        model_name=model_name,
        extra_metadata=extra_metadata,
    )
    handler = RegistryModelHandler(
        model_name, text_column=text_column, labels=labels, logits=logits, roots=roots
    )
    return (
        read_batches(pipeline, layout, chunk_rows=chunk_rows)
        | "Score" >> RunInference(handler)
        | "ToArrow" >> beam.ParDo(_ToArrow(schema))
        | "Write" >> WriteToParquetBatched(prefix, schema=schema, file_name_suffix=SHARD_SUFFIX)
    )


def _counter(result: Any, name: str) -> int:
    try:
        found = result.metrics().query(
            MetricsFilter().with_namespace(METRICS_NAMESPACE).with_name(name)
        )["counters"]
    except Exception:  # a runner without metrics support: report 0 rather than fail
        return 0
    return int(sum(c.committed or 0 for c in found))


def _shards(prefix: str) -> list[str]:
    matched = FileSystems.match([prefix + "-*" + SHARD_SUFFIX])[0].metadata_list
    return sorted(m.path for m in matched if _SHARD_RE.search(m.path[len(prefix) :]))


@contextlib.contextmanager
def _worker_output(runner: str) -> Iterator[Path | None]:
    """Local workers' stdout/stderr go to a log file while the pipeline runs (direct only).

    The direct runner's worker processes inherit this process's stderr and log their start
    and end at INFO before they read the options; the command's own stderr stays readable.
    The log is kept (and named in the error) when the run fails.
    """
    if runner != "direct":
        yield None
        return
    fd, name = tempfile.mkstemp(prefix="cls-explorer-beam-", suffix=".log")
    saved = os.dup(2)
    try:
        os.dup2(fd, 2)
        yield Path(name)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)


def pipeline_failure(exc: BaseException) -> str:
    """One line saying why a pipeline failed: the innermost ``XError: message`` of ``exc``."""
    text = str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    found = [ln for ln in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit): ", ln)]
    line = found[-1] if found else (lines[-1] if lines else type(exc).__name__)
    line = re.sub(r"^[\w.]*\.(\w+(Error|Exception): )", r"\1", line)
    # our own errors carry complete messages: drop the class name
    line = re.sub(r"^(PipelineInputError|ScoringError|ModelLoadError): ", "", line)
    line = re.sub(r"\s*\[while running '[^']*'\]$", "", line)
    return line[:500]


def run_score_pipeline(
    layout: InputLayout,
    *,
    model_name: str,
    labels: Sequence[str],
    text_column: str,
    out: str,
    runner: str = "direct",
    beam_options: Sequence[str] = (),
    logits: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    roots: Sequence[str] | None = None,
    extra_metadata: Mapping[bytes, bytes] | None = None,
) -> ScoreRun:
    """Build and run the scoring pipeline; wait for it; return what it wrote.

    Parameters
    ----------
    layout : InputLayout
        The checked input (:func:`cls_core.pipelines.io.inspect_inputs`).
    model_name, labels : str, sequence of str
        A model the registry resolves and its labels (output columns).
    text_column : str
    out : str
        Output directory or shard prefix (see :func:`output_prefix`).
    runner : {"direct", "dataflow", "flink", "spark"}
    beam_options : sequence of str
        Extra Beam flags (see :func:`cls_core.pipelines.options.pipeline_options`).
    logits : bool
    chunk_rows : int
        Rows per chunk, i.e. per signature call.
    roots : sequence of str, optional
        Model roots (default: the workers' :func:`cls_core.paths.model_roots`).
    extra_metadata : mapping of bytes to bytes, optional
        More Parquet schema metadata (e.g. ``cls_core.binary``).

    Raises
    ------
    PipelineInputError, RunnerOptionError
        Found before the pipeline runs.
    RuntimeError
        The pipeline failed while running (the message of :func:`pipeline_failure` says
        why; with the direct runner the workers' log is named).
    """
    if chunk_rows < 1:
        raise PipelineInputError(f"--chunk-rows must be >= 1; got {chunk_rows}")
    prefix = output_prefix(out)
    written = set(_shards(prefix))
    clash = sorted(set(layout.files) & written)
    if clash:
        raise PipelineInputError(
            f"--out {preview(out, limit=200)} would overwrite the input shard "
            f"{preview(clash[0], limit=200)}; "
            "write to another prefix"
        )
    options = pipeline_options(runner, beam_options)
    pipeline = beam.Pipeline(options=options)
    build_score_pipeline(
        pipeline,
        layout,
        model_name=model_name,
        labels=labels,
        text_column=text_column,
        prefix=prefix,
        logits=logits,
        chunk_rows=chunk_rows,
        roots=roots,
        extra_metadata=extra_metadata,
    )
    temp_dirs = set(_temp_dirs(prefix))
    started = time.monotonic()
    failed = True
    with _worker_output(runner) as log:
        try:
            result = pipeline.run()
            result.wait_until_finish()
            failed = False
        except BaseException as exc:  # a failure, Ctrl-C or SIGTERM: no temporary shards left
            leftover = [d for d in _temp_dirs(prefix) if d not in temp_dirs]
            with contextlib.suppress(Exception):
                FileSystems.delete(leftover)
            if not isinstance(exc, Exception):
                failed = False  # interrupted, not failed: the log holds nothing to read
                raise
            where = f" (worker log: {log})" if log is not None else ""
            raise RuntimeError(f"{pipeline_failure(exc)}{where}") from exc
        finally:
            if log is not None and not failed:
                log.unlink(missing_ok=True)
    seconds = time.monotonic() - started
    files = _shards(prefix)
    fresh = _fresh_shards(files)
    stale = [f for f in files if f not in fresh]
    if stale:
        FileSystems.delete(stale)
    return ScoreRun(
        files=tuple(fresh),
        rows=_counter(result, "rows"),
        empty_texts=_counter(result, "empty_texts"),
        seconds=seconds,
    )


def _temp_dirs(prefix: str) -> list[str]:
    """Beam file sinks' temporary directories beside a local ``prefix`` (``beam-temp-NAME-*``).

    Remote filesystems have no directories to leave behind that a glob of ``PREFIX-*``
    would see; only local ones are listed.
    """
    if "://" in prefix:
        return []
    import glob

    directory, name = os.path.split(prefix)
    return sorted(
        glob.glob(os.path.join(glob.escape(directory or "."), f"beam-temp-{glob.escape(name)}-*"))
    )


def _fresh_shards(files: Sequence[str]) -> list[str]:
    """The shards of the newest run: those whose ``of-NNNNN`` count is the newest file's."""
    if not files:
        return []
    newest = max(files, key=lambda f: FileSystems.last_updated(f))
    count = re.search(r"-of-(\d{5})\.parquet$", newest)
    assert count is not None
    return [f for f in files if f.endswith(f"-of-{count.group(1)}{SHARD_SUFFIX}")]
