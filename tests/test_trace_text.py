"""The Playground's decision trace as a text table: every row and column, read back."""

from __future__ import annotations

import numpy as np
import pytest

from cls_core.scoring.decisions import binary_decision_trace, decision_trace
from cls_core.views.score_view import trace_text
from tests._trace_text import parse_trace


def test_multiclass_trace_round_trips_every_row_and_column() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=12) * 3
    scores = np.exp(logits) / np.exp(logits).sum()
    labels = [f"class_{i}" for i in range(12)]
    trace = decision_trace(scores, labels, task="multi-class", reject_threshold=0.4, logits=logits)
    trace.insert(2, "logit ÷ T (T = 2)", logits / 2)
    shown = trace.sort_values("score", ascending=False)
    back = parse_trace(trace_text(shown))
    assert list(back.columns) == list(shown.columns)
    assert back["label"].tolist() == shown["label"].tolist()
    assert back["fired"].tolist() == shown["fired"].tolist()
    for column in ("logit", "logit ÷ T (T = 2)", "score", "threshold", "score − runner-up"):
        got, want = back[column].to_numpy(), shown[column].to_numpy()
        # 4 decimals, or two significant digits below 0.00005
        np.testing.assert_allclose(got, want, atol=5e-5, rtol=0.05)


def test_multilabel_trace_keeps_thresholds_apart_and_tiny_scores_nonzero() -> None:
    trace = decision_trace(
        [0.51349, 0.51351, 9.4e-06],
        ["a", "b", "c"],
        task="multi-label",
        thresholds=[0.5135, 0.5135, 0.3],
    )
    text = trace_text(trace)
    back = parse_trace(text)
    assert back["fired"].tolist() == [False, True, False]
    assert "9.4e-06" in text  # not "0.0000"
    assert back["score − threshold"].iloc[0] < 0 < back["score − threshold"].iloc[1]


def test_trace_text_shows_missing_thresholds_and_keeps_labels_literal() -> None:
    labels = ["<b>bold</b>", "**not markdown**"]
    trace = binary_decision_trace([0.3, 0.7], labels, 0.5, logits=[0.0, 0.85])
    text = trace_text(trace)
    assert "<b>bold</b>" in text and "**not markdown**" in text
    back = parse_trace(text)
    assert np.isnan(back["threshold"].iloc[0])  # the negative class has none: "—"
    first_row = next(line for line in text.splitlines() if line.startswith("<b>"))
    assert "—" in first_row


def test_trace_text_rejects_negative_digits() -> None:
    trace = binary_decision_trace([0.3, 0.7], ["n", "p"], 0.5)
    with pytest.raises(ValueError, match="`digits` must be >= 0; got -1"):
        trace_text(trace, digits=-1)
