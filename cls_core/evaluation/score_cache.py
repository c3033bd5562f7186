"""Scoring labelled texts in chunks, with an on-disk cache keyed by model + texts.

Scoring an evaluation file with a model is the one slow step of threshold tuning; the
same texts scored by the same model always give the same scores, so the result is kept
under :func:`cls_core.paths.cache_dir` (git-ignored) and reused across sessions and
server restarts. The cache stores *scores only* (no truth): an entry's key is the
format version, the model name, the model's *stamp* (the ``saved_model.pb``
modification time, so a retrained model never reuses stale scores), the SHA-256 of the
exact texts scored, in order (:func:`texts_sha256`), and a *variant* (e.g. the text
column). The caller joins the truth afterwards, so which truth column was read or which
rows were dropped for unknown labels can never make an entry answer for other texts
(the file's hash alone did: two truth columns of one file keep different rows).
Entries written by an older format have other keys and are never read.

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
    "texts_sha256",
]

# 1: keyed by the input file's hash (wrong when the kept rows depend on the truth
# column); 2: keyed by the hash of the texts scored.
_FORMAT_VERSION = 2
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
    texts_sha256 : str
        :func:`texts_sha256` of the texts scored (the cache key).
    sha256 : str
        SHA-256 of the input file's bytes, when the caller gave it (provenance only,
        not part of the key); "" otherwise.
    from_cache : bool
        True when read from disk, False when just computed.
    """

    logits: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    labels: tuple[str, ...]
    model: str
    texts_sha256: str
    sha256: str = ""
    from_cache: bool = False


def texts_sha256(texts: Sequence[str]) -> str:
    """SHA-256 of a sequence of texts, in order (each length-prefixed, UTF-8).

    Two sequences have the same digest only when they hold the same texts in the same
    order; the length prefixes keep ``["ab", "c"]`` and ``["a", "bc"]`` apart.

    Raises
    ------
    TypeError
        An item is not ``str`` (the message gives its position).
    """
    digest = hashlib.sha256(len(texts).to_bytes(8, "little"))
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"`texts[{i}]` must be str; got {type(text).__name__}")
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def _check_key(model: str, texts_digest: str) -> None:
    if not isinstance(model, str) or not model:
        raise ValueError(f"`model` must be a non-empty model name; got {model!r}")
    if (
        not isinstance(texts_digest, str)
        or len(texts_digest) != 64
        or any(c not in "0123456789abcdef" for c in texts_digest)
    ):
        raise ValueError(
            f"`texts_sha256` must be 64 lowercase hex digits; got {texts_digest!r:.80}"
        )


def cache_path(
    model: str, *, stamp: float, texts_sha256: str, variant: str = "", root: Path | None = None
) -> Path:
    """Where the scores of the texts with digest ``texts_sha256`` by ``model`` are kept.

    The file name is a hash of the format version and all four key parts, so any model
    name or variant text is safe to use (nothing of it reaches the file system
    verbatim), and entries of an older format are never found.

    Raises
    ------
    ValueError
        ``model`` is empty or ``texts_sha256`` is not 64 lowercase hex digits.
    """
    _check_key(model, texts_sha256)
    key = json.dumps([_FORMAT_VERSION, model, repr(float(stamp)), texts_sha256, variant])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return (root if root is not None else cache_dir()) / _SUBDIR / f"{digest}.npz"


def load_cached_scores(
    model: str,
    *,
    stamp: float,
    texts_sha256: str,
    labels: Sequence[str],
    n_rows: int | None = None,
    variant: str = "",
    root: Path | None = None,
) -> CachedScores | None:
    """The cached scores, or None when there is no usable entry.

    An entry is usable when it reads cleanly, was written by this format version for
    these texts (``texts_sha256``, stored inside the entry too), and its stored labels
    (and ``n_rows``, when given) match; anything else (missing, truncated, older
    format, other labels) is a miss.
    """
    path = cache_path(model, stamp=stamp, texts_sha256=texts_sha256, variant=variant, root=root)
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            logits = np.asarray(npz["logits"], dtype=np.float32)
            scores = np.asarray(npz["scores"], dtype=np.float32)
    except (OSError, ValueError, KeyError, EOFError, RecursionError, zipfile.BadZipFile):
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("labels"), list):
        return None
    stored = tuple(str(x) for x in meta["labels"])
    if (
        meta.get("version") != _FORMAT_VERSION
        or meta.get("texts_sha256") != texts_sha256
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
        texts_sha256=texts_sha256,
        sha256=str(meta.get("sha256", "")),
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
    path = cache_path(
        entry.model, stamp=stamp, texts_sha256=entry.texts_sha256, variant=variant, root=root
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps(
        {
            "version": _FORMAT_VERSION,
            "model": entry.model,
            "texts_sha256": entry.texts_sha256,
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
    labels: Sequence[str],
    sha256: str = "",
    variant: str = "",
    chunk_rows: int = 1024,
    on_progress: Callable[[int, int], Any] | None = None,
    root: Path | None = None,
) -> CachedScores:
    """Scores of ``texts`` from the disk cache, or computed in chunks and stored.

    The entry is keyed by ``model``, ``stamp``, :func:`texts_sha256` of ``texts`` and
    ``variant``: the truth and the rows the caller dropped are not part of it, because
    the scores of the texts actually passed do not depend on them. ``sha256`` (the
    source file's hash) is only recorded with the entry.

    A cache that cannot be written (read-only disk, full disk) does not fail the
    scoring: the computed scores are returned anyway.
    """
    labels = tuple(labels)
    digest = texts_sha256(texts)
    hit = load_cached_scores(
        model,
        stamp=stamp,
        texts_sha256=digest,
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
    entry = CachedScores(
        logits=logits,
        scores=scores,
        labels=labels,
        model=model,
        texts_sha256=digest,
        sha256=sha256,
    )
    with contextlib.suppress(OSError):
        store_cached_scores(entry, stamp=stamp, variant=variant, root=root)
    return entry
