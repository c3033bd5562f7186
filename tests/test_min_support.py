"""Minimum support for the per-class optimisers: no threshold resting on one example."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cls_core.cli import main
from cls_core.evaluation.metrics import build_evaluation
from cls_core.evaluation.thresholds import choose_thresholds, tune


def _evaluation():  # type: ignore[no-untyped-def]
    # class "a": one lone positive far above every negative, the rest buried among them.
    # F1-optimal without minimum support: fire on that one example only.
    scores = np.array([0.99] + [0.5] * 10 + [0.4] * 20 + [0.3] * 3, dtype=np.float32)
    truth = np.array([1] + [0] * 10 + [0] * 20 + [1] * 3, dtype=bool)
    return build_evaluation(
        np.stack([scores, 1 - scores], 1), np.stack([truth, ~truth], 1), labels=("a", "b"),
        task="multi-label",
    )  # fmt: skip


def test_min_tp_moves_the_threshold_off_a_single_example() -> None:
    ev = _evaluation()
    free = choose_thresholds(ev.sweep, "f1").choices[0]
    assert free.tp == 1 and free.threshold == pytest.approx(0.99)
    held = choose_thresholds(ev.sweep, "f1", min_tp=3).choices[0]
    assert held.tp >= 3 and held.threshold <= 0.3 + 1e-6 and held.min_tp_met


def test_min_tp_larger_than_the_class_is_named() -> None:
    ev = _evaluation()
    result = tune(ev, "f1", min_tp=10)
    assert not result.selection.choices[0].min_tp_met  # type: ignore[union-attr]
    assert any("fewer than the minimum support of 10" in w for w in result.warnings)


def test_bootstrap_applies_the_same_minimum_support() -> None:
    # a lone positive at 0.99 above 40 negatives, then 30 positives among 10 negatives
    scores = np.array([0.99] + [0.5] * 40 + [0.3] * 40, dtype=np.float32)
    truth = np.array([1] + [0] * 40 + [1] * 30 + [0] * 10, dtype=bool)
    ev = build_evaluation(
        np.stack([scores, 1 - scores], 1), np.stack([truth, ~truth], 1), labels=("a", "b"),
        task="multi-label",
    )  # fmt: skip
    free = tune(ev, "precision>=0.9", bootstrap=400, seed=1).bootstrap
    held = tune(ev, "precision>=0.9", bootstrap=400, seed=1, min_tp=5).bootstrap
    assert free is not None and held is not None
    # without minimum support most resamples pick the lone example; with it (the example
    # would need weight >= 5) almost none do
    assert free.threshold_high[0] == pytest.approx(0.99)
    assert held.threshold_high[0] < 0.99


def test_cli_min_tp(tmp_path: Path) -> None:
    ev = _evaluation()
    rows = ["a,b,label"] + [
        f"{s[0]:.2f},{s[1]:.2f},{'a' if t[0] else 'b'}"
        for s, t in zip(ev.scores, ev.truth, strict=True)
    ]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for n, expected in ((0, 0.99), (3, 0.3)):
        out = tmp_path / f"t{n}.json"
        assert main(["tune", str(tmp_path / "s.csv"), "--task", "multi-label", "--min-tp", str(n), "--out", str(out)]) == 0  # fmt: skip
        assert json.loads(out.read_text())["thresholds"][0] == pytest.approx(expected, abs=1e-6)
    assert main(["tune", str(tmp_path / "s.csv"), "--min-tp", "-1", "--out", str(tmp_path / "x.json")]) == 2  # fmt: skip


def test_tune_eval_on_reports_the_thresholds_on_another_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name, n in (("dev.csv", 400), ("test.csv", 300)):
        s = rng.random((n, 3)).round(3)
        truth = np.array(list("abc"))[np.argmax(s + rng.normal(0, 0.3, s.shape), axis=1)]
        lines = ["a,b,c,label"] + [
            f"{r[0]},{r[1]},{r[2]},{t}" for r, t in zip(s, truth, strict=True)
        ]
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "t.json"
    code = main(["tune", str(tmp_path / "dev.csv"), "--task", "multi-label", "--eval-on",
                 str(tmp_path / "test.csv"), "--out", str(out)])  # fmt: skip
    assert code == 0
    doc = json.loads(out.read_text())
    block = doc["evaluated_on"]
    assert block["n_examples"] == 300 and len(block["per_class"]) == 3
    # the numbers are the tuned thresholds applied to the other file
    from cls_core.evaluation.evaldata import load_scores

    other = load_scores(str(tmp_path / "test.csv"), task="multi-label").evaluation()
    expected = other.metrics_at(doc["thresholds"])
    assert block["micro"]["f1"] == pytest.approx(expected.micro.f1)
    assert [r["f1"] for r in block["per_class"]] == pytest.approx(list(expected.f1))
    # the file still reads back, and a mismatched file is refused
    from cls_core.evaluation.thresholds import read_thresholds_json

    assert read_thresholds_json(out).evaluated_on is not None
    (tmp_path / "other.csv").write_text("x,y,label\n0.1,0.9,x\n", encoding="utf-8")
    assert main(["tune", str(tmp_path / "dev.csv"), "--task", "multi-label", "--eval-on",
                 str(tmp_path / "other.csv"), "--out", str(tmp_path / "u.json")]) == 2  # fmt: skip
    assert not (tmp_path / "u.json").exists()
