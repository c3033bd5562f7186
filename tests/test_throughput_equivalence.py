"""The re-exported bundled models give the scores of the models they replaced.

The three bundled models were re-exported without retraining (integer character n-grams,
sorted-pair counts, fused sparse gathers, slices of 512 texts scored two at a time: see
``cls_core.modelio.training._SparseGraph``) to score about 3x faster. Before the change,
``tests/data/throughput_expected.npz`` was written with the then-committed models
(commit 139d8a7): their ``serving_default`` scores and logits on 199 fixed texts (every
4th text of each demo set of :mod:`cls_core.evaluation.demo_data`, written by the project,
plus hand-written edge cases: empty and whitespace-only text, ASCII and Unicode
punctuation, non-ASCII case pairs, combining marks, emoji with joiners, control
characters, right-to-left and CJK scripts, very long and repeated texts).

Each model must reproduce those scores within 1e-6, through the raw signature, through
:meth:`LoadedModel.predict` (chunked) and with the texts in one large call (which the
graph cuts into slices scored in parallel). The full-split checks need ``/work/shared/data``
(skipped when absent): every test-split text scored in one call equals the texts
scored one chunk of 97 at a time, and the card's test metrics still reproduce.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cls_core import paths
from cls_core.modelio.registry import LoadedModel, load_model

FIXTURE = Path(__file__).parent / "data" / "throughput_expected.npz"
MODELS_DIR = paths.PROJECT_ROOT / "models"
MODELS = ("banking77", "ekman", "goemotions")
TOLERANCE = 1e-6

pytestmark = pytest.mark.skipif(
    not all((MODELS_DIR / name / "saved_model.pb").is_file() for name in MODELS),
    reason="bundled models not present",
)


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    with np.load(FIXTURE) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def models() -> dict[str, LoadedModel]:
    return {name: load_model(name) for name in MODELS}


def test_fixture_is_the_one_written_before_the_change(expected: dict[str, Any]) -> None:
    texts = [str(t) for t in expected["texts"]]
    assert len(texts) == len(set(texts)) == 199
    assert "" in texts and "\x00\x01\x7f control chars \x1b[31m" in texts
    for name in MODELS:
        assert expected[f"scores_{name}"].shape[0] == 199


@pytest.mark.parametrize("name", MODELS)
def test_raw_signature_reproduces_the_old_scores(
    name: str, expected: dict[str, Any], models: dict[str, LoadedModel]
) -> None:
    import tensorflow as tf

    texts = [str(t) for t in expected["texts"]]
    out = models[name].signature(text=tf.constant(texts))
    np.testing.assert_allclose(
        out["scores"].numpy(), expected[f"scores_{name}"], rtol=0, atol=TOLERANCE
    )
    # Logits reach ~20 in magnitude; 1e-5 is a few float32 ulps there.
    np.testing.assert_allclose(out["logits"].numpy(), expected[f"logits_{name}"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_predict_and_one_big_call_reproduce_the_old_scores(
    name: str,
    expected: dict[str, Any],
    models: dict[str, LoadedModel],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cls_core.modelio import registry

    texts = [str(t) for t in expected["texts"]]
    want = expected[f"scores_{name}"]
    # 199 texts x 6 = 1194 texts in one call: three slices of the graph's while loop.
    big = models[name].predict(texts * 6).scores
    for k in range(6):
        np.testing.assert_allclose(big[k * 199 : (k + 1) * 199], want, rtol=0, atol=TOLERANCE)
    monkeypatch.setattr(registry, "PREDICT_CHUNK_SIZE", 7)
    np.testing.assert_allclose(models[name].predict(texts).scores, want, rtol=0, atol=TOLERANCE)


def test_invalid_utf8_reads_as_replacement_characters(models: dict[str, LoadedModel]) -> None:
    # Keras's unicode_split and the new unicode_decode both turn each invalid byte into
    # U+FFFD, and neither word is in a vocabulary, so both inputs score alike.
    import tensorflow as tf

    raw = tf.constant([b"caf\xe9 card \xff\xfe", "caf\ufffd card \ufffd\ufffd".encode()])
    for name in MODELS:
        scores = models[name].signature(text=raw)["scores"].numpy()
        np.testing.assert_allclose(scores[0], scores[1], rtol=0, atol=TOLERANCE)


def test_classification_signature_matches(
    expected: dict[str, Any], models: dict[str, LoadedModel]
) -> None:
    from cls_core.modelio.serving import serialize_text_example

    examples = [serialize_text_example(str(t)) for t in expected["texts"]]
    for name in MODELS:
        _, scores = models[name].classify_serialized(examples)
        np.testing.assert_allclose(scores, expected[f"scores_{name}"], rtol=0, atol=TOLERANCE)


# --------------------------------------------------------------------------------------
# Full test splits (need the shared data)


def _data_dir() -> Path:
    root = paths.data_dir()
    if (
        not (root / "banking77" / "test.csv").is_file()
        or not (root / "goemotions" / "test.tsv").is_file()
    ):
        pytest.skip(f"datasets not found under {root} (Banking77 and GoEmotions test splits)")
    return root


@pytest.mark.parametrize("name", MODELS)
def test_full_test_split_batching_and_card_metrics(
    name: str, models: dict[str, LoadedModel]
) -> None:
    import tensorflow as tf

    from cls_core.modelio.training import RECIPES, evaluate_scores

    data = RECIPES[name].load(_data_dir(), 0)
    texts = list(data.test_texts)
    model = models[name]
    whole = model.signature(text=tf.constant(texts))["scores"].numpy()
    pieces = np.concatenate(
        [
            model.signature(text=tf.constant(texts[i : i + 97]))["scores"].numpy()
            for i in range(0, len(texts), 97)
        ]
    )
    assert float(np.max(np.abs(whole - pieces))) <= TOLERANCE
    thresholds = None if model.thresholds is None else np.asarray(model.thresholds)
    metrics = evaluate_scores(whole, data.test_targets, task=data.task, thresholds=thresholds)
    for key, value in metrics.items():
        assert value == pytest.approx(model.card.metrics[key], abs=1e-6), key


def test_cards_record_the_reexport(models: dict[str, LoadedModel]) -> None:
    import json

    for name in MODELS:
        card = json.loads((MODELS_DIR / name / "model_card.json").read_text("utf-8"))
        reexport = card["training"]["reexport"]
        assert reexport["max_abs_score_diff"] <= TOLERANCE
        assert reexport["checked_texts"] > 1000
        size = sum(p.stat().st_size for p in (MODELS_DIR / name).rglob("*") if p.is_file())
        assert card["size_bytes"] <= size <= card["size_bytes"] + 20_000
