"""``tune``: choose per-class thresholds from a scores file.

``cls-explorer tune SCORES [--truth-column label] [--task ...] [--objective ...]
[--bootstrap N] [--drop-unknown] [--binary] --out thresholds.json``. It never imports
TensorFlow.

Binary: with ``--binary``, or on a Parquet scores file that ``score`` wrote for a binary
model (metadata ``cls_core.binary``), the file's two score columns are ``(negative,
positive)`` and ``tune`` chooses the binary rule's one threshold on the positive (second)
column's score: positive when ``p >= t``. The result is a ``task: "binary"``
thresholds.json (:func:`cls_core.evaluation.binary.binary_thresholds_file`).

Bad input raises :class:`~cls_core.errors.CliError`: exit status 2, one ``error: ...`` line.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from cls_core.cli._files import (
    STDIN,
    check_not_input,
    check_writable,
    input_name,
    read_input,
)
from cls_core.cli._signals import checkpoint
from cls_core.errors import CliError

__all__ = ["add_parser", "run_tune"]


def add_parser(subparsers: Any) -> None:
    """Add the ``tune`` subcommand to ``subparsers``."""
    tune = subparsers.add_parser(
        "tune",
        help="choose per-class thresholds from a scores file",
        description="Choose thresholds on a scores file (one column per label + a truth column) "
        "and write thresholds.json.",
    )
    tune.add_argument(
        "scores",
        metavar="SCORES",
        help=f"scores file (CSV, TSV, JSONL or Parquet); {STDIN} reads standard input",
    )
    tune.add_argument("--truth-column", default="label", help="truth column (default: label)")
    tune.add_argument(
        "--task", choices=["multi-label", "multi-class"], help="override the inferred task"
    )
    tune.add_argument(
        "--objective",
        default="f1",
        help="f1 | fbeta:B | precision>=P | recall>=R | cost:fp=A,fn=B "
        "(multi-class also coverage>=C | accuracy>=A); default f1",
    )
    tune.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="N",
        help="bootstrap resamples (0, or 200 to 10,000)",
    )
    tune.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    tune.add_argument(
        "--min-tp",
        type=int,
        default=5,
        metavar="N",
        help="minimum support: per-class thresholds need at least N true positives "
        "(default 5; 0 turns it off)",
    )
    tune.add_argument(
        "--drop-unknown", action="store_true", help="drop rows whose truth is not a score column"
    )
    tune.add_argument(
        "--scores-are",
        choices=["auto", "probabilities", "logits"],
        default="auto",
        help="how to read the score columns (auto: probabilities if all in [0, 1])",
    )
    tune.add_argument(
        "--eval-on",
        metavar="FILE",
        help="also measure the chosen thresholds on this scores file (same labels): "
        "tuned on one split, reported on another; written under evaluated_on",
    )
    tune.add_argument(
        "--binary",
        action="store_true",
        help="binary model: two score columns (negative, positive); choose one threshold on "
        "the positive (second) column, positive when score >= t (automatic on a Parquet "
        "file that `score` wrote for a binary model)",
    )
    tune.add_argument(
        "--unreachable",
        choices=list(UNREACHABLE),
        default="best-effort",
        help="per-class target objectives (precision>=P, recall>=R): what a class that no "
        "threshold brings to the target gets. best-effort: the closest threshold (default; "
        "a warning names the class and its best reachable value); off: the class never "
        "fires (written as null under switched_off); keep: its threshold from --previous",
    )
    tune.add_argument(
        "--previous",
        metavar="FILE",
        help="with --unreachable keep: the thresholds.json whose thresholds such classes keep "
        "(same labels)",
    )
    tune.add_argument("--model", default=None, help="model name to record in the file")
    tune.add_argument("--out", required=True, help="where to write thresholds.json")
    tune.add_argument(
        "--runner",
        choices=["direct", "dataflow", "flink", "spark"],
        default=None,
        help="run as an Apache Beam pipeline on this runner (SCORES may then be a glob of "
        "shards); without it, tune runs in this process",
    )
    tune.add_argument(
        "--beam-option",
        action="append",
        default=[],
        metavar="FLAG",
        help="a Beam pipeline flag, repeatable (e.g. --beam-option=--project=my-project)",
    )
    tune.add_argument(
        "--max-distinct",
        type=int,
        default=None,
        metavar="N",
        help="--runner only: distinct scores per class searched exactly before bucketing "
        "(default 1,048,576: 24 MiB per class)",
    )
    tune.set_defaults(func=run_tune)


#: ``--unreachable`` → the tuning page's choice (``tuning_session.UNREACHABLE_CHOICES``).
UNREACHABLE = {"best-effort": "best effort", "off": "switch off", "keep": "keep previous"}


def run_tune(args: argparse.Namespace) -> int:
    """The ``tune`` command (see the module docstring)."""
    from cls_core.evaluation.evaldata import EvalDataError, load_scores, max_bytes
    from cls_core.evaluation.thresholds import (
        MAX_BOOTSTRAP_RESAMPLES,
        parse_objective,
        thresholds_file,
        tune,
        write_thresholds_json,
    )

    try:
        objective = parse_objective(args.objective)
    except ValueError as exc:
        raise CliError(f"bad --objective: {exc}") from None
    if args.bootstrap != 0 and args.bootstrap < 200:
        raise CliError(f"--bootstrap must be 0 (none) or >= 200 resamples; got {args.bootstrap}")
    if args.bootstrap > MAX_BOOTSTRAP_RESAMPLES:
        raise CliError(
            f"--bootstrap must be at most {MAX_BOOTSTRAP_RESAMPLES:,} resamples (memory grows "
            f"with resamples × classes); got {args.bootstrap:,}"
        )
    if args.seed < 0:
        raise CliError(f"--seed must be >= 0; got {args.seed}")
    if not 0 <= args.min_tp <= 1_000_000:
        raise CliError(f"--min-tp must be between 0 and 1,000,000; got {args.min_tp}")
    unreachable = getattr(args, "unreachable", "best-effort")
    previous_path = getattr(args, "previous", None)
    if (unreachable == "keep") != (previous_path is not None):
        raise CliError("--unreachable keep and --previous FILE go together")
    if unreachable != "best-effort":
        for flag, given in (
            ("--runner", getattr(args, "runner", None)),
            ("--binary", getattr(args, "binary", False)),
            ("--bootstrap", args.bootstrap),
        ):
            if given:
                raise CliError(
                    f"--unreachable {unreachable} is not supported with {flag} (bootstrap "
                    "intervals describe the optimiser's own choice; a binary file has one "
                    "threshold); run without it or with --unreachable best-effort"
                )
        if not objective.per_class or objective.kind not in (
            "precision_at_least",
            "recall_at_least",
        ):
            raise CliError(
                f"--unreachable {unreachable} applies to precision>=P or recall>=R targets; "
                f"the objective is {objective}"
            )
    out = Path(args.out)
    check_writable(out)
    if previous_path is not None:
        check_not_input(out, previous_path)
    if getattr(args, "runner", None):
        return _run_pipeline(args, objective, out)
    if getattr(args, "max_distinct", None) is not None or getattr(args, "beam_option", None):
        raise CliError("--max-distinct and --beam-option need --runner (in process, tune is exact)")
    check_not_input(out, args.scores)
    try:
        # Read once: a FIFO or pipe (/dev/stdin, <(cmd)) cannot be opened twice, and the
        # checks, the table, its SHA-256 and the stored model name must see the same bytes.
        raw = read_input(args.scores, limit=max_bytes())
        data = load_scores(
            raw,
            name=input_name(args.scores),
            truth_column=args.truth_column,
            task=args.task,
            score_kind=args.scores_are,
            on_unknown="drop" if args.drop_unknown else "error",
            on_invalid="error",
        )
    except EvalDataError as exc:
        raise CliError(str(exc)) from None
    if args.binary or _stored_meta(raw, b"cls_core.binary") == "1":
        return _run_binary(args, data, objective, raw, out)
    if not objective.per_class and data.task != "multi-class":
        raise CliError(f"objective {objective} needs a multi-class task; the data is {data.task}")
    for line in data.report.lines():
        print(line, file=sys.stderr)
    evaluation = data.evaluation()
    result = tune(
        evaluation, objective, bootstrap=args.bootstrap, seed=args.seed, min_tp=args.min_tp
    )
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if unreachable != "best-effort":
        result = _apply_unreachable(args, evaluation, result, data.labels)
    model = args.model or _stored_model(raw)
    document = thresholds_file(
        result.metrics,
        objective=objective,
        data_sha256=data.sha256,
        model=model,
        bootstrap=result.bootstrap,
    )
    if args.eval_on:
        document = replace(document, evaluated_on=_evaluate_on(args, data, result, out))
    checkpoint()  # a SIGTERM something swallowed: do not replace the previous file
    try:
        write_thresholds_json(document, out)  # atomic: the previous file survives a failure
    except OSError as exc:
        raise CliError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    m = result.metrics
    summary = f"wrote {out}: {data.task}, {objective}, micro F1 {m.micro.f1:.4f}, macro F1 {m.macro.f1:.4f}"
    if m.coverage is not None:
        summary += f", coverage {m.coverage:.4f}, accuracy {m.selective_accuracy:.4f}"
    print(summary, file=sys.stderr)
    return 0


def _apply_unreachable(args: argparse.Namespace, evaluation: Any, result: Any, labels: Any) -> Any:
    """``--unreachable off|keep``: the page's per-class choice, for every class that missed."""
    from cls_core.evaluation.thresholds import read_thresholds_json
    from cls_core.evaluation.tuning_session import apply_unreachable_choices

    missed = [i for i, c in enumerate(result.selection.choices) if not c.feasible and c.support > 0]
    previous = None
    if args.previous is not None:
        try:
            previous = read_thresholds_json(args.previous, labels=list(labels)).thresholds
        except ValueError as exc:
            raise CliError(f"--previous: {exc}") from None
    choice = UNREACHABLE[args.unreachable]
    thresholds = apply_unreachable_choices(
        result.thresholds, previous, dict.fromkeys(missed, choice)
    )
    for i in missed:
        print(
            f"--unreachable {args.unreachable}: class {result.selection.choices[i].label!r} "
            + ("never fires" if choice == "switch off" else f"keeps {thresholds[i]:.6g}"),
            file=sys.stderr,
        )
    metrics = evaluation.metrics_at(thresholds)
    return replace(result, thresholds=thresholds, metrics=metrics)


def _run_pipeline(args: argparse.Namespace, objective: Any, out: Path) -> int:
    """``tune --runner``: the same choice made by an Apache Beam pipeline over merged counts."""
    from cls_core.pipelines import quiet_beam_logging

    quiet_beam_logging()  # before Beam is imported
    from cls_core.pipelines.io import PipelineInputError
    from cls_core.pipelines.options import RunnerOptionError, pipeline_options
    from cls_core.pipelines.tune import (
        PipelineRunError,
        run_tune_pipeline,
        write_pipeline_thresholds,
    )

    for flag, given in (
        ("--eval-on", args.eval_on),
        ("--binary", getattr(args, "binary", False)),
        (f"SCORES {STDIN}", args.scores == STDIN),
    ):
        if given:
            raise CliError(f"{flag} is not supported with --runner; run it without --runner")
    max_distinct = 1 << 20 if args.max_distinct is None else args.max_distinct
    if not 2 <= max_distinct <= 1 << 28:
        raise CliError(f"--max-distinct must be between 2 and {1 << 28:,}; got {max_distinct}")
    if "://" not in args.scores:
        check_not_input(out, args.scores)
        _check_not_a_shard(out, args.scores)
    try:
        options = pipeline_options(args.runner, args.beam_option)
        result = run_tune_pipeline(
            args.scores,
            options,
            truth_column=args.truth_column,
            task=args.task,
            scores_are=args.scores_are,
            drop_unknown=args.drop_unknown,
            max_distinct=max_distinct,
            objective=objective,
            min_tp=args.min_tp,
            bootstrap=args.bootstrap,
            seed=args.seed,
        )
    except (PipelineInputError, RunnerOptionError, PipelineRunError) as exc:
        raise CliError(str(exc)) from None
    for line in result.report_lines():
        print(line, file=sys.stderr)
    for warning in result.tuned.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    checkpoint()  # a SIGTERM something swallowed: do not replace the previous file
    try:
        write_pipeline_thresholds(result, out, runner=args.runner, model=args.model)
    except OSError as exc:
        raise CliError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    m = result.tuned.metrics
    summary = (
        f"wrote {out}: {result.plan.task}, {objective}, micro F1 {m.micro.f1:.4f}, macro F1 "
        f"{m.macro.f1:.4f} ({args.runner} runner, {len(result.files)} shard(s))"
    )
    if m.coverage is not None:
        summary += f", coverage {m.coverage:.4f}, accuracy {m.selective_accuracy:.4f}"
    print(summary, file=sys.stderr)
    return 0


def _check_not_a_shard(out: Path, pattern: str) -> None:
    """Refuse an ``--out`` that is one of the shards a local glob names (same file)."""
    from cls_core.pipelines.io import PipelineInputError, expand_inputs

    try:
        shards = expand_inputs(pattern)
    except PipelineInputError:
        return  # the pipeline's own check says what is wrong with the input
    for shard in shards:
        check_not_input(out, shard)


def _evaluate_on(args: argparse.Namespace, data: Any, result: Any, out: Path) -> dict[str, Any]:
    """The tuned thresholds measured on ``--eval-on`` (same labels and task); printed too."""
    from cls_core.evaluation.thresholds import evaluated_on

    other = _load_eval_on(args, data, out, task=data.task)
    metrics = other.evaluation().metrics_at(
        result.metrics.thresholds, reject_threshold=result.metrics.reject_threshold
    )
    tuned = result.metrics
    print(
        f"measured on {input_name(args.eval_on)} ({metrics.n_examples:,} rows): micro F1 "
        f"{metrics.micro.f1:.4f} (tuned data {tuned.micro.f1:.4f}), macro F1 "
        f"{metrics.macro.f1:.4f} (tuned data {tuned.macro.f1:.4f})",
        file=sys.stderr,
    )
    return evaluated_on(metrics, data_sha256=other.sha256)


def _run_binary(args: argparse.Namespace, data: Any, objective: Any, raw: bytes, out: Path) -> int:
    """``tune`` for a binary model: one threshold on the positive (second) score column."""
    from cls_core.evaluation.binary import (
        binary_thresholds_file,
        build_binary_evaluation,
        tune_binary,
    )
    from cls_core.evaluation.thresholds import write_thresholds_json

    if data.task != "multi-class" or len(data.labels) != 2:
        raise CliError(
            "a binary scores file needs two score columns (negative, positive) and one truth "
            f"label per row; got {len(data.labels)} score columns "
            f"({', '.join(data.labels[:5])}) and {data.task} truth"
        )
    for line in data.report.lines():
        print(line, file=sys.stderr)
    bev = build_binary_evaluation(data.scores, data.truth.ids, labels=data.labels)
    try:
        result = tune_binary(
            bev, objective, bootstrap=args.bootstrap, seed=args.seed, min_tp=args.min_tp
        )
    except ValueError as exc:
        raise CliError(f"bad --objective: {exc}") from None
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    document = binary_thresholds_file(
        bev,
        result.threshold,
        objective=objective,
        data_sha256=data.sha256,
        model=args.model or _stored_model(raw),
        bootstrap=result.bootstrap,
    )
    if args.eval_on:
        document = replace(
            document, evaluated_on=_binary_evaluate_on(args, data, result.threshold, out)
        )
    checkpoint()
    try:
        write_thresholds_json(document, out)
    except OSError as exc:
        raise CliError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    m = result.metrics
    print(
        f"wrote {out}: binary, {objective}, {data.labels[1]} when score >= {m.threshold:.6g}: "
        f"precision {m.precision:.4f}, recall {m.recall:.4f}, F1 {m.f1:.4f}, "
        f"accuracy {m.accuracy:.4f}",
        file=sys.stderr,
    )
    return 0


def _binary_evaluate_on(
    args: argparse.Namespace, data: Any, threshold: float, out: Path
) -> dict[str, Any]:
    """The tuned binary threshold measured on ``--eval-on`` (same two labels); printed too."""
    from cls_core.evaluation.binary import binary_evaluated_on, build_binary_evaluation

    other = _load_eval_on(args, data, out, task="multi-class")
    if other.truth.ids is None:  # load_scores was asked for multi-class truth
        raise CliError(f"--eval-on {args.eval_on!r}: expected one truth label per row")
    bev = build_binary_evaluation(other.scores, other.truth.ids, labels=other.labels)
    block = binary_evaluated_on(bev, threshold, data_sha256=other.sha256)
    print(
        f"measured on {input_name(args.eval_on)} ({block['n_examples']:,} rows): F1 "
        f"{block['per_class'][1]['f1']:.4f}, accuracy {block['accuracy']:.4f}",
        file=sys.stderr,
    )
    return block


def _stored_meta(raw: bytes, key: bytes) -> str | None:
    """A key of the Parquet schema metadata ``score`` writes (None for other files)."""
    if not raw.startswith(b"PAR1"):
        return None
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        meta = pq.read_schema(pa.BufferReader(raw)).metadata or {}
    except Exception:
        return None
    stored = meta.get(key)
    return stored.decode("utf-8", errors="replace") if stored else None


def _load_eval_on(
    args: argparse.Namespace, data: Any, out: Path, *, task: Literal["multi-class", "multi-label"]
) -> Any:
    """The ``--eval-on`` scores file, read like the tuned one and checked to have its labels."""
    from cls_core.evaluation.evaldata import EvalDataError, load_scores, max_bytes

    check_not_input(out, args.eval_on)
    try:
        other = load_scores(
            read_input(args.eval_on, limit=max_bytes()),
            name=input_name(args.eval_on),
            truth_column=args.truth_column,
            task=task,
            score_kind=args.scores_are,
            on_unknown="drop" if args.drop_unknown else "error",
            on_invalid="error",
        )
    except EvalDataError as exc:
        raise CliError(f"--eval-on: {exc}") from None
    if tuple(other.labels) != tuple(data.labels):
        raise CliError(
            f"--eval-on {args.eval_on!r} has score columns {list(other.labels)[:8]}; the "
            f"tuned file has {list(data.labels)[:8]} (same labels, same order expected)"
        )
    return other


def _stored_model(raw: bytes) -> str | None:
    return _stored_meta(raw, b"cls_core.model")
