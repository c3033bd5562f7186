"""``export``: a SavedModel with the tuned thresholds and temperature baked into its signatures.

``cls-explorer export --model NAME --thresholds thresholds.json [--temperature T] --out DIR
[--force]`` wraps the registry model ``NAME``'s own graph (see
:mod:`cls_core.modelio.decision_export`) and writes ``DIR`` with the signatures
``serving_default``, ``classification`` and ``decision`` and a model_card.json recording
where the decision came from. Put ``DIR`` under a model root (``models/`` or a
``CLS_MODEL_DIRS`` root) and the app lists it like any model.

Bad input raises :class:`~cls_core.errors.CliError`: exit status 2, one ``error: ...`` line.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from cls_core.errors import CliError, ModelLoadError

__all__ = ["add_parser", "run_export"]


def add_parser(subparsers: Any) -> None:
    """Add the ``export`` subcommand to ``subparsers``."""
    export = subparsers.add_parser(
        "export",
        help="export a SavedModel with the thresholds and temperature baked in",
        description="Wrap a model's graph in a new SavedModel whose serving_default, "
        "classification and decision signatures apply a thresholds.json (and a temperature).",
    )
    export.add_argument("--model", required=True, help="registry model name (e.g. goemotions)")
    export.add_argument("--thresholds", required=True, help="thresholds.json for that model")
    export.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="divide the logits by T before the activation (finite, > 0; default 1)",
    )
    export.add_argument("--out", required=True, help="new model directory to write")
    export.add_argument(
        "--force", action="store_true", help="replace DIR when it holds an earlier export"
    )
    export.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    """The ``export`` command (see the module docstring)."""
    from cls_core.modelio.decision_export import check_temperature, export_decision_model

    try:
        temperature = check_temperature(args.temperature)
    except (TypeError, ValueError) as exc:
        raise CliError(f"bad --temperature: {exc}") from None
    thresholds = Path(args.thresholds)
    if not thresholds.is_file():
        raise CliError(f"--thresholds {str(thresholds)!r} is not a file")
    if thresholds.resolve().is_relative_to(Path(args.out).resolve()):
        # --force replaces the whole directory: the thresholds file would go with it
        raise CliError(
            f"--thresholds {str(thresholds)!r} is inside --out {args.out!r}, which the export "
            "replaces; move the thresholds file out of it or export to another directory"
        )
    try:
        result = export_decision_model(
            args.model,
            thresholds,
            out_dir=Path(args.out),
            temperature=temperature,
            force=args.force,
            command=shlex.join(["cls-explorer", "export", *_argv(args)]),
        )
    except ModelLoadError as exc:
        raise CliError(str(exc)) from None
    except FileExistsError as exc:
        raise CliError(str(exc).replace("`out_dir`", "--out")) from None
    except ValueError as exc:
        raise CliError(str(exc).replace("`out_dir`", "--out")) from None
    except RuntimeError as exc:
        raise CliError(f"the export failed its check and was not written: {exc}") from None
    except OSError as exc:
        raise CliError(f"cannot write {args.out!r}: {exc.strerror or exc}") from None
    rule = result.rule
    print(
        f"wrote {result.path}: {rule.task}, {len(rule.labels)} labels, T = {rule.temperature:g}, "
        f"signatures serving_default, classification, decision; checked on "
        f"{result.checked_texts} texts in {result.seconds:.1f} s",
        file=sys.stderr,
    )
    print(result.path)
    return 0


def _argv(args: argparse.Namespace) -> list[str]:
    out = [
        "--model",
        args.model,
        "--thresholds",
        args.thresholds,
        "--temperature",
        f"{args.temperature:g}",
        "--out",
        args.out,
    ]
    return [*out, "--force"] if args.force else out
