"""Input and output files of the commands: read the input once, never overwrite it, write whole.

- :func:`check_writable` / :func:`check_not_input`: refuse an ``--out`` that is a directory,
  sits in a missing directory, or is the input itself (the same path, a symlink to it or
  a hard link: compared by resolved path and by device + inode).
- :func:`read_input`: the whole input as bytes, read once (``-`` is standard input). A FIFO,
  a pipe (``/dev/stdin``, ``<(cmd)``) can only be read once, so nothing may open it again.
- :func:`streamable_input`: for commands that stream a large input, a path they may open
  as often as they like: a regular file as it is, anything else copied once to a private
  temporary file (bounded memory).
- Outputs are written with :func:`cls_core.paths.atomic_output` (a unique temporary file in
  the same directory, fsync, rename): a failed or interrupted run leaves the previous file
  intact, and of two concurrent runs the last to finish wins whole.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cls_core.errors import CliError
from cls_core.preview import preview

__all__ = [
    "STDIN",
    "check_not_input",
    "check_writable",
    "input_name",
    "read_input",
    "same_file",
    "streamable_input",
]

#: The input argument that means standard input.
STDIN = "-"


def input_name(source: str) -> str:
    """How messages name the input: its path as given, or ``<stdin>`` for ``-``."""
    return "<stdin>" if source == STDIN else source


def check_writable(out: Path) -> None:
    """Refuse an ``--out`` that is a directory or whose directory does not exist."""
    if out.is_dir():
        raise CliError(f"--out {str(out)!r} is a directory")
    if not out.parent.exists():
        raise CliError(f"--out directory {str(out.parent)!r} does not exist")


def check_not_input(out: Path, source: str) -> None:
    """Refuse an ``--out`` that is the input file: same resolved path, or same device + inode.

    Catches the same path spelled differently, a symlink either way and a hard link.
    """
    if source != STDIN and same_file(out, source):
        raise CliError(
            f"--out {str(out)!r} is the input file {str(source)!r}; write to another file"
        )


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file: same resolved path, or same device + inode.

    Catches the same path spelled differently, a symlink either way and a hard link; a
    path that does not exist (yet) is no other file.
    """
    if Path(a).resolve() == Path(b).resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist (yet): not the same file
        return False


def _unreadable(source: str, exc: OSError) -> CliError:
    label = preview(input_name(source), limit=200)
    if isinstance(exc, FileNotFoundError):
        return CliError(f"file {label} does not exist")
    if isinstance(exc, IsADirectoryError):
        return CliError(f"file {label} is a directory, not a file")
    return CliError(f"file {label} cannot be read: {exc.strerror or exc}")


def read_input(source: str, *, limit: int) -> bytes:
    """The input's bytes, read once from its single open (``-``: standard input).

    Parameters
    ----------
    source : str
        A path, or ``-`` for standard input.
    limit : int
        Most bytes read (the whole-file cap of
        :func:`cls_core.evaluation.evaldata.max_bytes`); a longer input is refused without
        reading past it.

    Raises
    ------
    CliError
        The file does not exist, is a directory or cannot be read (the same words as
        :func:`cls_core.evaluation.evaldata.detect_format`), or it is over ``limit``.
    """
    label = preview(input_name(source), limit=200)
    try:
        with contextlib.ExitStack() as stack:
            fh = sys.stdin.buffer if source == STDIN else stack.enter_context(open(source, "rb"))
            size = os.fstat(fh.fileno()).st_size if source != STDIN else 0
            if size <= limit:
                raw = fh.read(limit + 1)
                size = len(raw)
    except OSError as exc:
        raise _unreadable(source, exc) from None
    if size > limit:
        held = f"{size:,} bytes" if size != limit + 1 else f"more than {limit:,} bytes"
        raise CliError(
            f"file {label} is too big to read whole: it holds {held}, over the limit of "
            f"{limit:,} bytes (set CLS_MAX_BYTES to change it)"
        )
    return raw


@contextlib.contextmanager
def streamable_input(source: str) -> Iterator[str]:
    """A path to the input that may be opened many times, for commands that stream it.

    A regular file is used in place. Standard input (``-``), a FIFO, a pipe or a device is
    read once and copied, 1 MiB at a time, to a private temporary file that keeps the
    input's extension (the format check reads it) and is removed on exit.

    Raises
    ------
    CliError
        As :func:`read_input`.
    """
    if source != STDIN:
        try:
            mode = os.stat(source).st_mode
        except OSError as exc:
            raise _unreadable(source, exc) from None
        if stat.S_ISDIR(mode):
            raise _unreadable(source, IsADirectoryError(source))
        if stat.S_ISREG(mode):
            yield source
            return
    suffix = "" if source == STDIN else Path(source).suffix[:16]
    with tempfile.TemporaryDirectory(prefix="cls-explorer-input-") as tmp_dir:
        copy = Path(tmp_dir) / f"input{suffix}"
        try:
            with contextlib.ExitStack() as stack:
                src = (
                    sys.stdin.buffer if source == STDIN else stack.enter_context(open(source, "rb"))
                )
                dst = stack.enter_context(open(copy, "wb"))
                shutil.copyfileobj(src, dst, 1 << 20)
        except OSError as exc:
            raise _unreadable(source, exc) from None
        yield str(copy)
