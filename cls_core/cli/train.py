"""``python -m cls_core train NAME --data-dir DIR --out DIR [--seed N]``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from cls_core.errors import CliError

_NAMES = ("banking77", "ekman", "goemotions")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``train`` subcommand on an argparse ``subparsers`` object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="train one bundled model and write its SavedModel and model card",
        description=(
            "Train a bundled model (banking77, ekman or goemotions) from the datasets, "
            "export it with serving_default + classification signatures, and write "
            "model_card.json with test metrics, the command, date and seed."
        ),
    )
    parser.add_argument("name", choices=_NAMES, help="which model to train")
    parser.add_argument(
        "--data-dir", required=True, help="directory holding goemotions/ and banking77/"
    )
    parser.add_argument("--out", required=True, help="model directory to (re)write")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.set_defaults(func=_run)
    return parser


def _command(args: argparse.Namespace) -> str:
    parts = [
        "python",
        "-m",
        "cls_core",
        "train",
        args.name,
        "--data-dir",
        args.data_dir,
        "--out",
        args.out,
        "--seed",
        str(args.seed),
    ]
    return shlex.join(parts)


def _progress(message: str) -> None:
    """Training progress goes to stderr, like every command's (results go to files)."""
    print(message, file=sys.stderr, flush=True)


def _check_out(out: Path, data_dir: Path) -> None:
    """Refuse an ``--out`` the training would destroy by mistake: it replaces ``--out`` whole.

    ``--out`` must not hold ``--data-dir`` (be it or a directory above it), and an existing
    ``--out`` must be an empty directory or a SavedModel directory (an earlier model),
    never a directory of other files (``--out .``, ``--out ~``) nor a file.
    """
    out_r, data_r = out.resolve(), data_dir.resolve()
    if data_r.is_relative_to(out_r):
        raise CliError(
            f"--out {str(out)!r} holds --data-dir {str(data_dir)!r}; the model directory "
            "is replaced whole: write it elsewhere (e.g. models/NAME)"
        )
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise CliError(f"--out {str(out)!r} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / "saved_model.pb").is_file():
        raise CliError(
            f"--out {str(out)!r} is not empty and holds no saved_model.pb; training replaces "
            "--out whole, so only a model directory (or a new one) is accepted"
        )


def _run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        raise CliError(f"--data-dir {args.data_dir!r} is not a directory")
    _check_out(Path(args.out), data_dir)
    from cls_core.modelio.training import run_recipe

    try:
        run_recipe(
            args.name,
            data_dir=data_dir,
            out_dir=Path(args.out),
            seed=args.seed,
            command=_command(args),
            log=_progress,
        )
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from exc
    return 0
