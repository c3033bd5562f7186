"""Scoring labelled texts in chunks, with an on-disk cache keyed by model + file hash.

Scoring an evaluation file with a model is the one slow step of threshold tuning; the
same file scored by the same model always gives the same scores, so the result is kept
under :func:`cls_core.paths.cache_dir` (git-ignored) and reused across sessions and
server restarts. An entry's key is the model name, the model's *stamp* (the
``saved_model.pb`` modification time, so a retrained model never reuses stale scores),
the SHA-256 of the input file's bytes and a *variant* (e.g. the text column), so the
key changes whenever anything that determines the scores changes.

Entries are ``.npz`` files (no pickles) written atomically: a temporary file in the same
directory, then :func:`os.replace`. A missing, truncated or mismatching entry is a cache
miss, never an error.

This module imports neither TensorFlow nor Streamlit: the model is passed in as a
``predict`` callable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from cls_core.paths import cache_dir

__all__ = [
    "CachedScores",
    "Predicted",
    "cache_path",
    "load_cached_scores",
    "score_in_chunks",
    "score_texts_cached",
    "store_cached_scores",
]

_FORMAT_VERSION = 1
_SUBDIR = "scores"


class Predicted(Protocol):
    """What a ``predict`` callable returns (e.g. :class:`cls_core.modelio.registry.Prediction`)."""

    @property
    def logits(self) -> np.ndarray: ...

    @property
    def scores(self) -> np.ndarray: ...


@dataclass(frozen=True, kw_only=True)
class CachedScores:
    """Logits and scores of an evaluation file's texts, in the file's (kept) row order.

    Attributes
    ----------
    logits, scores : ndarray of shape (n_texts, n_classes), float32
    labels : tuple of str, class-id order
    model : str
    sha256 : str
        SHA-256 of the input file's bytes.
    from_cache : bool
        True when read from disk, False when just computed.
    """

    logits: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    labels: tuple[str, ...]
    model: str
    sha256: str
    from_cache: bool = False


def _check_key(model: str, sha256: str) -> None:
    if not isinstance(model, str) or not model:
        raise ValueError(f"`model` must be a non-empty model name; got {model!r}")
    if (
        not isinstance(sha256, str)
        or len(sha256) != 64
        or any(c not in "0123456789abcdef" for c in sha256)
    ):
        raise ValueError(f"`sha256` must be 64 lowercase hex digits; got {sha256!r}")


def cache_path(
    model: str, *, stamp: float, sha256: str, variant: str = "", root: Path | None = None
) -> Path:
    """Where the scores of a file (``sha256``) by ``model`` at ``stamp`` are kept.

    The file name is a hash of all four key parts, so any model name or variant text is
    safe to use (nothing of it reaches the file system verbatim).

    Raises
    ------
    ValueError
        ``model`` is empty or ``sha256`` is not 64 lowercase hex digits.
    """
    _check_key(model, sha256)
    key = json.dumps([_FORMAT_VERSION, model, repr(float(stamp)), sha256, variant])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return (root if root is not None else cache_dir()) / _SUBDIR / f"{digest}.npz"


def load_cached_scores(
    model: str,
    *,
    stamp: float,
    sha256: str,
    labels: Sequence[str],
    n_rows: int | None = None,
    variant: str = "",
    root: Path | None = None,
) -> CachedScores | None:
    """The cached scores, or None when there is no usable entry.

    An entry is usable when it reads cleanly and its stored labels (and ``n_rows``,
    when given) match; anything else (missing, truncated, other labels) is a miss.
    """
    path = cache_path(model, stamp=stamp, sha256=sha256, variant=variant, root=root)
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            logits = np.asarray(npz["logits"], dtype=np.float32)
            scores = np.asarray(npz["scores"], dtype=np.float32)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    stored = tuple(str(x) for x in meta.get("labels", ()))
    if (
        meta.get("version") != _FORMAT_VERSION
        or stored != tuple(labels)
        or logits.shape != scores.shape
        or logits.ndim != 2
        or logits.shape[1] != len(stored)
        or (n_rows is not None and logits.shape[0] != n_rows)
    ):
        return None
    return CachedScores(
        logits=logits,
        scores=scores,
        labels=stored,
        model=model,
        sha256=sha256,
        from_cache=True,
    )


def store_cached_scores(
    entry: CachedScores, *, stamp: float, variant: str = "", root: Path | None = None
) -> Path:
    """Write ``entry`` atomically (temporary file + rename); return its path.

    Concurrent writers of the same key are harmless: each renames a complete file.

    Raises
    ------
    ValueError
        Shapes disagree with each other or with the labels.
    OSError
        The cache directory cannot be written.
    """
    logits = np.asarray(entry.logits, dtype=np.float32)
    scores = np.asarray(entry.scores, dtype=np.float32)
    if logits.ndim != 2 or logits.shape != scores.shape or logits.shape[1] != len(entry.labels):
        raise ValueError(
            f"`logits` and `scores` must both have shape (n, {len(entry.labels)}); "
            f"got {logits.shape} and {scores.shape}"
        )
    path = cache_path(entry.model, stamp=stamp, sha256=entry.sha256, variant=variant, root=root)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps(
        {
            "version": _FORMAT_VERSION,
            "model": entry.model,
            "sha256": entry.sha256,
            "variant": variant,
            "labels": list(entry.labels),
        }
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, logits=logits, scores=scores, meta=np.array(meta))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def score_in_chunks(
    texts: Sequence[str],
    predict: Callable[[list[str]], Predicted],
    *,
    n_classes: int,
    chunk_rows: int = 1024,
    on_progress: Callable[[int, int], Any] | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Logits and scores of ``texts``, ``chunk_rows`` texts per ``predict`` call.

    Parameters
    ----------
    texts : sequence of str
    predict : callable
        ``predict(list_of_texts)`` returning an object with ``logits`` and ``scores`` of
        shape (len(list_of_texts), n_classes).
    n_classes : int
    chunk_rows : int, default 1024
    on_progress : callable, optional
        Called as ``on_progress(done, total)`` after every chunk (and once with 0 first).

    Returns
    -------
    (logits, scores) : two float32 arrays of shape (len(texts), n_classes)

    Raises
    ------
    ValueError
        ``chunk_rows < 1``, or ``predict`` returned the wrong shape.
    """
    if chunk_rows < 1:
        raise ValueError(f"`chunk_rows` must be >= 1; got {chunk_rows}")
    total = len(texts)
    logits = np.empty((total, n_classes), dtype=np.float32)
    scores = np.empty((total, n_classes), dtype=np.float32)
    if on_progress is not None:
        on_progress(0, total)
    for start in range(0, total, chunk_rows):
        chunk = list(texts[start : start + chunk_rows])
        out = predict(chunk)
        expected = (len(chunk), n_classes)
        if np.shape(out.logits) != expected or np.shape(out.scores) != expected:
            raise ValueError(
                f"`predict` must return logits and scores of shape {expected}; "
                f"got {np.shape(out.logits)} and {np.shape(out.scores)}"
            )
        logits[start : start + len(chunk)] = out.logits
        scores[start : start + len(chunk)] = out.scores
        if on_progress is not None:
            on_progress(start + len(chunk), total)
    return logits, scores


def score_texts_cached(
    texts: Sequence[str],
    predict: Callable[[list[str]], Predicted],
    *,
    model: str,
    stamp: float,
    sha256: str,
    labels: Sequence[str],
    variant: str = "",
    chunk_rows: int = 1024,
    on_progress: Callable[[int, int], Any] | None = None,
    root: Path | None = None,
) -> CachedScores:
    """Scores of ``texts`` from the disk cache, or computed in chunks and stored.

    A cache that cannot be written (read-only disk, full disk) does not fail the
    scoring: the computed scores are returned anyway.
    """
    labels = tuple(labels)
    hit = load_cached_scores(
        model,
        stamp=stamp,
        sha256=sha256,
        labels=labels,
        n_rows=len(texts),
        variant=variant,
        root=root,
    )
    if hit is not None:
        return hit
    logits, scores = score_in_chunks(
        texts, predict, n_classes=len(labels), chunk_rows=chunk_rows, on_progress=on_progress
    )
    entry = CachedScores(logits=logits, scores=scores, labels=labels, model=model, sha256=sha256)
    with contextlib.suppress(OSError):
        store_cached_scores(entry, stamp=stamp, variant=variant, root=root)
    return entry
