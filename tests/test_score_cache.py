"""cls_core.evaluation.score_cache: chunked scoring and the on-disk cache (model + stamp + file hash)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from cls_core.evaluation.score_cache import (
    CachedScores,
    cache_path,
    load_cached_scores,
    score_in_chunks,
    score_texts_cached,
    store_cached_scores,
)

SHA = "a" * 64
LABELS = ("x", "y", "z")


@dataclass
class _Out:
    logits: np.ndarray
    scores: np.ndarray


class _Model:
    """A fake model: logit c of a text = len(text) * (c + 1); counts its calls."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, texts: list[str]) -> _Out:
        self.calls.append(len(texts))
        z = np.array([[len(t) * (c + 1) for c in range(3)] for t in texts], dtype=np.float32)
        return _Out(logits=z, scores=1 / (1 + np.exp(-z)))


def _entry(n: int = 4) -> CachedScores:
    z = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return CachedScores(
        logits=z, scores=(z / 10).astype(np.float32), labels=LABELS, model="m", sha256=SHA
    )


def test_cache_path_depends_on_every_key_part(tmp_path: Path) -> None:
    base = cache_path("m", stamp=1.0, sha256=SHA, variant="text", root=tmp_path)
    assert base.parent == tmp_path / "scores" and base.suffix == ".npz"
    assert base == cache_path("m", stamp=1.0, sha256=SHA, variant="text", root=tmp_path)
    others = {
        cache_path("n", stamp=1.0, sha256=SHA, variant="text", root=tmp_path),
        cache_path("m", stamp=2.0, sha256=SHA, variant="text", root=tmp_path),
        cache_path("m", stamp=1.0, sha256="b" * 64, variant="text", root=tmp_path),
        cache_path("m", stamp=1.0, sha256=SHA, variant="body", root=tmp_path),
    }
    assert base not in others and len(others) == 4
    # hostile names never reach the file system
    assert cache_path("../../etc", stamp=1.0, sha256=SHA, root=tmp_path).parent == base.parent


@pytest.mark.parametrize(
    ("model", "sha", "match"),
    [
        ("", SHA, "`model` must be a non-empty model name"),
        ("m", "abc", "`sha256` must be 64 lowercase hex digits; got 'abc'"),
        ("m", "A" * 64, "`sha256` must be 64 lowercase hex digits"),
    ],
)
def test_cache_path_rejects_bad_keys(model: str, sha: str, match: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=match):
        cache_path(model, stamp=1.0, sha256=sha, root=tmp_path)


def test_store_and_load_round_trip_atomically(tmp_path: Path) -> None:
    entry = _entry()
    path = store_cached_scores(entry, stamp=3.0, variant="v", root=tmp_path)
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind
    hit = load_cached_scores("m", stamp=3.0, sha256=SHA, labels=LABELS, variant="v", root=tmp_path)
    assert hit is not None and hit.from_cache
    np.testing.assert_array_equal(hit.logits, entry.logits)
    np.testing.assert_array_equal(hit.scores, entry.scores)
    assert hit.labels == LABELS


def test_misses_for_other_labels_rows_stamp_or_a_corrupt_file(tmp_path: Path) -> None:
    path = store_cached_scores(_entry(), stamp=3.0, root=tmp_path)
    kw = {"sha256": SHA, "root": tmp_path}
    assert load_cached_scores("m", stamp=3.0, labels=("x", "y", "w"), **kw) is None  # type: ignore[arg-type]
    assert load_cached_scores("m", stamp=3.0, labels=LABELS, n_rows=5, **kw) is None  # type: ignore[arg-type]
    assert load_cached_scores("m", stamp=4.0, labels=LABELS, **kw) is None  # type: ignore[arg-type]
    path.write_bytes(path.read_bytes()[:50])  # truncated
    assert load_cached_scores("m", stamp=3.0, labels=LABELS, **kw) is None  # type: ignore[arg-type]


def test_store_rejects_mismatched_shapes(tmp_path: Path) -> None:
    bad = CachedScores(
        logits=np.zeros((2, 3), np.float32),
        scores=np.zeros((2, 2), np.float32),
        labels=LABELS,
        model="m",
        sha256=SHA,
    )
    with pytest.raises(
        ValueError, match=r"must both have shape \(n, 3\); got \(2, 3\) and \(2, 2\)"
    ):
        store_cached_scores(bad, stamp=1.0, root=tmp_path)


def test_score_in_chunks_order_chunks_and_progress() -> None:
    model = _Model()
    texts = ["a", "bb", "ccc", "dddd", "eeeee"]
    progress: list[tuple[int, int]] = []
    logits, scores = score_in_chunks(
        texts, model, n_classes=3, chunk_rows=2, on_progress=lambda d, t: progress.append((d, t))
    )
    assert model.calls == [2, 2, 1]
    assert progress == [(0, 5), (2, 5), (4, 5), (5, 5)]
    np.testing.assert_array_equal(logits[:, 0], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(logits[:, 2], [3, 6, 9, 12, 15])
    assert scores.dtype == np.float32 and scores.shape == (5, 3)


def test_score_in_chunks_errors() -> None:
    with pytest.raises(ValueError, match="`chunk_rows` must be >= 1; got 0"):
        score_in_chunks(["a"], _Model(), n_classes=3, chunk_rows=0)
    with pytest.raises(ValueError, match=r"must return logits and scores of shape \(1, 4\)"):
        score_in_chunks(["a"], _Model(), n_classes=4)


def test_score_texts_cached_scores_once(tmp_path: Path) -> None:
    model = _Model()
    kw = {"model": "m", "stamp": 1.0, "sha256": SHA, "labels": LABELS, "root": tmp_path}
    first = score_texts_cached(["a", "bb"], model, **kw)  # type: ignore[arg-type]
    assert not first.from_cache and model.calls == [2]
    second = score_texts_cached(["a", "bb"], model, **kw)  # type: ignore[arg-type]
    assert second.from_cache and model.calls == [2]
    np.testing.assert_array_equal(first.logits, second.logits)
    # another stamp (a retrained model) scores again
    score_texts_cached(["a", "bb"], model, **{**kw, "stamp": 2.0})  # type: ignore[arg-type]
    assert model.calls == [2, 2]


def test_unwritable_cache_still_returns_scores(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    out = score_texts_cached(
        ["a"], _Model(), model="m", stamp=1.0, sha256=SHA, labels=LABELS, root=blocker
    )
    assert out.logits.shape == (1, 3) and not out.from_cache
