"""A class switched off (threshold +inf, never fires): the one representation every reader
understands — decisions, metrics, thresholds.json (null + switched_off), the errors command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from cls_core.cli import main
from cls_core.evaluation.metrics import build_evaluation
from cls_core.evaluation.thresholds import read_thresholds_json, thresholds_file
from cls_core.evaluation.tuning_session import apply_unreachable_choices, thresholds_json_text

LABELS = ("a", "b", "c")


def _evaluation():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    scores = rng.random((200, 3)).astype(np.float32)
    scores[0, 1] = 1.0  # even a score of exactly 1.0 must not fire a switched-off class
    truth = rng.random((200, 3)) < scores
    return build_evaluation(scores, truth, labels=LABELS, task="multi-label")


def test_metrics_count_nothing_for_a_switched_off_class() -> None:
    ev = _evaluation()
    m = ev.metrics_at([0.5, math.inf, 0.5])
    assert m.tp[1] == 0 and m.fp[1] == 0 and m.fn[1] == m.support[1]
    assert not ev.predicted([0.5, math.inf, 0.5])[:, 1].any()


def test_thresholds_json_writes_null_and_switched_off_and_reads_it_back(tmp_path: Path) -> None:
    ev = _evaluation()
    text = thresholds_json_text(ev.metrics_at([0.5, math.inf, 0.4]), objective="manual")
    doc = json.loads(text)  # strict JSON: no Infinity
    assert doc["thresholds"] == [0.5, None, 0.4]
    assert doc["switched_off"] == ["b"]
    assert doc["per_class"][1]["threshold"] is None
    back = read_thresholds_json(text.encode(), labels=LABELS, task="multi-label")
    assert back.thresholds == (0.5, math.inf, 0.4)
    # a file without any switched-off class has no such key
    plain = json.loads(thresholds_json_text(ev.metrics_at([0.5, 0.5, 0.5])))
    assert "switched_off" not in plain


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(switched_off=[]), "must be null exactly when"),
        (lambda d: d["thresholds"].__setitem__(0, None), "must be null exactly when"),
        (lambda d: d.update(switched_off=["zzz", "b"]), "names labels the file does not have"),
        (lambda d: d.update(switched_off="b"), "`switched_off` must be a list"),
    ],
)
def test_inconsistent_switched_off_is_refused(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    ev = _evaluation()
    doc = json.loads(thresholds_json_text(ev.metrics_at([0.5, math.inf, 0.4])))
    mutate(doc)
    with pytest.raises(ValueError, match=message):
        read_thresholds_json(json.dumps(doc).encode())


def test_thresholds_file_keeps_inf_for_switched_off() -> None:
    ev = _evaluation()
    document = thresholds_file(ev.metrics_at([0.2, math.inf, 0.9]))
    assert document.thresholds == (0.2, math.inf, 0.9)


def test_errors_command_honours_a_switched_off_class(tmp_path: Path) -> None:
    ev = _evaluation()
    rows = ["a,b,c,label"] + [
        ",".join(f"{v:.4f}" for v in s) + "," + (";".join(np.array(LABELS)[t]) or "a")
        for s, t in zip(ev.scores, ev.truth, strict=True)
    ]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "t.json").write_text(thresholds_json_text(ev.metrics_at([0.5, math.inf, 0.5])))
    out = tmp_path / "fp.csv"
    code = main(["errors", str(tmp_path / "s.csv"), "--thresholds", str(tmp_path / "t.json"),
                 "--class", "b", "--kind", "tp", "--out", str(out)])  # fmt: skip
    assert code == 0
    assert out.read_text().strip().count("\n") == 0  # header only: b never fires


def test_apply_unreachable_choices() -> None:
    out = apply_unreachable_choices(
        [0.9, 0.8, 0.7], [0.1, 0.2, 0.3], {0: "best effort", 1: "keep previous", 2: "switch off"}
    )
    assert out.tolist() == [0.9, 0.2, math.inf]
    with pytest.raises(ValueError, match="choice must be one of"):
        apply_unreachable_choices([0.5], None, {0: "maybe"})
    with pytest.raises(ValueError, match="needs the thresholds from before"):
        apply_unreachable_choices([0.5], None, {0: "keep previous"})


def test_playground_link_carries_switched_off_classes() -> None:
    from cls_core.evaluation.tuning_session import playground_query_params
    from cls_core.views.links import link_problems, switched_off_from_params

    params = playground_query_params(
        "m", LABELS, [0.5, math.inf, 0.25], task="multi-label", source="tuning"
    )
    assert params["off.m.b"] == "1" and "t.m.b" not in params and params["t.m.c"] == "0.25"
    assert switched_off_from_params(params, model="m", labels=LABELS) == [1]
    assert link_problems(params, model="m", labels=LABELS, text_limit=100) == []
    bad = link_problems(
        {"off.m.zz": "1", "off.m.a": "yes"}, model="m", labels=LABELS, text_limit=100
    )
    assert len(bad) == 2 and "names no class" in bad[0] and "must be 1" in bad[1]
    mc = playground_query_params("m", LABELS, [0.0, math.inf, 0.3], task="multi-class")
    assert mc["off.m.b"] == "1" and "t.m.b" not in mc and "t.m.a" not in mc


def test_playground_never_fires_a_switched_off_class() -> None:
    from streamlit.testing.v1 import AppTest

    from cls_core.modelio.registry import list_models
    from cls_core.paths import PROJECT_ROOT

    card = list_models().get("goemotions")
    if card is None:
        pytest.skip("the goemotions model is not installed")
    text = "Thank you so much, this is wonderful and I love it!"
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.query_params["model"] = "goemotions"
    at.query_params["text"] = text
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    fired_before = _fired_labels(at)
    assert fired_before, "the text should fire at least one class at the card's thresholds"
    victim = fired_before[0]
    at.query_params[f"off.goemotions.{victim}"] = "1"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Switched off by the link" in i.value and victim in i.value for i in at.info)
    assert victim not in _fired_labels(at)


def _fired_labels(at) -> list[str]:  # type: ignore[no-untyped-def]
    """The labels of the Playground's decision headline ("### Predicted labels: a, b")."""
    head = next(m.value for m in at.markdown if m.value.startswith("### ")).replace("\\", "")
    if ":" not in head or head.startswith("### No label"):
        return []
    return [x.strip() for x in head.split(":", 1)[1].split(",") if x.strip()]


def _unreachable_file(tmp_path: Path) -> Path:
    """Scores where a and c can reach precision 0.99 and b (truth independent of its
    score, about half positive) cannot."""
    rng = np.random.default_rng(7)
    scores = rng.random((400, 3)).astype(np.float32)
    truth = np.column_stack([scores[:, 0] >= 0.5, rng.random(400) < 0.5, scores[:, 2] >= 0.3])
    truth[~truth.any(axis=1), 0] = True  # every row keeps a label
    rows = ["a,b,c,label"] + [
        ",".join(f"{v:.6f}" for v in s) + "," + ";".join(np.array(LABELS)[t])
        for s, t in zip(scores, truth, strict=True)
    ]
    path = tmp_path / "s.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _tune(tmp_path: Path, *extra: str, out: str = "t.json") -> tuple[int, dict]:  # type: ignore[type-arg]
    scores = _unreachable_file(tmp_path)
    target = tmp_path / out
    code = main(["tune", str(scores), "--task", "multi-label", "--objective", "precision>=0.99",
                 "--out", str(target), *extra])  # fmt: skip
    return code, (json.loads(target.read_text()) if target.exists() else {})


def test_tune_unreachable_off_switches_the_missed_class_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, best = _tune(tmp_path, out="best.json")
    assert code == 0
    err = capsys.readouterr().err
    assert "class 'b': no threshold reaches precision>=0.99" in err  # said, with its best value
    assert "switched_off" not in best and None not in best["thresholds"]

    code, off = _tune(tmp_path, "--unreachable", "off", out="off.json")
    assert code == 0
    assert "--unreachable off: class 'b' never fires" in capsys.readouterr().err
    assert off["thresholds"][1] is None and off["switched_off"] == ["b"]
    assert off["thresholds"][0] == best["thresholds"][0]  # reachable classes untouched
    assert off["thresholds"][2] == best["thresholds"][2]
    assert off["per_class"][1]["tp"] == 0 and off["per_class"][1]["fp"] == 0
    back = read_thresholds_json(tmp_path / "off.json", labels=LABELS, task="multi-label")
    assert back.thresholds[1] == math.inf


def test_tune_unreachable_keep_takes_the_previous_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ev = _evaluation()
    (tmp_path / "prev.json").write_text(thresholds_json_text(ev.metrics_at([0.11, 0.42, 0.33])))
    code, kept = _tune(tmp_path, "--unreachable", "keep", "--previous", str(tmp_path / "prev.json"))
    assert code == 0
    assert "--unreachable keep: class 'b' keeps 0.42" in capsys.readouterr().err
    assert kept["thresholds"][1] == pytest.approx(0.42)
    assert kept["thresholds"][0] != pytest.approx(0.11)  # only the missed class keeps its old one


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--unreachable", "keep"], "--unreachable keep and --previous FILE go together"),
        (["--previous", "x.json"], "--unreachable keep and --previous FILE go together"),
        (["--unreachable", "off", "--bootstrap", "200"], "not supported with --bootstrap"),
        (["--unreachable", "off", "--objective", "f1"], "applies to precision>=P or recall>=R"),
    ],
)
def test_tune_unreachable_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, _ = _tune(tmp_path, *extra)
    assert code == 2
    assert message in capsys.readouterr().err
