"""``tune --runner``: choose thresholds on scores files of any size as a Beam pipeline.

The pipeline reads the shards (:func:`cls_core.pipelines.io.read_batches`' work items,
with each chunk's position kept), parses each chunk the way the in-process reader does
(score cells to numbers, logits to probabilities, the truth column to class ids or an
indicator), and merges one :class:`~cls_core.pipelines.histogram.ScoreHistogram` over
all rows with ``beam.CombineGlobally``. The driver then feeds the histogram's curves to
the in-process optimisers (:func:`~cls_core.evaluation.thresholds.choose_thresholds_from_curves`,
:func:`~cls_core.evaluation.thresholds.choose_reject_threshold`) and metrics
(:func:`~cls_core.evaluation.metrics.metrics_from_counts`), so thresholds.json holds the
same thresholds and metrics as the in-process ``tune`` on the same rows, to the last bit.

What the in-process reader decides from the whole file, the pipeline decides from the
first chunk of the first shard (:func:`plan_tune`) and then *checks* on every row, failing
with a clear message instead of silently differing: the label columns (or the Parquet
metadata written by ``score``), the task (unless ``--task``), and the score kind (unless
``--scores-are``: a probability outside [0, 1] after a first chunk of probabilities stops
the run and says to pass ``--scores-are logits``).

Problems inside the pipeline (a bad score cell, an unknown label) travel as data to the
driver, which reports the first one in file order; they never surface as a worker
traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import apache_beam as beam
import numpy as np
import numpy.typing as npt
import pandas as pd
from apache_beam.io.filesystems import FileSystems

from cls_core.evaluation.evaldata import (
    EvalDataError,
    _check_score_dtype,
    _score_columns,
    infer_score_kind,
    parse_stored_labels,
    parse_truth,
)
from cls_core.evaluation.metrics import MetricsAt, metrics_from_counts
from cls_core.evaluation.thresholds import (
    BootstrapIntervals,
    Objective,
    RejectChoice,
    ThresholdSelection,
    TuneResult,
    choose_reject_threshold,
    choose_thresholds_from_curves,
    few_positive_warnings,
    parse_objective,
    selection_warnings,
    thresholds_file,
)
from cls_core.paths import atomic_output
from cls_core.pipelines.bootstrap import (
    PoissonBootstrapCombineFn,
    bootstrap_grid,
    intervals_from_replicates,
)
from cls_core.pipelines.histogram import (
    DEFAULT_MAX_DISTINCT,
    HistogramCombineFn,
    ScoreBatch,
    ScoreHistogram,
    bucket_relative_error,
)
from cls_core.pipelines.io import (
    CHUNK_ROWS,
    InputLayout,
    PipelineInputError,
    _chunks,
    _parquet_schema,
    inspect_inputs,
    sample_frame,
)
from cls_core.preview import preview, preview_list
from cls_core.scoring.activations import sigmoid, softmax
from cls_core.scoring.decisions import Task, validate_labels

__all__ = [
    "ChunkReport",
    "PipelineRunError",
    "PipelineTune",
    "TunePlan",
    "plan_tune",
    "run_tune_pipeline",
    "tune_from_histogram",
    "write_pipeline_thresholds",
]

#: Rows of the first shard read up front to fix the labels, task and score kind.
PLAN_ROWS = 10_000
#: Intermediate merges of the histogram combine on distributed runners (``with_fanout``):
#: the partial histograms of many workers are first merged in this many groups, so the
#: final merge reads this many accumulators, not one per worker bundle. None on the
#: direct runner (two local workers: an extra stage for nothing).
DISTRIBUTED_FANOUT = 16
ScoreKind = Literal["probabilities", "logits"]


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True, kw_only=True)
class TunePlan:
    """What every worker needs to parse a chunk exactly as the in-process reader would.

    Attributes
    ----------
    labels : tuple of str
        Score columns, class order.
    truth_column : str
    task : "multi-class" or "multi-label"
    score_kind : "probabilities" or "logits"
    kind_given : bool
        The user chose the score kind (else it was inferred from the first chunk).
    task_given : bool
    reading : str
        How whole-number truth was read in the first chunk ("" when it held none).
    drop_unknown, drop_invalid : bool
    model : str or None
        The model name stored in a Parquet shard's metadata.
    """

    labels: tuple[str, ...]
    truth_column: str
    task: Task
    score_kind: ScoreKind
    kind_given: bool
    task_given: bool
    reading: str
    drop_unknown: bool
    drop_invalid: bool = False
    model: str | None = None


def _parquet_metadata(layout: InputLayout) -> dict[bytes, bytes]:
    if layout.format != "parquet":
        return {}
    return dict(_parquet_schema(layout.files[0]).metadata or {})


def plan_tune(
    layout: InputLayout,
    *,
    truth_column: str = "label",
    task: Task | None = None,
    scores_are: Literal["auto", "probabilities", "logits"] = "auto",
    drop_unknown: bool = False,
) -> TunePlan:
    """Fix labels, task and score kind from the first :data:`PLAN_ROWS` rows of the first shard.

    Raises
    ------
    PipelineInputError
        No truth column, no score columns, bad stored labels, an unreadable first shard.
    """
    if truth_column not in layout.columns:
        raise PipelineInputError(
            f"the input has no truth column {preview(truth_column)}; columns are "
            f"[{preview_list(layout.columns)}]"
        )
    frame = sample_frame(layout, rows=PLAN_ROWS)
    meta = _parquet_metadata(layout)
    stored = meta.get(b"cls_core.labels")
    if stored is not None:
        where = f"shard {preview(layout.files[0])}"
        try:  # the in-process reader's check, then the rules every label list follows
            columns = list(validate_labels(parse_stored_labels(stored, where=where)))
        except EvalDataError as exc:
            raise PipelineInputError(str(exc)) from None
        except (ValueError, TypeError) as exc:
            raise PipelineInputError(
                f"{where}: its Parquet metadata key 'cls_core.labels' is not a list of unique "
                f"label names ({preview(str(exc), limit=120)})"
            ) from None
    else:
        columns = _score_columns(frame, truth_column, ())
    if not columns:
        raise PipelineInputError(
            f"input {preview(layout.files[0])} has no score columns (one numeric column per label)"
        )
    missing = [c for c in columns if c not in layout.columns]
    if missing:
        raise PipelineInputError(
            f"input {preview(layout.files[0])} lacks score columns for labels [{preview_list(missing)}]"
        )
    labels = validate_labels(columns)
    try:
        truth = parse_truth(frame[truth_column], labels, task=task)
    except EvalDataError as exc:
        raise PipelineInputError(str(exc)) from None
    kind: ScoreKind
    if scores_are == "auto":
        values = frame[list(labels)].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
        finite = values[np.isfinite(values)]
        kind = infer_score_kind(finite) if finite.size else "probabilities"
    else:
        kind = scores_are
    model_raw = meta.get(b"cls_core.model")
    return TunePlan(
        labels=labels,
        truth_column=truth_column,
        task=truth.task,
        score_kind=kind,
        kind_given=scores_are != "auto",
        task_given=task is not None,
        reading=truth.reading,
        drop_unknown=drop_unknown,
        model=model_raw.decode("utf-8", errors="replace") if model_raw else None,
    )


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True, kw_only=True)
class ChunkReport:
    """What one chunk (or, merged, the whole input) held: rows read, kept, dropped, problems.

    ``problem``: the first problem in file order as ``(shard, row, message)`` (row 1-based
    within the shard's work item), or None.
    """

    n_rows: int = 0
    n_kept: int = 0
    dropped: tuple[tuple[str, int], ...] = ()
    problem: tuple[str, int, str] | None = None
    unknown_labels: tuple[str, ...] = ()


def _merge_reports(reports: Iterable[ChunkReport]) -> ChunkReport:
    n_rows = n_kept = 0
    dropped: dict[str, int] = {}
    problem: tuple[str, int, str] | None = None
    unknown: set[str] = set()
    for r in reports:
        n_rows += r.n_rows
        n_kept += r.n_kept
        for reason, count in r.dropped:
            dropped[reason] = dropped.get(reason, 0) + count
        if r.problem is not None and (problem is None or r.problem[:2] < problem[:2]):
            problem = r.problem
        unknown.update(r.unknown_labels)
    return ChunkReport(
        n_rows=n_rows,
        n_kept=n_kept,
        dropped=tuple(sorted(dropped.items())),
        problem=problem,
        unknown_labels=tuple(sorted(unknown)[:50]),
    )


def _reading_kind(reading: str) -> str:
    """How whole-number truth was read ("names" or "ids"), without the example in the text."""
    return "names" if "read as label names" in reading else "ids"


def parse_chunk(
    frame: pd.DataFrame, plan: TunePlan, *, shard: str = "", first_row: int = 1
) -> tuple[ScoreBatch | None, ChunkReport]:
    """One chunk of a scores file → probabilities and truth, as :func:`load_scores` reads them.

    Parameters
    ----------
    frame : DataFrame
        Rows of the input (all its columns).
    plan : TunePlan
    shard : str
        The shard's name, for messages.
    first_row : int
        1-based row number of the chunk's first row within its shard (work item).

    Returns
    -------
    (ScoreBatch or None, ChunkReport)
        None when the chunk keeps no row or holds a problem (the report says which).
    """
    n = int(frame.shape[0])
    names = list(plan.labels)
    where = f"shard {preview(shard)}" if shard else "the input"

    def fail(row: int, message: str) -> tuple[None, ChunkReport]:
        return None, ChunkReport(n_rows=n, problem=(shard, row, message))

    block = frame[names]
    dtypes = block.dtypes.tolist()
    try:
        for column, kind in zip(names, dtypes, strict=True):
            if kind.kind not in "fiu":  # numbers need no check (the common case)
                _check_score_dtype(block[column], column, where)
    except EvalDataError as exc:
        return fail(first_row, str(exc))
    dtype = np.float64 if any(d != np.float32 for d in dtypes) else np.float32
    if all(d.kind == "f" for d in dtypes):
        # the in-process reader's per-column to_numpy(dtype), as one call
        values = block.to_numpy(dtype=dtype)
        bad_rows = ~np.isfinite(values).all(axis=1)
    else:
        values = np.empty((n, len(names)), dtype=dtype)
        bad_rows = np.zeros(n, dtype=bool)
        for j, column in enumerate(names):
            series = block[column]
            numeric = series if series.dtype.kind == "f" else pd.to_numeric(series, errors="coerce")
            arr = numeric.to_numpy(dtype=dtype, na_value=np.nan)
            bad_rows |= ~np.isfinite(arr)
            values[:, j] = arr
    dropped: dict[str, int] = {}
    if bad_rows.any():
        i = int(np.flatnonzero(bad_rows)[0])
        j = int(np.flatnonzero(~np.isfinite(values[i]))[0])
        if not plan.drop_invalid:
            return fail(
                first_row + i,
                f"{where}: {preview(block.iloc[i, j])} at row {first_row + i}, column "
                f"{preview(names[j])} ({int(bad_rows.sum())} rows of this chunk have bad "
                "scores); every score must be a finite number",
            )
        dropped["non-numeric, NaN or infinite scores"] = int(bad_rows.sum())
    try:
        truth = parse_truth(frame[plan.truth_column], plan.labels, task=plan.task)
    except EvalDataError as exc:
        hint = (
            "" if plan.task_given else " (the task was inferred from the first rows: pass --task)"
        )
        return fail(first_row, f"{where}, rows {first_row}-{first_row + n - 1}: {exc}{hint}")
    if (
        truth.reading
        and plan.reading
        and _reading_kind(truth.reading) != _reading_kind(plan.reading)
    ):
        return fail(
            first_row,
            f"{where}, rows {first_row}-{first_row + n - 1}: whole-number truth reads "
            f"differently here ({truth.reading}) than in the first rows ({plan.reading}); "
            "write the truth as label names",
        )
    if truth.unknown.any():
        if not plan.drop_unknown:
            i = int(np.flatnonzero(truth.unknown)[0])
            return None, ChunkReport(
                n_rows=n,
                problem=(
                    shard,
                    first_row + i,
                    f"{where}: {int(truth.unknown.sum())} rows from row {first_row + i} have truth "
                    f"labels that are not score columns: {preview_list(truth.unknown_labels)} "
                    "(use --drop-unknown to drop those rows)",
                ),
                unknown_labels=truth.unknown_labels,
            )
        dropped["unknown truth labels"] = int((truth.unknown & ~bad_rows).sum())
    if truth.missing.any():
        if not plan.drop_invalid:
            i = int(np.flatnonzero(truth.missing)[0])
            hint = (
                ""
                if plan.task_given
                else " (the task was inferred from the first rows: pass --task)"
            )
            return fail(
                first_row + i,
                f"{where}: empty truth in column {preview(plan.truth_column)} at row "
                f"{first_row + i} for a multi-class task{hint}",
            )
        dropped["empty truth"] = int((truth.missing & ~bad_rows & ~truth.unknown).sum())
    keep = ~(bad_rows | truth.unknown | truth.missing)
    kept = np.flatnonzero(keep)
    raw = values[kept]
    if plan.score_kind == "logits":
        probs = softmax(raw) if plan.task == "multi-class" else sigmoid(raw)
    else:
        outside = (raw < 0) | (raw > 1)
        if outside.any():
            i, j = (int(x[0]) for x in np.nonzero(outside))
            hint = (
                ""
                if plan.kind_given
                else " (the first rows were all in [0, 1], so probabilities were assumed: "
                "pass --scores-are logits)"
            )
            return fail(
                first_row + int(kept[i]),
                f"{where}: score {float(raw[i, j])!r} at row {first_row + int(kept[i])}, column "
                f"{preview(names[j])} is outside [0, 1], so the scores cannot be "
                f"probabilities{hint}",
            )
        probs = raw
    report = ChunkReport(
        n_rows=n,
        n_kept=int(kept.size),
        dropped=tuple(sorted((k, v) for k, v in dropped.items() if v)),
        unknown_labels=truth.unknown_labels if plan.drop_unknown else (),
    )
    if kept.size == 0:
        return None, report
    t: npt.NDArray[Any]
    if plan.task == "multi-class":
        assert truth.ids is not None
        t = truth.ids[kept]
    else:
        t = truth.indicator[kept]
    return ScoreBatch(scores=probs, truth=t, shard=shard, rows=first_row + kept), report


# --------------------------------------------------------------------------- pipeline


def _shard_name(path: str) -> str:
    return PurePosixPath(path).name


class _ReadWithPositions(beam.DoFn):
    """A work item (shard, Parquet row group) → ``(shard, first row, DataFrame)`` chunks.

    Parquet shards are read for ``columns`` only (the scores and the truth: a text column
    is never decoded); text shards are parsed whole, as the in-process reader parses them.
    """

    def __init__(
        self, fmt: str, header: tuple[str, ...], chunk_rows: int, columns: tuple[str, ...]
    ) -> None:
        self._format = fmt
        self._header = header
        self._chunk_rows = chunk_rows
        self._columns = columns

    def process(self, item: tuple[str, int | None]) -> Iterator[tuple[str, int, pd.DataFrame]]:
        path, group = item
        name = _shard_name(path) if group is None else f"{_shard_name(path)}#rowgroup{group}"
        parquet = self._format == "parquet"
        expected = self._columns if parquet else self._header
        row = 1
        try:
            for chunk in _chunks(
                path,
                self._format,  # type: ignore[arg-type]
                group,
                self._chunk_rows,
                self._columns if parquet else None,
            ):
                if self._format != "jsonl" and sorted(map(str, chunk.columns)) != sorted(expected):
                    raise PipelineInputError(
                        f"shard {preview(path)} changed while the pipeline ran: its columns are "
                        f"[{preview_list(chunk.columns)}], expected [{preview_list(expected)}]"
                    )
                if chunk.shape[0]:
                    yield name, row, chunk
                    row += int(chunk.shape[0])
        except Exception as exc:  # a parser error: reported by the driver, in file order
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            yield name, -row, pd.DataFrame({"__error__": [f"shard {preview(path)}: {reason}"]})


class _Parse(beam.DoFn):
    """``(shard, row, DataFrame)`` → ScoreBatch (main output) and ChunkReport (``report``)."""

    def __init__(self, plan: TunePlan) -> None:
        self._plan = plan

    def process(self, item: tuple[str, int, pd.DataFrame]) -> Iterator[Any]:
        shard, row, frame = item
        if row < 0:
            message = str(frame["__error__"].iloc[0])
            yield beam.pvalue.TaggedOutput("report", ChunkReport(problem=(shard, -row, message)))
            return
        missing = [c for c in (*self._plan.labels, self._plan.truth_column) if c not in frame]
        if missing:
            yield beam.pvalue.TaggedOutput(
                "report",
                ChunkReport(
                    n_rows=int(frame.shape[0]),
                    problem=(
                        shard,
                        row,
                        f"shard {preview(shard)} lacks columns [{preview_list(missing)}]",
                    ),
                ),
            )
            return
        batch, report = parse_chunk(frame, self._plan, shard=shard, first_row=row)
        yield beam.pvalue.TaggedOutput("report", report)
        if batch is not None and report.problem is None:
            yield batch


class _ReportCombineFn(beam.CombineFn):
    def create_accumulator(self) -> ChunkReport:
        return ChunkReport()

    def add_input(self, accumulator: ChunkReport, element: ChunkReport) -> ChunkReport:
        return _merge_reports([accumulator, element])

    def merge_accumulators(self, accumulators: Iterable[ChunkReport]) -> ChunkReport:
        return _merge_reports(accumulators)

    def extract_output(self, accumulator: ChunkReport) -> ChunkReport:
        return accumulator


def _digest(path: str) -> tuple[str, str]:
    h = hashlib.sha256()
    with FileSystems.open(path) as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return path, h.hexdigest()


def data_digest(digests: Sequence[tuple[str, str]]) -> str:
    """thresholds.json's ``data_sha256`` for an input of one or more shards.

    One shard: the SHA-256 of its bytes (what the in-process ``tune`` writes). Several:
    the SHA-256 of the lines ``"<shard file name> <its SHA-256>"`` in path order.
    """
    if len(digests) == 1:
        return digests[0][1]
    text = "".join(f"{_shard_name(p)} {d}\n" for p, d in sorted(digests))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class PipelineTune:
    """What the pipeline computed: the merged histogram, the read report, the data digest."""

    plan: TunePlan
    histogram: ScoreHistogram = field(repr=False)
    report: ChunkReport
    data_sha256: str
    files: tuple[str, ...]
    tuned: TuneResult

    def report_lines(self) -> list[str]:
        """The in-process reader's summary lines (rows read, kept, dropped; score kind)."""
        r = self.report
        out = [f"{r.n_rows} rows read, {r.n_kept} kept ({self.plan.task})"]
        for reason, count in r.dropped:
            extra = (
                f" ({preview_list(r.unknown_labels)})" if reason == "unknown truth labels" else ""
            )
            out.append(f"dropped {count} rows: {reason}{extra}")
        if self.plan.reading:
            out.append(self.plan.reading)
        if self.plan.score_kind == "logits":
            fn = "softmax" if self.plan.task == "multi-class" else "sigmoid"
            out.append(f"scores treated as logits and turned into probabilities with {fn}")
        else:
            out.append("scores treated as probabilities")
        return out


class PipelineRunError(RuntimeError):
    """The runner failed (not the input): the message is the failure's last line."""


@contextlib.contextmanager
def _temp_root(options: Any) -> Iterator[str]:
    """Where workers leave the result for the driver: ``--temp_location``, else a local
    temporary directory (removed afterwards)."""
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    temp = options.view_as(GoogleCloudOptions).temp_location
    if temp:
        yield str(temp)
        return
    local = tempfile.mkdtemp(prefix="cls-tune-")
    try:
        yield local
    finally:
        shutil.rmtree(local, ignore_errors=True)


def _is_local(options: Any) -> bool:
    """The direct runner (Beam's ``FnApiRunner`` on this machine)."""
    from apache_beam.options.pipeline_options import StandardOptions

    return "FnApiRunner" in str(options.view_as(StandardOptions).runner or "")


@contextlib.contextmanager
def _running(options: Any) -> Iterator[None]:
    """A runner's failure as one :class:`PipelineRunError` line, never a worker traceback.

    With the local (direct) runner the worker processes inherit this process's stderr and
    log their start and end at INFO; that goes to a log file while the pipeline runs, kept
    and named in the error when the run fails.
    """
    local = _is_local(options)
    log: str | None = None
    saved = -1
    if local:
        fd, log = tempfile.mkstemp(prefix="cls-explorer-beam-", suffix=".log")
        saved = os.dup(2)
        os.dup2(fd, 2)
        os.close(fd)
    failed = True
    try:
        yield
        failed = False
    except (PipelineInputError, PipelineRunError):
        raise
    except Exception as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        last = lines[-1] if lines else type(exc).__name__
        where = f" (worker log: {log})" if log else ""
        raise PipelineRunError(
            f"the pipeline run failed ({type(exc).__name__}): "
            f"{preview(last, limit=300, quote=False)}{where}"
        ) from None
    finally:
        if local and log is not None:
            os.dup2(saved, 2)
            os.close(saved)
            if not failed:
                os.unlink(log)


def _parsed(p: Any, layout: InputLayout, plan: TunePlan, chunk_rows: int, prefix: str) -> Any:
    return (
        p
        # Create spreads two or more work items over the workers itself (its own
        # reshuffle): a second Reshuffle would only add a stage
        | f"{prefix}Shards" >> beam.Create(list(layout.work))
        | f"{prefix}Read"
        >> beam.ParDo(
            _ReadWithPositions(
                layout.format,
                layout.columns,
                chunk_rows,
                tuple(dict.fromkeys((*plan.labels, plan.truth_column))),
            )
        )
        | f"{prefix}Parse" >> beam.ParDo(_Parse(plan)).with_outputs("report", main="batches")
    )


def _write_pickle(value: Any, path: str) -> None:
    with FileSystems.create(path) as fh:
        fh.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def _read_pickle(path: str, missing: Any) -> Any:
    """What a worker wrote to ``path`` (removed after reading), or ``missing`` when nothing
    was written (a combine over no elements writes nothing)."""
    if not FileSystems.exists(path):
        return missing
    with FileSystems.open(path) as fh:
        value = pickle.loads(fh.read())  # written by this run's own workers
    with contextlib.suppress(Exception):  # a leftover temp file is harmless
        FileSystems.delete([path])
    return value


def run_tune_pipeline(
    pattern: str,
    options: Any,
    *,
    truth_column: str = "label",
    task: Task | None = None,
    scores_are: Literal["auto", "probabilities", "logits"] = "auto",
    drop_unknown: bool = False,
    max_distinct: int = DEFAULT_MAX_DISTINCT,
    objective: Objective | str = "f1",
    min_tp: int = 0,
    bootstrap: int = 0,
    seed: int = 0,
    chunk_rows: int = CHUNK_ROWS * 4,
    fanout: int | None = None,
) -> PipelineTune:
    """Run the histogram pipeline on ``pattern``, choose thresholds, and return everything.

    Parameters
    ----------
    pattern : str
        A scores file or a glob of shards (CSV, TSV, JSON lines, Parquet).
    options : PipelineOptions
        From :func:`cls_core.pipelines.options.pipeline_options`.
    truth_column, task, scores_are, drop_unknown, objective, min_tp, seed
        As the in-process ``tune``.
    max_distinct : int
        Per class, distinct scores kept exactly (see :mod:`cls_core.pipelines.histogram`).
    bootstrap : int
        Poisson bootstrap replicates (0: none); a second pass over the input
        (:mod:`cls_core.pipelines.bootstrap`).
    chunk_rows : int
        Rows per parsed chunk.
    fanout : int, optional
        Intermediate merge groups of the histogram combine (``CombineGlobally.with_fanout``);
        0 for none. Default: none on the direct runner, :data:`DISTRIBUTED_FANOUT` on the
        others.

    Raises
    ------
    PipelineInputError
        Bad inputs found before the run (see :func:`cls_core.pipelines.io.inspect_inputs`,
        :func:`plan_tune`) or during it (the first problem in file order).
    """
    obj = parse_objective(objective) if isinstance(objective, str) else objective
    layout = inspect_inputs(pattern, columns=[truth_column])
    plan = plan_tune(
        layout,
        truth_column=truth_column,
        task=task,
        scores_are=scores_are,
        drop_unknown=drop_unknown,
    )
    if not obj.per_class and plan.task != "multi-class":
        raise PipelineInputError(
            f"objective {obj} needs a multi-class task; the data is {plan.task}"
        )
    rule = "winner" if plan.task == "multi-class" else "one-vs-rest"
    if fanout is None:
        fanout = 0 if _is_local(options) else DISTRIBUTED_FANOUT
    if isinstance(fanout, bool) or not isinstance(fanout, int) or fanout < 0:
        raise ValueError(f"`fanout` must be an int >= 0 or None; got {fanout!r}")
    with _temp_root(options) as root:
        run_id = uuid.uuid4().hex
        paths = {
            part: FileSystems.join(root, f"cls-tune-{run_id}.{part}.pickle")
            for part in ("histogram", "report", "digests")
        }
        with _running(options), beam.Pipeline(options=options) as p:
            parsed = _parsed(p, layout, plan, chunk_rows, "")
            # each result is written by the worker that merges it (no side inputs, no
            # default value: nothing large travels between stages after the final merge)
            combine = beam.CombineGlobally(
                HistogramCombineFn(len(plan.labels), rule, max_distinct=max_distinct)  # type: ignore[arg-type]
            )
            if fanout > 1:
                combine = combine.with_fanout(fanout)
            _ = (
                parsed.batches
                | "Histogram" >> combine.without_defaults()
                | "WriteHistogram" >> beam.Map(_write_pickle, paths["histogram"])
            )
            _ = (
                parsed.report
                | "Report" >> beam.CombineGlobally(_ReportCombineFn()).without_defaults()
                | "WriteReport" >> beam.Map(_write_pickle, paths["report"])
            )
            _ = (
                p
                | "Files" >> beam.Create(list(layout.files))
                | "Digest" >> beam.Map(_digest)
                | "Digests" >> beam.combiners.ToList().without_defaults()
                | "WriteDigests" >> beam.Map(_write_pickle, paths["digests"])
            )
        merged: ChunkReport = _read_pickle(paths["report"], ChunkReport())
        if merged.problem is not None:
            raise PipelineInputError(merged.problem[2])
        hist: ScoreHistogram = _read_pickle(
            paths["histogram"],
            ScoreHistogram(len(plan.labels), rule, max_distinct=max_distinct),  # type: ignore[arg-type]
        )
        digests: list[tuple[str, str]] = sorted(_read_pickle(paths["digests"], []))
        if hist.n_examples == 0:
            raise PipelineInputError(
                f"input {preview(pattern)}: no rows left after dropping bad rows"
            )
        tuned = tune_from_histogram(hist, plan.labels, plan.task, obj, min_tp=min_tp)
        if bootstrap:
            grid = bootstrap_grid(hist, tuned.metrics.thresholds, n_resamples=bootstrap, seed=seed)
            boot_path = FileSystems.join(root, f"cls-tune-{uuid.uuid4().hex}.bootstrap.pickle")
            with _running(options), beam.Pipeline(options=options) as p:
                parsed = _parsed(p, layout, plan, chunk_rows, "Boot")
                _ = (
                    parsed.batches
                    | "Replicates"
                    >> beam.CombineGlobally(
                        PoissonBootstrapCombineFn(grid, len(plan.labels))
                    ).without_defaults()
                    | "WriteReplicates" >> beam.Map(_write_pickle, boot_path)
                )
            replicates = _read_pickle(boot_path, None)
            if replicates is None:  # the first pass kept rows, so the second one does too
                raise PipelineRunError("the bootstrap pass wrote no result")
            intervals = intervals_from_replicates(
                replicates,
                grid,
                obj,
                tuned.metrics,
                reject_threshold=tuned.reject_threshold,
                min_tp=min_tp,
            )
            tuned = replace(tuned, bootstrap=intervals)
    return PipelineTune(
        plan=plan,
        histogram=hist,
        report=merged,
        data_sha256=data_digest(digests),
        files=layout.files,
        tuned=tuned,
    )


def write_pipeline_thresholds(
    result: PipelineTune, out: str | Path, *, runner: str, model: str | None = None
) -> dict[str, Any]:
    """Write thresholds.json: the in-process schema plus ``pipeline`` (and ``bucketing``).

    The document equals the in-process ``tune``'s for the same rows except: ``pipeline``
    ({runner, shards}, always added), ``bucketing`` (only when a class was bucketed), the
    ``bootstrap`` block's ``method: "poisson"`` and the interval bounds (a different
    resampling scheme), and ``data_sha256`` for an input of several shards
    (:func:`data_digest`). Written whole or not at all.
    """
    tuned = result.tuned
    document = thresholds_file(
        tuned.metrics,
        objective=tuned.objective,
        data_sha256=result.data_sha256,
        model=model or result.plan.model,
        bootstrap=tuned.bootstrap,
    ).to_dict()
    if "bootstrap" in document:
        document["bootstrap"]["method"] = "poisson"
    document["pipeline"] = {"runner": runner, "shards": len(result.files)}
    bucketing = bucketing_summary(result.histogram)
    if bucketing is not None:
        document["bucketing"] = bucketing
    text = json.dumps(document, indent=2, allow_nan=False)
    with atomic_output(out) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return document


# --------------------------------------------------------------------------- finishing


def tune_from_histogram(
    histogram: ScoreHistogram,
    labels: Sequence[str],
    task: Task,
    objective: Objective,
    *,
    min_tp: int = 0,
    min_positives: int = 10,
    bootstrap: BootstrapIntervals | None = None,
) -> TuneResult:
    """:func:`cls_core.evaluation.thresholds.tune` on merged counts instead of an Evaluation.

    The same optimisers and the same metric code, fed the histogram's curves: on an exact
    histogram the result equals ``tune(evaluation, ...)`` on the same rows field by field,
    except ``metrics.samples`` / ``no_label_share`` (multi-label per-example averages, which
    per-class counts cannot give; thresholds.json does not hold them).

    A bucketed histogram (:attr:`ScoreHistogram.bucketed`) searches bucket edges: every
    reported count is exact at the reported threshold; a warning states the grid.
    """
    names = tuple(labels)
    warnings_: list[str] = list(
        few_positive_warnings(histogram.support, names, min_positives=min_positives)
    )
    levels = histogram.levels
    if any(levels):
        worst = max(levels)
        warnings_.append(
            f"more than {histogram.max_distinct:,} distinct scores in a class: thresholds "
            f"searched on a grid of {52 - worst} mantissa bits (bucketed), so a threshold can "
            f"sit up to {bucket_relative_error(worst):.2g} × its value below the exact "
            "optimum's position; counts at the chosen thresholds are exact "
            "(raise --max-distinct for an exact search)"
        )
    selection: ThresholdSelection | None = None
    reject: RejectChoice | None = None
    reject_threshold: float | None = None
    if objective.per_class:
        top = [histogram.top_score(c) for c in range(len(names))]
        selection = choose_thresholds_from_curves(
            histogram.curves(names),
            objective,
            labels=names,
            n_examples=histogram.n_examples,
            min_tp=min_tp,
            top_scores=top,
        )
        thresholds = selection.thresholds
        warnings_.extend(selection_warnings(selection, objective, min_tp=min_tp))
        effective = np.asarray(thresholds, dtype=np.float64)
    else:
        if task != "multi-class":
            raise ValueError(
                f"objective {objective} needs a multi-class evaluation; this one is {task}"
            )
        reject = choose_reject_threshold(histogram.coverage_curve(), objective)
        reject_threshold = reject.threshold
        thresholds = np.full(len(names), reject.threshold)
        effective = np.maximum(np.full(len(names), -np.inf), reject_threshold)
        if not reject.feasible:
            warnings_.append(
                f"no reject threshold reaches {objective}; took coverage {reject.coverage:.3f}, "
                f"accuracy {reject.accuracy:.3f}"
            )
    tp, predicted = histogram.counts_at(effective)
    beta = objective.beta if objective.kind == "fbeta" else 1.0
    metrics: MetricsAt = metrics_from_counts(
        task=task,
        labels=names,
        thresholds=effective.copy(),
        tp=tp,
        predicted=predicted,
        support=histogram.support.copy(),
        n_examples=histogram.n_examples,
        reject_threshold=reject_threshold,
        beta=beta,
        mean_true_labels=(
            int(histogram.support.sum()) / histogram.n_examples if task == "multi-label" else None
        ),
    )
    return TuneResult(
        objective=objective,
        thresholds=thresholds,
        reject_threshold=reject_threshold,
        selection=selection,
        reject=reject,
        metrics=metrics,
        bootstrap=bootstrap,
        warnings=tuple(warnings_),
    )


def bucketing_summary(histogram: ScoreHistogram) -> dict[str, Any] | None:
    """The ``bucketing`` block of a pipeline's thresholds.json (None when exact)."""
    levels = histogram.levels
    if not any(levels):
        return None
    worst = max(levels)
    return {
        "max_distinct": histogram.max_distinct,
        "kept_mantissa_bits": 52 - worst,
        "max_relative_threshold_error": bucket_relative_error(worst),
        "classes_bucketed": int(sum(1 for level in levels[: histogram.n_classes] if level)),
    }
