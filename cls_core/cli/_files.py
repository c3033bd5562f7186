"""Output-file helpers shared by the commands that write files."""

from __future__ import annotations

from pathlib import Path

from cls_core.errors import CliError

__all__ = ["check_writable"]


def check_writable(out: Path) -> None:
    if out.is_dir():
        raise CliError(f"--out {str(out)!r} is a directory")
    if not out.parent.exists():
        raise CliError(f"--out directory {str(out.parent)!r} does not exist")
