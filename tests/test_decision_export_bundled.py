"""The decision export of the three bundled models, checked on their demo sets (issue 11).

Thresholds are tuned by cls_core on each demo set (per-class F1; ekman also a reject
threshold), then some are moved onto a demo text's exact score so rows sit on a threshold.
The exported ``fired`` must equal cls_core's decision on 100% of rows: on the export's own
scores, and on the scores the explorer computes itself from the source model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cls_core.evaluation.demo_data import demo_eval_set
from cls_core.evaluation.metrics import build_evaluation
from cls_core.evaluation.thresholds import thresholds_file, tune
from cls_core.modelio.decision_export import export_decision_model, reference_fired
from cls_core.modelio.registry import list_models, load_model
from cls_core.modelio.serving import cli_text
from cls_core.scoring.activations import apply_activation

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow

CASES = {"goemotions": 1.0, "ekman": 1.7, "banking77": 1.0}
README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_signatures() -> str:
    """The README's ``saved_model_cli show --all`` block for the ekman export."""
    text = README.read_text(encoding="utf-8")
    start = text.index(
        "Signatures of the exported model (`saved_model_cli show --dir ekman-decision"
    )
    block = text.index("```text\n", start) + len("```text\n")
    return text[block : text.index("```", block)]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def _truth(frame: Any, labels: tuple[str, ...], task: str) -> np.ndarray:
    index = {label: c for c, label in enumerate(labels)}
    if task == "multi-class":
        return np.array([index[x] for x in frame["label"]])
    truth = np.zeros((len(frame), len(labels)), dtype=np.int64)
    for i, joined in enumerate(frame["label"]):
        for name in joined.split(";"):
            truth[i, index[name]] = 1
    return truth


@pytest.mark.parametrize(("name", "temperature"), list(CASES.items()))
def test_bundled_export_agrees_on_the_demo_set(
    name: str, temperature: float, tmp_path: Path
) -> None:
    if list_models().get(name) is None:
        pytest.skip(f"the {name} model is not installed")
    source = load_model(name)
    frame = demo_eval_set(name)
    texts = frame["text"].tolist()
    src = source.predict(texts)
    explorer_scores = (
        src.scores
        if temperature == 1.0
        else apply_activation(src.logits, source.activation, temperature=temperature)
    )
    ev = build_evaluation(
        explorer_scores,
        _truth(frame, source.labels, source.task),
        labels=source.labels,
        task=source.task,
    )
    doc = thresholds_file(tune(ev, "f1").metrics, objective="f1", model=name).to_dict()
    # Put the first classes' thresholds exactly on a demo text's score (rows on a threshold).
    for c in range(min(5, len(source.labels)) if temperature == 1.0 else 0):
        doc["thresholds"][c] = float(explorer_scores[c, c])
    if source.task == "multi-class":
        doc["reject_threshold"] = float(np.sort(explorer_scores.max(axis=1))[len(texts) // 4])
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps(doc))
    result = export_decision_model(
        name, path, out_dir=tmp_path / f"{name}-decision", temperature=temperature
    )
    if name == "ekman":
        # The README shows this export's SignatureDefs (saved_model_cli show --all; the
        # temperature is a constant inside the graph, so T = 1.5 there prints the same).
        assert _lines(cli_text(result.path)) == _lines(_readme_signatures())
    exported = tf.saved_model.load(str(result.path)).signatures["serving_default"]
    got = {k: v.numpy() for k, v in exported(text=tf.constant(texts)).items()}
    rule = result.rule
    # The exactness claim: fired = cls_core's decision on the export's scores, every row.
    np.testing.assert_array_equal(got["fired"], reference_fired(got["scores"], rule))
    # And on the explorer's own scores: the same scores at T = 1. At T != 1 the explorer
    # computes the activation with numpy, the export with TensorFlow: a row may differ
    # only where a score is within that rounding of a cutoff.
    explorer_fired = reference_fired(explorer_scores, rule)
    if temperature == 1.0:
        np.testing.assert_array_equal(got["scores"], src.scores)
        np.testing.assert_array_equal(got["fired"], explorer_fired)
    else:
        np.testing.assert_allclose(got["scores"], explorer_scores, rtol=0, atol=1e-6)
        differ = (got["fired"] != explorer_fired).any(axis=1)
        near = (np.abs(explorer_scores - rule.cutoffs()[np.newaxis, :]) <= 1e-6).any(axis=1)
        assert not (differ & ~near).any()
    on_threshold = (got["scores"] == rule.cutoffs()[np.newaxis, :]).any(axis=1)
    if temperature == 1.0:
        assert on_threshold.any(), "no demo row sits on a threshold"
    assert 0 < got["n_fired"].sum() < got["fired"].size
