"""Where the project keeps things: model roots, the dataset directory, the disk cache.

Every location can be overridden by an environment variable so tests and deployments can
point elsewhere without touching code:

- ``CLS_MODEL_DIRS``: extra model roots, ``os.pathsep``-separated, searched after the
  project's own ``models/``. ``models/_exports/`` (git-ignored; where the app installs
  decision exports when ``CLS_MODEL_DIRS`` is not set) is searched last.
- ``CLS_DATA_DIR``: the directory holding ``goemotions/`` and ``banking77/``
  (default: ``../shared/data`` next to the project).
- ``CLS_CACHE_DIR``: the on-disk cache for scored evaluation files (default ``.cache/``,
  git-ignored).

Files the project writes for a user (``score`` and ``tune`` outputs, ``thresholds.json``) go
through :func:`atomic_output`: whole or not at all.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "EXPORTS_ROOT",
    "PROJECT_ROOT",
    "atomic_output",
    "cache_dir",
    "data_dir",
    "model_roots",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The app's default root for decision exports (hidden from the ``models/`` listing by its
#: leading underscore; a model root of its own, searched last).
EXPORTS_ROOT = PROJECT_ROOT / "models" / "_exports"


def model_roots() -> list[Path]:
    """The directories whose immediate subdirectories are models, in search order."""
    roots = [PROJECT_ROOT / "models"]
    extra = os.environ.get("CLS_MODEL_DIRS", "")
    roots.extend(Path(p).expanduser().resolve() for p in extra.split(os.pathsep) if p.strip())
    roots.append(EXPORTS_ROOT)
    return roots


def data_dir() -> Path:
    """The dataset directory (``CLS_DATA_DIR`` or ``../shared/data``); it may not exist."""
    env = os.environ.get("CLS_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return (PROJECT_ROOT.parent / "shared" / "data").resolve()


def cache_dir() -> Path:
    """The on-disk cache directory (created on first use by whoever writes to it)."""
    env = os.environ.get("CLS_CACHE_DIR")
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / ".cache"


def atomic_output(path: str | Path) -> contextlib.AbstractContextManager[Path]:
    """Write a file whole or not at all: a context manager yielding a temporary path.

    The body writes (and closes) the yielded path; on normal exit it is flushed to disk
    (fsync), renamed over ``path`` in one step (``os.replace``) and the directory entry is
    synced. On any exception (a full disk, ``KeyboardInterrupt``, a signal turned into an
    exception) the temporary file is removed and ``path`` keeps its previous content.

    The temporary file sits in the target's directory (a rename never crosses file
    systems) under a fresh name, ``.NAME.<random>.partial``, created with ``O_EXCL``: it
    can never be an existing file (an input), and two concurrent writers of one ``path``
    never share it, so the last to finish wins whole. A symlink ``path`` is written
    through (its target is replaced); a new file gets the usual permissions (umask), a
    replaced one keeps its mode.

    Parameters
    ----------
    path : str or Path
        The file to (re)write. Its directory must exist.

    Raises
    ------
    OSError
        The temporary file cannot be created, written, synced or renamed.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_output(target) as tmp:
    ...     _ = tmp.write_text("whole")
    >>> target.read_text()
    'whole'
    """
    return _atomic_output(Path(os.path.realpath(path)))


@contextlib.contextmanager
def _atomic_output(target: Path) -> Iterator[Path]:
    # a name of at most ~240 bytes: long target names must not make the temp name too long
    stem = target.name[:200]
    while True:
        tmp = target.with_name(f".{stem}.{secrets.token_hex(8)}.partial")
        try:  # O_EXCL: a fresh file, never an existing one (an input, another run's)
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        break
    try:
        yield tmp
        with contextlib.suppress(FileNotFoundError):  # keep a replaced file's mode
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # not every file system can sync a directory
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
