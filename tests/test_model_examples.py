"""Every bundled model gets its own card examples right (their intended labels).

Each card records, next to its demo texts (``examples``), the label(s) each text was
written to show (``example_labels``, written by the training run from
:data:`cls_core.modelio.training.RECIPES`). A model a demo shows must get at least 90 % of
them right, judged by :func:`cls_core.modelio.training.example_right` (the rule is in
each card as ``example_rule``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cls_core import paths
from cls_core.modelio.registry import CARD_FILENAME, ModelCard, load_model
from cls_core.modelio.training import EXAMPLE_RULE, RECIPES, example_right

MODELS_DIR = paths.PROJECT_ROOT / "models"
BUNDLED = tuple(sorted(RECIPES))
MIN_SHARE_RIGHT = 0.9


def _require(name: str) -> Path:
    path = MODELS_DIR / name
    if not (path / CARD_FILENAME).is_file():
        pytest.skip(f"models/{name} is not shipped in this checkout")
    return path


# --------------------------------------------------------------------------------------
# The bundled models


@pytest.mark.parametrize("name", BUNDLED)
def test_card_records_the_recipe_examples_and_their_intended_labels(name: str) -> None:
    card = ModelCard.from_dir(_require(name))
    recipe = RECIPES[name]
    assert card.examples == recipe.examples
    assert card.example_labels == recipe.example_labels
    assert card.raw["example_rule"] == EXAMPLE_RULE


@pytest.mark.parametrize("name", BUNDLED)
def test_model_gets_its_own_examples_right(name: str) -> None:
    model = load_model(name, roots=[MODELS_DIR])
    card = model.card
    assert card.example_labels is not None, "the card records no intended labels"
    scores = model.predict(list(card.examples)).scores
    verdicts = [
        example_right(
            row,
            intended,
            labels=card.labels,
            thresholds=card.thresholds,
            reject_threshold=card.reject_threshold,
        )
        for row, intended in zip(scores, card.example_labels, strict=True)
    ]
    wrong = [
        f"{text!r}: intended {list(intended) or 'none'}, top "
        + ", ".join(f"{card.labels[c]} {row[c]:.2f}" for c in np.argsort(-row)[:3])
        for text, intended, row, ok in zip(
            card.examples, card.example_labels, scores, verdicts, strict=True
        )
        if not ok
    ]
    needed = math.ceil(MIN_SHARE_RIGHT * len(card.examples))
    assert sum(verdicts) >= needed, f"{name}: {len(wrong)} wrong:\n" + "\n".join(wrong)
    # The card's own record of the check matches what the shipped model does now.
    assert card.raw["example_check"]["right"] == sum(verdicts)
    assert card.raw["example_check"]["of"] == len(card.examples)


def test_emotion_models_share_texts_with_matching_labels() -> None:
    ekman, goemotions = RECIPES["ekman"], RECIPES["goemotions"]
    assert ekman.examples == goemotions.examples
    # Every example has an intended label on both models (no "none" among emotions).
    assert all(len(labels) == 1 for labels in ekman.example_labels)
    assert all(labels for labels in goemotions.example_labels)


# --------------------------------------------------------------------------------------
# The rule


LABELS = ("a", "b", "c")


@pytest.mark.parametrize(
    ("scores", "intended", "reject", "right"),
    [
        ([0.2, 0.7, 0.1], ["b"], None, True),
        ([0.2, 0.7, 0.1], ["a"], None, False),
        ([0.4, 0.35, 0.25], ["a"], 0.5, False),  # the model abstains
        ([0.4, 0.35, 0.25], ["a"], 0.4, True),  # reaches the reject threshold exactly
        ([0.4, 0.35, 0.25], [], None, True),  # no label fits: unsure is right
        ([0.5, 0.3, 0.2], [], None, False),  # ... confident is wrong
    ],
)
def test_example_right_multiclass(
    scores: list[float], intended: list[str], reject: float | None, right: bool
) -> None:
    assert (
        example_right(np.array(scores), intended, labels=LABELS, reject_threshold=reject) is right
    )


@pytest.mark.parametrize(
    ("scores", "intended", "right"),
    [
        ([0.9, 0.1, 0.6], ["a"], True),  # c fires too: allowed
        ([0.9, 0.1, 0.6], ["c", "a"], True),
        ([0.9, 0.35, 0.6], ["a", "b"], False),  # b misses its threshold 0.4
        ([0.3, 0.4, 0.49], ["c"], False),  # c is on top but below its threshold 0.5
        ([0.3, 0.1, 0.9], ["a"], True),  # a reaches its threshold exactly
        ([0.1, 0.2, 0.3], [], True),  # nothing fires
        ([0.1, 0.2, 0.5], [], False),
    ],
)
def test_example_right_multilabel(scores: list[float], intended: list[str], right: bool) -> None:
    thresholds = [0.3, 0.4, 0.5]
    got = example_right(np.array(scores), intended, labels=LABELS, thresholds=thresholds)
    assert got is right


def test_example_right_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match=r"`scores` must have shape \(3,\); got \(2,\)"):
        example_right(np.array([0.5, 0.5]), ["a"], labels=LABELS)
    with pytest.raises(ValueError, match=r"unknown \['z'\]"):
        example_right(np.array([0.2, 0.3, 0.5]), ["z"], labels=LABELS)
    with pytest.raises(ValueError, match="at most one label"):
        example_right(np.array([0.2, 0.3, 0.5]), ["a", "b"], labels=LABELS)


# --------------------------------------------------------------------------------------
# The card field (optional, validated)


def _card(tmp_path: Path, **changes: Any) -> Path:
    path = tmp_path / "m"
    path.mkdir(exist_ok=True)
    card: dict[str, Any] = {
        "name": "m",
        "title": "M",
        "task": "multi-class",
        "activation": "softmax",
        "labels": ["a", "b"],
        "thresholds": None,
        "reject_threshold": None,
        "examples": ["hi", "yo"],
        "dataset": {"name": "d", "source": "s", "license": "CC BY 4.0", "attribution": "x"},
        "metrics": {},
        "training": {"command": "c", "date": "2024-01-01", "seed": 0},
    }
    card.update(changes)
    (path / CARD_FILENAME).write_text(json.dumps(card))
    return path


def test_card_without_example_labels_still_loads(tmp_path: Path) -> None:
    card = ModelCard.from_dir(_card(tmp_path))
    assert card.examples == ("hi", "yo")
    assert card.example_labels is None


def test_card_example_labels_are_read(tmp_path: Path) -> None:
    card = ModelCard.from_dir(_card(tmp_path, example_labels=[["b"], []]))
    assert card.example_labels == (("b",), ())


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([["a"]], r"one entry per example \(2\)"),
        ("a", r"one entry per example \(2\)"),
        ([["a"], ["z"]], r"`example_labels\[1\]` names unknown label\(s\) \['z'\]"),
        ([["a", "b"], ["a"]], r"`example_labels\[0\]` must name at most one label"),
        ([["a"], [1]], r"`example_labels\[1\]` must be a list of strings"),
    ],
)
def test_card_bad_example_labels_are_refused(tmp_path: Path, value: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ModelCard.from_dir(_card(tmp_path, example_labels=value))
