"""``card``: infer what a text-classifier SavedModel is and write its ``model_card.json``.

``cls-explorer card PATH [--labels FILE] [--task ...] [--output KEY] [--name NAME]``
prints a table of what was inferred (signature, input, output, kind, task, labels) and
the evidence for each choice, then writes ``PATH/model_card.json`` (or ``--out FILE``) in
the form the registry accepts, with an ``adapter`` object saying how to call the model.
Put (or keep) the directory under a model root (``models/`` or ``CLS_MODEL_DIRS``) and the
app lists it.

A model that cannot be understood exits with status 2 and one line naming what was found
and which option resolves it ("2 string inputs: text, lang — give --input").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cls_core.cli._files import check_not_input, check_writable
from cls_core.errors import CliError
from cls_core.paths import atomic_output

__all__ = ["add_parser", "format_inference", "run_card"]

_REFUSED_SUFFIXES = (".keras", ".h5", ".hdf5", ".pkl", ".pickle", ".joblib")


def add_parser(subparsers: Any) -> None:
    """Add the ``card`` subcommand to ``subparsers``."""
    card = subparsers.add_parser(
        "card",
        help="infer what a SavedModel is and write its model_card.json",
        description="Read a text-classifier SavedModel, infer its signature, text input, "
        "classifier output, scores vs logits and labels, print the evidence and write a "
        "model_card.json the explorer accepts.",
    )
    card.add_argument("path", metavar="PATH", help="the SavedModel directory")
    card.add_argument("--labels", metavar="FILE", help="labels file: one per line, or a JSON list")
    card.add_argument(
        "--task",
        choices=("multi-class", "multi-label"),
        help="for logits: softmax (multi-class, default) or sigmoid (multi-label) scores",
    )
    card.add_argument("--output", metavar="KEY", help="the output holding scores or logits")
    card.add_argument("--name", help="model name (default: the directory name)")
    card.add_argument("--title", help="human-readable title (default: the name)")
    card.add_argument("--signature", metavar="KEY", help="the signature to use")
    card.add_argument("--input", metavar="KEY", help="the string input receiving the texts")
    card.add_argument("--feature", metavar="NAME", help="tf.Example bytes feature holding the text")
    card.add_argument(
        "--kind",
        choices=("logits", "softmax", "sigmoid"),
        help="what the output holds (default: decided from names and probe values)",
    )
    card.add_argument(
        "--out", metavar="FILE", help="where to write the card (default PATH/model_card.json)"
    )
    card.add_argument("--force", action="store_true", help="overwrite an existing model_card.json")
    card.add_argument(
        "--dry-run", action="store_true", help="print what was inferred; write nothing"
    )
    card.set_defaults(func=run_card)


def format_inference(inference: Any, card: dict[str, Any]) -> str:
    """The readable table and evidence ``card`` prints for a ModelInference."""
    spec = inference.spec
    labels = ", ".join(inference.labels)
    if len(labels) > 200:
        labels = labels[:197] + "..."
    rows = [
        ("name", card["name"]),
        ("signature", spec.signature),
        (
            "text input",
            spec.input + (f" (tf.Example feature {spec.feature!r})" if spec.feature else ""),
        ),
        ("output", spec.output),
        ("output holds", spec.output_kind + (" (binary: one column)" if spec.binary else "")),
        ("task", f"{card['task']} ({card['activation']})"),
        ("logits", "recovered from probabilities" if spec.recovered_logits else "the model's own"),
        ("labels", f"{len(inference.labels)}: {labels}"),
        ("labels from", inference.labels_source),
    ]
    if spec.binary:
        positive = inference.labels[-1]
        rows.append(("decision", f"one threshold t: {positive} when its score >= t (t = 0.5)"))
    width = max(len(key) for key, _ in rows)
    lines = [f"{key.ljust(width)}  {value}" for key, value in rows]
    lines += ["", "evidence:"] + [f"  - {line}" for line in spec.evidence]
    if spec.notes:
        lines += ["", "notes:"] + [f"  - {line}" for line in spec.notes]
    return "\n".join(lines)


def _check_not_an_input(out: Path, path: Path, labels: str | None) -> None:
    """Refuse an ``--out`` that is the ``--labels`` file or a file of the SavedModel itself.

    Only ``PATH/model_card.json`` may be written inside the model directory: ``--force``
    must never replace ``saved_model.pb``, a variables file or an asset (compared by
    resolved path, and ``saved_model.pb`` also by device + inode).
    """
    if labels:
        check_not_input(out, labels)
    check_not_input(out, str(path / "saved_model.pb"))
    model_dir, target = path.resolve(), out.resolve()
    if target.is_relative_to(model_dir) and target != model_dir / "model_card.json":
        raise CliError(
            f"--out {str(out)!r} is inside the SavedModel directory {str(path)!r}; only "
            "model_card.json is written there: write to PATH/model_card.json or outside it"
        )


def run_card(args: argparse.Namespace) -> int:
    """The ``card`` command: infer, print, write."""
    path = Path(args.path)
    if path.is_file() and path.suffix.lower() in _REFUSED_SUFFIXES:
        raise CliError(
            f"{str(path)!r} is a {path.suffix} file: Keras and pickle files are never loaded "
            "(loading them can run code); export a SavedModel with model.export(DIR)"
        )
    if not path.is_dir():
        raise CliError(f"PATH must be a SavedModel directory; {str(path)!r} is not a directory")
    if not (path / "saved_model.pb").is_file():
        refused = sorted(p.name for p in path.iterdir() if p.suffix.lower() in _REFUSED_SUFFIXES)
        hint = (
            f" (found {', '.join(refused)}: Keras and pickle files are never loaded; "
            "export a SavedModel with model.export(DIR))"
            if refused
            else ""
        )
        raise CliError(f"no saved_model.pb in {str(path)!r}{hint}")
    name = args.name or path.resolve().name
    out = Path(args.out) if args.out else path / "model_card.json"
    if not args.dry_run:
        check_writable(out)
        _check_not_an_input(out, path, args.labels)
        if out.exists() and not args.force:
            raise CliError(f"{str(out)!r} exists; give --force to overwrite it")

    from cls_core.modelio.inspect import InferenceError, infer_model, read_labels_file
    from cls_core.modelio.registry import ModelCard

    labels = None
    if args.labels:
        try:
            labels = read_labels_file(args.labels)
        except OSError as exc:
            raise CliError(f"cannot read --labels {args.labels!r}: {exc.strerror}") from None
        except ValueError as exc:
            raise CliError(str(exc)) from None
    try:
        inference = infer_model(
            path,
            signature=args.signature,
            input_key=args.input,
            feature=args.feature,
            output=args.output,
            output_kind=args.kind,
            task=args.task,
            labels=labels,
        )
    except InferenceError as exc:
        raise CliError(f"cannot understand the model in {str(path)!r}: {exc}") from None
    card = inference.card_dict(name, title=args.title)
    ModelCard.from_dict(card, path=path.parent / name)  # what the registry will check
    print(format_inference(inference, card))
    if args.dry_run:
        return 0
    try:
        with atomic_output(out) as tmp:  # whole or not at all: a previous card survives a failure
            tmp.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    print(f"\nwrote {out}", file=sys.stderr)
    if name != path.resolve().name:
        print(
            f"note: the registry lists this card only in a directory named {name!r} under a "
            "model root (models/ or CLS_MODEL_DIRS)",
            file=sys.stderr,
        )
    return 0
