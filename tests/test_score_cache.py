"""cls_core.evaluation.score_cache: chunked scoring and the on-disk cache (model + stamp + texts hash)."""

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
        logits=z, scores=(z / 10).astype(np.float32), labels=LABELS, model="m", texts_sha256=SHA
    )


def test_cache_path_depends_on_every_key_part(tmp_path: Path) -> None:
    base = cache_path("m", stamp=1.0, texts_sha256=SHA, variant="text", root=tmp_path)
    assert base.parent == tmp_path / "scores" and base.suffix == ".npz"
    assert base == cache_path("m", stamp=1.0, texts_sha256=SHA, variant="text", root=tmp_path)
    others = {
        cache_path("n", stamp=1.0, texts_sha256=SHA, variant="text", root=tmp_path),
        cache_path("m", stamp=2.0, texts_sha256=SHA, variant="text", root=tmp_path),
        cache_path("m", stamp=1.0, texts_sha256="b" * 64, variant="text", root=tmp_path),
        cache_path("m", stamp=1.0, texts_sha256=SHA, variant="body", root=tmp_path),
    }
    assert base not in others and len(others) == 4
    # hostile names never reach the file system
    assert cache_path("../../etc", stamp=1.0, texts_sha256=SHA, root=tmp_path).parent == base.parent


@pytest.mark.parametrize(
    ("model", "sha", "match"),
    [
        ("", SHA, "`model` must be a non-empty model name"),
        ("m", "abc", "`texts_sha256` must be 64 lowercase hex digits; got 'abc'"),
        ("m", "A" * 64, "`texts_sha256` must be 64 lowercase hex digits"),
    ],
)
def test_cache_path_rejects_bad_keys(model: str, sha: str, match: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=match):
        cache_path(model, stamp=1.0, texts_sha256=sha, root=tmp_path)


def test_store_and_load_round_trip_atomically(tmp_path: Path) -> None:
    entry = _entry()
    path = store_cached_scores(entry, stamp=3.0, variant="v", root=tmp_path)
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind
    hit = load_cached_scores(
        "m", stamp=3.0, texts_sha256=SHA, labels=LABELS, variant="v", root=tmp_path
    )
    assert hit is not None and hit.from_cache
    np.testing.assert_array_equal(hit.logits, entry.logits)
    np.testing.assert_array_equal(hit.scores, entry.scores)
    assert hit.labels == LABELS


def test_misses_for_other_labels_rows_stamp_or_a_corrupt_file(tmp_path: Path) -> None:
    path = store_cached_scores(_entry(), stamp=3.0, root=tmp_path)
    kw = {"texts_sha256": SHA, "root": tmp_path}
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
        texts_sha256=SHA,
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
    kw = {"model": "m", "stamp": 1.0, "labels": LABELS, "root": tmp_path}
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
    out = score_texts_cached(["a"], _Model(), model="m", stamp=1.0, labels=LABELS, root=blocker)
    assert out.logits.shape == (1, 3) and not out.from_cache


# --------------------------------------------------------------------------------------
# Issue 16 item 6: the cache stores scores of the texts scored, never of a file


def test_texts_sha256_depends_on_every_text_and_the_order() -> None:
    from cls_core.evaluation.score_cache import texts_sha256

    base = texts_sha256(["ab", "c"])
    assert len(base) == 64 and base == texts_sha256(("ab", "c"))
    assert (
        len({base, texts_sha256(["a", "bc"]), texts_sha256(["c", "ab"]), texts_sha256(["ab"])}) == 4
    )
    assert texts_sha256([]) != texts_sha256([""])
    with pytest.raises(TypeError, match=r"`texts\[1\]` must be str; got int"):
        texts_sha256(["a", 1])  # type: ignore[list-item]


_TWO_TRUTHS = b"text,label,label2\nA one,A,\nB two,,B\n"
_AB = ("A", "B")


class _FirstLetter:
    """A fake model that is always right: the text's first letter is its class."""

    def __call__(self, texts: list[str]) -> _Out:
        z = np.array([[4.0 if t[0] == c else -4.0 for c in _AB] for t in texts], np.float32)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return _Out(logits=z, scores=(e / e.sum(axis=1, keepdims=True)).astype(np.float32))


def _accuracy_with_truth(truth_column: str, root: Path) -> float:
    """What the tuning page does: read the file with a truth column, score via the cache."""
    from cls_core.evaluation.evaldata import load_texts
    from cls_core.evaluation.thresholds import sha256_of
    from cls_core.evaluation.tuning_session import eval_set_from_texts

    texts = load_texts(
        _TWO_TRUTHS,
        name="t.csv",
        text_column="text",
        truth_column=truth_column,
        labels=_AB,
        task="multi-class",
    )
    scored = score_texts_cached(
        texts.texts,
        _FirstLetter(),
        model="m",
        stamp=1.0,
        labels=_AB,
        sha256=sha256_of(_TWO_TRUTHS),
        variant="text_column=text",
        root=root,
    )
    evs = eval_set_from_texts(
        texts,
        scored.logits,
        scored.scores,
        labels=_AB,
        activation="softmax",
        name="t.csv",
        source="texts",
        model="m",
    )
    accuracy = evs.evaluation.metrics_at().accuracy
    assert accuracy is not None
    return accuracy


def test_two_truth_columns_of_one_file_each_get_the_right_accuracy(tmp_path: Path) -> None:
    # Truth `label` keeps row 1 ("A one"), `label2` keeps row 2 ("B two"): one row each, so
    # an entry keyed by the file's hash answered the second with the first's scores (0.000).
    assert _accuracy_with_truth("label", tmp_path) == 1.0
    assert _accuracy_with_truth("label2", tmp_path) == 1.0
    assert _accuracy_with_truth("label", tmp_path) == 1.0
    assert len(list((tmp_path / "scores").glob("*.npz"))) == 2


def test_two_truth_columns_after_a_restart(tmp_path: Path) -> None:
    """A new process (no in-memory state) reads the entries the first one wrote."""
    import subprocess
    import sys

    assert _accuracy_with_truth("label", tmp_path) == 1.0
    code = (
        "import sys; sys.path.insert(0, 'tests'); from pathlib import Path; "
        "from test_score_cache import _accuracy_with_truth as acc; "
        f"print(acc('label2', Path({str(tmp_path)!r})), acc('label', Path({str(tmp_path)!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout.split()
    assert out == ["1.0", "1.0"]


def test_entries_of_an_older_format_are_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cls_core.evaluation import score_cache

    # An older format's key lands elsewhere...
    new = cache_path("m", stamp=1.0, texts_sha256=SHA, root=tmp_path)
    monkeypatch.setattr(score_cache, "_FORMAT_VERSION", 1)
    old = cache_path("m", stamp=1.0, texts_sha256=SHA, root=tmp_path)
    store_cached_scores(_entry(), stamp=1.0, root=tmp_path)
    monkeypatch.undo()
    assert old != new and old.exists()
    assert (
        load_cached_scores("m", stamp=1.0, texts_sha256=SHA, labels=LABELS, root=tmp_path) is None
    )
    # ...and an entry at the right name that says another version (or other texts) is a miss.
    old.rename(new)
    assert (
        load_cached_scores("m", stamp=1.0, texts_sha256=SHA, labels=LABELS, root=tmp_path) is None
    )


def test_entry_written_for_other_texts_is_a_miss(tmp_path: Path) -> None:
    path = store_cached_scores(_entry(), stamp=1.0, root=tmp_path)
    other = cache_path("m", stamp=1.0, texts_sha256="b" * 64, root=tmp_path)
    path.rename(other)  # e.g. a truncated-digest collision: the stored texts hash disagrees
    assert (
        load_cached_scores("m", stamp=1.0, texts_sha256="b" * 64, labels=LABELS, root=tmp_path)
        is None
    )
