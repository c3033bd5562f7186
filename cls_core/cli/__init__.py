"""The command line: ``cls-explorer COMMAND ...`` (also ``python -m cls_core COMMAND ...``).

Each command lives in its own module exposing ``add_parser(subparsers)``; the parser it
adds sets ``func`` (called with the parsed namespace, returning an exit status). Bad input
exits with status 2 and one ``error: ...`` line on stderr, never a traceback. Progress and
warnings go to stderr; results go to stdout or to files. Ctrl-C exits with status 130 and
SIGTERM with 143, both after the commands' cleanup has run (no partial output files).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from cls_core.cli._signals import Terminated, sigterm_raises
from cls_core.errors import CliError

__all__ = ["build_parser", "main"]

# One module per command, in the order `--help` lists them.
_COMMAND_MODULES = (
    "cls_core.cli.score",
    "cls_core.cli.tune",
    "cls_core.cli.errors",
    "cls_core.cli.train",
    "cls_core.cli.export",
    "cls_core.cli.card",
    "cls_core.cli.serve",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="cls-explorer",
        description="Classifier Output Explorer: score, tune, train and export from the command line, and serve the app.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ INFO/WARNING lines and absl warnings off the terminal.

    Must run before TensorFlow is imported (the C++ level is read once, at load time).
    A value the user already set wins.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # 2: errors only
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status (2 bad input, 130 Ctrl-C, 143 SIGTERM)."""
    quiet_tensorflow()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with sigterm_raises():
            return int(args.func(args))
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("error: terminated (SIGTERM)", file=sys.stderr)
        return 143


def console_main() -> None:
    """Entry point of the installed ``cls-explorer`` script."""
    sys.exit(main())
