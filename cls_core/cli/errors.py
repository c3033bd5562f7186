"""``errors``: the examples behind a number, as a CSV file.

``cls-explorer errors FILE --thresholds thresholds.json --class anger --kind fp --out fp.csv``
lists the rows of one class and outcome (``tp``, ``fp``, ``fn``, ``tn``) at the file's
thresholds, highest score first (``--sort`` changes it). ``--kind label-issues`` lists the
rows whose given labels the model disputes confidently (cleanlab; scores must be
out-of-sample), most suspicious first; ``--class`` then keeps rows given that class.

FILE is a scores file (one column per label + a truth column, as ``score`` writes and
``tune`` reads), or, with ``--model NAME``, a labelled text file scored by that model.
Columns written: ``row`` (0-based data row of FILE), ``text`` (when FILE has one),
``true``, ``fired``, ``score``, ``threshold``, ``score - threshold``, ``outcome``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cls_core.cli._files import check_not_input, check_writable, input_name, read_input
from cls_core.errors import CliError

__all__ = ["add_parser", "run_errors"]

_KINDS = ("tp", "fp", "fn", "tn", "label-issues")


def add_parser(subparsers: Any) -> None:
    """Add the ``errors`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "errors",
        help="list the examples behind a number (false positives of a class, label issues)",
        description="Write the rows of one class and outcome at the thresholds of a "
        "thresholds.json, or the suspected label errors, to a CSV file.",
    )
    parser.add_argument("input", metavar="FILE", help="scores file, or labelled texts with --model")
    parser.add_argument("--thresholds", help="thresholds.json (default: 0.5 / arg-max)")
    parser.add_argument("--class", dest="class_name", help="the class (required for tp/fp/fn/tn)")
    parser.add_argument("--kind", choices=_KINDS, default="fp", help="outcome (default fp)")
    parser.add_argument(
        "--sort",
        choices=["score_desc", "score_asc", "near_threshold", "row"],
        default="score_desc",
        help="row order (default: highest score first)",
    )
    parser.add_argument("--truth-column", default="label", help="truth column (default: label)")
    parser.add_argument("--model", help="score FILE's texts with this model (labelled texts)")
    parser.add_argument("--text-column", default="text", help="text column (default: text)")
    parser.add_argument("--limit", type=int, default=0, help="write at most N rows (0: all)")
    parser.add_argument("--out", required=True, help="CSV file to write")
    parser.set_defaults(func=run_errors)


def _load(args: argparse.Namespace, raw: bytes) -> tuple[Any, Any, Any]:
    """The Evaluation, the texts (or None) and the kept data rows of FILE."""
    from cls_core.evaluation.evaldata import EvalDataError, load_scores, load_texts
    from cls_core.evaluation.metrics import build_evaluation
    from cls_core.evaluation.tuning_session import eval_set_from_scores

    name = input_name(args.input)
    try:
        if args.model is None:
            data = load_scores(raw, name=name, truth_column=args.truth_column, on_invalid="error")
            evs = eval_set_from_scores(data, name=name)
            return evs.evaluation, evs.texts, data.kept_rows
        from cls_core.errors import ModelLoadError
        from cls_core.modelio.registry import load_model

        try:
            model = load_model(args.model)
        except ModelLoadError as exc:
            raise CliError(str(exc)) from None
        texts = load_texts(
            raw,
            name=name,
            text_column=args.text_column,
            truth_column=args.truth_column,
            labels=model.labels,
            task=model.card.task,  # type: ignore[arg-type]
        )
    except EvalDataError as exc:
        raise CliError(str(exc)) from None
    assert texts.truth is not None
    prediction = model.predict(texts.texts)
    truth: Any = texts.truth.ids if texts.truth.task == "multi-class" else texts.truth.indicator
    evaluation = build_evaluation(
        prediction.scores, truth, labels=model.labels, task=texts.truth.task
    )
    return evaluation, tuple(texts.texts), texts.kept_rows


def run_errors(args: argparse.Namespace) -> int:
    """The ``errors`` command (see the module docstring)."""
    from cls_core.evaluation.evaldata import max_bytes

    if args.kind != "label-issues" and not args.class_name:
        raise CliError(f"--class is required for --kind {args.kind}")
    if args.limit < 0:
        raise CliError(f"--limit must be >= 0; got {args.limit}")
    out = Path(args.out)
    check_writable(out)
    check_not_input(out, args.input)
    if args.thresholds:
        check_not_input(out, args.thresholds)
    raw = read_input(args.input, limit=max_bytes())
    evaluation, texts, kept_rows = _load(args, raw)
    labels = evaluation.labels
    class_index = None
    if args.class_name:
        if args.class_name not in labels:
            from cls_core.preview import preview_list

            raise CliError(
                f"--class {args.class_name!r} is not a label of FILE; labels are [{preview_list(labels)}]"
            )
        class_index = labels.index(args.class_name)
    thresholds, reject = None, None
    if args.thresholds:
        from cls_core.evaluation.thresholds import read_thresholds_json
        from cls_core.evaluation.tuning_session import imported_thresholds

        try:
            document = read_thresholds_json(args.thresholds, labels=labels, task=evaluation.task)
            thresholds, reject = imported_thresholds(document, labels)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    frame = _frame(args, evaluation, texts, class_index, thresholds, reject)
    frame["row"] = kept_rows[frame["row"].to_numpy()]
    if args.limit:
        frame = frame.head(args.limit)
    from cls_core.cli._signals import checkpoint
    from cls_core.paths import atomic_output

    checkpoint()  # a SIGTERM something swallowed: do not replace the previous file
    try:
        with atomic_output(out) as tmp:
            frame.to_csv(tmp, index=False, lineterminator="\n")
    except OSError as exc:
        raise CliError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    what = "suspected label errors" if args.kind == "label-issues" else f"{args.kind.upper()} rows"
    scope = f" of {args.class_name}" if args.class_name else ""
    print(f"wrote {out}: {len(frame)} {what}{scope}", file=sys.stderr)
    return 0


def _frame(
    args: argparse.Namespace,
    evaluation: Any,
    texts: Any,
    class_index: int | None,
    thresholds: Any,
    reject: float | None,
) -> Any:
    import numpy as np

    from cls_core.evaluation.examples import ExampleQuery, examples_frame, matching_rows

    if args.kind == "label-issues":
        from cls_core.evaluation.label_issues import find_label_issues

        try:
            issues = find_label_issues(evaluation)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        rows = issues.rows
        if class_index is not None:
            given = evaluation.truth[rows, class_index]
            rows = rows[given]
        frame = issues.to_frame(texts)
        frame = frame[frame["row"].isin(rows)].reset_index(drop=True)
        frame["rank"] = np.arange(1, len(frame) + 1)
        return frame
    assert class_index is not None
    query = ExampleQuery(class_index=class_index, outcomes=(args.kind,), sort=args.sort)
    rows, codes = matching_rows(
        evaluation, query, texts=texts, thresholds=thresholds, reject_threshold=reject
    )
    if args.limit:
        rows = rows[: args.limit]
    frame = examples_frame(
        evaluation,
        rows,
        class_index,
        thresholds=thresholds,
        reject_threshold=reject,
        codes=codes,
        texts=texts,
    )
    if texts is None:
        frame = frame.drop(columns=["text"])
    return frame
