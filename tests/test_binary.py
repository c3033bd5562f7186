"""The binary rule (issue 10, item 4): one threshold on the positive class's score.

Core rule and its edges, metrics and tuning against scikit-learn, the ``task: "binary"``
thresholds.json (written, read back, refused where it does not fit), ``cls-explorer tune``
on a binary scores file, and the export: the exported model's labels equal the core rule
on the same texts, with texts whose score equals the threshold exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from cls_core.cli import main
from cls_core.evaluation.binary import (
    binary_thresholds_file,
    build_binary_evaluation,
    tune_binary,
)
from cls_core.evaluation.thresholds import read_thresholds_json, write_thresholds_json
from cls_core.scoring.decisions import (
    binary_decide,
    binary_decision_trace,
    binary_fired,
    positive_scores,
)

LABELS = ("ham", "spam")


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("p", "t", "want"),
    [
        (0.5, 0.5, "spam"),  # p == t: positive (score >= threshold)
        (np.nextafter(0.5, 0.0), 0.5, "ham"),
        (0.0, 0.0, "spam"),  # t = 0: always positive
        (1e-12, 0.0, "spam"),
        (1.0, 1.0, "spam"),  # t = 1: positive only when p == 1
        (np.nextafter(1.0, 0.0), 1.0, "ham"),
        (0.3, 0.7, "ham"),
        (0.9, 0.7, "spam"),
    ],
)
def test_binary_decide_edges(p: float, t: float, want: str) -> None:
    assert binary_decide([p], LABELS, t) == [want]
    assert binary_decide([[1.0 - p, p]], LABELS, t) == [want]  # the two-column form


def test_binary_rule_differs_from_argmax_at_one_half() -> None:
    """argmax gives the tie p == 0.5 to the lower class id; the binary rule says positive."""
    from cls_core.scoring.decisions import multiclass_decide

    assert multiclass_decide([[0.5, 0.5]], LABELS) == ["ham"]
    assert binary_decide([[0.5, 0.5]], LABELS) == ["spam"]
    assert binary_decide([[0.7, 0.3]], LABELS, 0.25) == ["spam"]  # argmax would say ham


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scores": [0.2, math.nan]}, ValueError, r"must not contain NaN; got NaN at row 1"),
        ({"threshold": math.nan}, ValueError, r"`threshold` must be in \[0, 1\]; got nan"),
        ({"threshold": 1.5}, ValueError, r"`threshold` must be in \[0, 1\]"),
        ({"threshold": -0.1}, ValueError, r"`threshold` must be in \[0, 1\]"),
        ({"threshold": math.inf}, ValueError, r"`threshold` must be in \[0, 1\]"),
        ({"threshold": "0.5"}, TypeError, r"`threshold` must be a number"),
        ({"threshold": True}, TypeError, r"`threshold` must be a number"),
        ({"labels": ["a", "b", "c"]}, ValueError, r"one name per class \(2\)"),
        ({"scores": [[0.1, 0.2, 0.7]]}, ValueError, r"got shape \(1, 3\)"),
        ({"scores": ["x"]}, TypeError, r"numeric array"),
    ],
)
def test_binary_decide_refuses(kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {"scores": [0.2, 0.8], "labels": LABELS, "threshold": 0.5}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        binary_decide(args["scores"], args["labels"], args["threshold"])


def test_positive_scores_shapes() -> None:
    np.testing.assert_array_equal(positive_scores([[0.7, 0.3], [0.2, 0.8]]), [0.3, 0.8])
    np.testing.assert_array_equal(positive_scores([[0.3], [0.8]]), [0.3, 0.8])
    np.testing.assert_array_equal(binary_fired([0.3, 0.8], 0.8), [False, True])


def test_binary_decision_trace() -> None:
    trace = binary_decision_trace([0.25, 0.75], LABELS, 0.75, logits=[0.0, 1.1])
    assert trace["label"].tolist() == ["ham", "spam"]
    assert trace["fired"].tolist() == [False, True]
    assert trace["score − threshold"].iloc[1] == 0.0
    assert math.isnan(trace["threshold"].iloc[0])
    below = binary_decision_trace([0.25, 0.75], LABELS, 0.76)
    assert below["fired"].tolist() == [True, False]


# --------------------------------------------------------------------------- metrics and tuning


def _data(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(n), 2)  # ties on purpose
    y = (rng.random(n) < p).astype(np.int64)
    return p, y


@pytest.mark.parametrize("t", [0.0, 0.13, 0.5, 0.5000001, 0.77, 1.0])
def test_metrics_match_sklearn(t: float) -> None:
    p, y = _data()
    bev = build_binary_evaluation(np.stack([1 - p, p], axis=1), y, labels=LABELS)
    m = bev.metrics_at(t)
    pred = (p >= t).astype(int)
    assert m.tp + m.fp + m.fn + m.tn == len(y)
    assert m.precision == pytest.approx(precision_score(y, pred, zero_division=0))
    assert m.recall == pytest.approx(recall_score(y, pred, zero_division=0))
    assert m.f1 == pytest.approx(f1_score(y, pred, zero_division=0))
    assert m.accuracy == pytest.approx(accuracy_score(y, pred))
    assert m.negative_recall == pytest.approx(recall_score(1 - y, 1 - pred, zero_division=0))
    assert m.macro_f1 == pytest.approx(f1_score(y, pred, average="macro", zero_division=0))
    sweep = bev.threshold_sweep()
    row = sweep[sweep["threshold"] >= t].tail(1)
    if len(row):  # the sweep row in force at t has the same metrics
        assert float(row["f1"].iloc[0]) == pytest.approx(m.f1)
        assert float(row["accuracy"].iloc[0]) == pytest.approx(m.accuracy)


def test_tune_binary_reaches_the_best_f1_and_precision_target() -> None:
    p, y = _data()
    bev = build_binary_evaluation(p, y, labels=LABELS)
    best = tune_binary(bev, "f1")
    candidates = np.unique(p)
    f1s = [f1_score(y, (p >= c).astype(int), zero_division=0) for c in candidates]
    assert best.metrics.f1 == pytest.approx(max(f1s))
    assert best.threshold in candidates
    target = tune_binary(bev, "precision>=0.8")
    assert target.choice.feasible and target.metrics.precision >= 0.8
    feasible = [
        recall_score(y, (p >= c).astype(int))
        for c in candidates
        if precision_score(y, (p >= c).astype(int), zero_division=0) >= 0.8
    ]
    assert target.metrics.recall == pytest.approx(max(feasible))
    with pytest.raises(ValueError, match=r"binary rule never abstains"):
        tune_binary(bev, "coverage>=0.9")


@pytest.mark.parametrize(
    ("scores", "truth", "match"),
    [
        ([0.2, 1.2], [0, 1], r"probabilities in \[0, 1\]; got 1\.2 at row 1"),
        ([0.2, math.nan], [0, 1], r"NaN at row 1"),
        ([0.2, 0.4], [0, 2], r"class ids 0 \(ham\) or 1 \(spam\); got 2 at row 1"),
        ([0.2, 0.4], [0], r"`truth` must have shape \(2,\)"),
    ],
)
def test_build_binary_evaluation_refuses(scores: Any, truth: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_binary_evaluation(scores, truth, labels=LABELS)


# --------------------------------------------------------------------------- thresholds.json


def test_binary_thresholds_json_round_trip(tmp_path: Path) -> None:
    p, y = _data()
    bev = build_binary_evaluation(p, y, labels=LABELS)
    result = tune_binary(bev, "f1", bootstrap=200)
    doc = binary_thresholds_file(
        bev, result.threshold, objective=result.objective, model="spam", bootstrap=result.bootstrap
    )
    path = tmp_path / "thresholds.json"
    write_thresholds_json(doc, path)
    raw = json.loads(path.read_text())
    assert raw["task"] == "binary"
    assert raw["thresholds"] == [result.threshold]
    assert raw["positive_label"] == "spam"
    assert raw["accuracy"] == pytest.approx(result.metrics.accuracy)
    assert [r["label"] for r in raw["per_class"]] == ["ham", "spam"]
    assert "threshold_low" in raw["per_class"][1]
    back = read_thresholds_json(path, labels=LABELS, model="spam", task="binary")
    assert back.task == "binary" and back.thresholds == (result.threshold,)
    assert back.accuracy == pytest.approx(result.metrics.accuracy)
    assert back.to_dict() == raw
    with pytest.raises(ValueError, match=r"holds binary thresholds, but this data is multi-class"):
        read_thresholds_json(path, task="multi-class")


def _binary_doc(**changes: Any) -> bytes:
    doc: dict[str, Any] = {"labels": ["ham", "spam"], "thresholds": [0.4], "task": "binary"}
    doc.update(changes)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (_binary_doc(labels=["a", "b", "c"]), r"must list two labels"),
        (_binary_doc(thresholds=[0.4, 0.6]), r"list of one number"),
        (_binary_doc(thresholds=[None]), r"`thresholds\[0\]` must be a number"),
        (_binary_doc(thresholds=[1.5]), r"`thresholds\[0\]` must be in \[0, 1\]"),
        (_binary_doc(positive_label="ham"), r"`positive_label` must be the second label"),
        (_binary_doc(switched_off=["spam"]), r"switches nothing off"),
        (_binary_doc(accuracy=2), r"`accuracy` must be in \[0, 1\]"),
        (_binary_doc(model=3), r"`model` must be a string"),
    ],
)
def test_bad_binary_thresholds_json(raw: bytes, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        read_thresholds_json(raw)


def test_minimal_binary_file_and_old_files_still_read() -> None:
    doc = read_thresholds_json(_binary_doc(), labels=LABELS)
    assert doc.task == "binary" and doc.thresholds == (0.4,)
    old = json.dumps({"labels": ["a", "b"], "thresholds": [0.2, 0.3], "task": "multi-label"})
    assert read_thresholds_json(old.encode()).thresholds == (0.2, 0.3)
    with pytest.raises(ValueError, match=r"do not match the model's"):
        read_thresholds_json(_binary_doc(), labels=["neg", "pos"])


# --------------------------------------------------------------------------- CLI tune


def test_cli_tune_binary_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p, y = _data()
    rows = ["ham,spam,label"] + [
        f"{1 - a!r},{a!r},{LABELS[b]}" for a, b in zip(p.tolist(), y.tolist(), strict=True)
    ]
    scores = tmp_path / "scores.csv"
    scores.write_text("\n".join(rows) + "\n")
    out = tmp_path / "t.json"
    assert main(["tune", str(scores), "--binary", "--min-tp", "0", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "binary, f1, spam when score >=" in err
    doc = read_thresholds_json(out, labels=LABELS, task="binary")
    want = tune_binary(build_binary_evaluation(p, y, labels=LABELS), "f1")
    assert doc.thresholds[0] == pytest.approx(want.threshold, abs=1e-15)
    assert (
        main(["tune", str(scores), "--binary", "--objective", "coverage>=0.9", "--out", str(out)])
        == 2
    )
    assert "binary rule never abstains" in capsys.readouterr().err
    three = tmp_path / "three.csv"
    three.write_text("a,b,c,label\n0.2,0.3,0.5,a\n")
    assert main(["tune", str(three), "--binary", "--out", str(out)]) == 2
    assert "needs two score columns" in capsys.readouterr().err


def test_cli_tune_binary_eval_on(tmp_path: Path) -> None:
    def write(name: str, seed: int) -> tuple[Path, np.ndarray, np.ndarray]:
        p, y = _data(seed=seed)
        rows = ["ham,spam,label"] + [
            f"{1 - a!r},{a!r},{LABELS[b]}" for a, b in zip(p.tolist(), y.tolist(), strict=True)
        ]
        path = tmp_path / name
        path.write_text("\n".join(rows) + "\n")
        return path, p, y

    dev, _, _ = write("dev.csv", 0)
    test, p_test, y_test = write("test.csv", 1)
    out = tmp_path / "t.json"
    argv = ["tune", str(dev), "--binary", "--eval-on", str(test), "--out", str(out)]
    assert main(argv) == 0
    doc = read_thresholds_json(out, labels=LABELS, task="binary")
    assert doc.evaluated_on is not None
    t = doc.thresholds[0]
    pred = (p_test >= t).astype(int)
    assert doc.evaluated_on["accuracy"] == pytest.approx(accuracy_score(y_test, pred))
    assert doc.evaluated_on["per_class"][1]["f1"] == pytest.approx(f1_score(y_test, pred))
    assert doc.evaluated_on["n_examples"] == len(y_test)


# --------------------------------------------------------------------------- export


@pytest.fixture(scope="module")
def binary_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tensorflow")
    from tests._own_models import build_all

    return build_all(tmp_path_factory.mktemp("binary") / "root", kinds=("binary_sigmoid",))


WORDS = ["win", "free", "prize", "now", "call", "meeting", "lunch", "report", "cash", "hi"]


def _texts(n: int = 300) -> list[str]:
    rng = np.random.default_rng(3)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 6)))) for _ in range(n)]


def test_binary_model_card_and_score_metadata(
    binary_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cls_core.modelio.registry import load_model

    model = load_model("binary_sigmoid", roots=[binary_root])
    assert model.card.binary and model.card.binary_threshold == 0.5
    assert model.labels == ("negative", "positive")
    # `score` marks the Parquet file as binary, and `tune` then writes the binary rule
    texts = _texts(60)
    src = tmp_path / "texts.csv"
    truth = ["positive" if "free" in t or "win" in t else "negative" for t in texts]
    src.write_text(
        "text,label\n" + "\n".join(f"{a},{b}" for a, b in zip(texts, truth, strict=True))
    )
    monkeypatch.setenv("CLS_MODEL_DIRS", str(binary_root))
    scores = tmp_path / "scores.parquet"
    assert (
        main(
            [
                "score",
                str(src),
                "--model",
                "binary_sigmoid",
                "--text-column",
                "text",
                "--out",
                str(scores),
            ]
        )
        == 0
    )
    out = tmp_path / "t.json"
    assert main(["tune", str(scores), "--min-tp", "0", "--out", str(out)]) == 0
    doc = read_thresholds_json(out, labels=model.labels, model="binary_sigmoid", task="binary")
    assert doc.task == "binary" and doc.model == "binary_sigmoid"
    # ... and `export` bakes that one threshold in: the three commands, end to end
    exports = tmp_path / "exports"
    exports.mkdir()
    argv = ["export", "--model", "binary_sigmoid", "--thresholds", str(out)]
    assert main([*argv, "--out", str(exports / "spam-decision")]) == 0
    from cls_core.modelio.decision_export import baked_labels

    exported = load_model("spam-decision", roots=[exports])
    scores = exported.predict(texts).scores
    want = binary_decide(scores, model.labels, doc.thresholds[0])
    assert [row[0] for row in baked_labels(exported, texts)] == want


def test_binary_threshold_chart_is_valid_vega_lite() -> None:
    import altair as alt

    from cls_core.views.charts import binary_threshold_spec

    p, y = _data()
    bev = build_binary_evaluation(p, y, labels=LABELS)
    spec = binary_threshold_spec(
        bev.threshold_sweep(max_points=100), threshold=0.4, positive="spam"
    )
    alt.LayerChart.from_dict(spec)  # validates against the Vega-Lite schema
    rows = spec["layer"][0]["data"]["values"]
    assert {r["metric"] for r in rows} == {"precision", "recall", "f1", "accuracy"}
    assert spec["layer"][1]["data"]["values"] == [{"threshold": 0.4}]


@pytest.mark.parametrize("temperature", [1.0, 1.7])
def test_exported_binary_decision_equals_the_core_rule(
    binary_root: Path, tmp_path: Path, temperature: float
) -> None:
    import tensorflow as tf

    from cls_core.modelio.adapters import serialize_examples
    from cls_core.modelio.decision_export import (
        DECISION_SIGNATURE,
        baked_decision,
        export_decision_model,
        run_classify_signature,
    )
    from cls_core.modelio.registry import load_model

    source = load_model("binary_sigmoid", roots=[binary_root])
    texts = _texts()
    p = source.predict(texts).scores[:, 1]
    # the threshold is one of the scores (as float64), so some texts sit exactly on it
    t = float(np.quantile(p, 0.4, method="lower"))
    path = tmp_path / "thresholds.json"
    path.write_text(
        json.dumps({"labels": list(source.labels), "thresholds": [t], "task": "binary"})
    )
    out_root = tmp_path / "exports"
    out_root.mkdir()
    result = export_decision_model(
        "binary_sigmoid",
        path,
        out_dir=out_root / "spam-exp",
        temperature=temperature,
        roots=[binary_root],
    )
    assert result.rule.task == "binary"
    exported = load_model("spam-exp", roots=[out_root])
    assert exported.card.binary and exported.card.binary_threshold == t
    baked = baked_decision(exported)
    assert baked is not None and baked.task == "binary" and baked.thresholds == (t,)
    serve = exported._saved_model.signatures["serving_default"]
    got = {k: v.numpy() for k, v in serve(text=tf.constant(texts)).items()}
    scores = got["scores"]
    want = binary_decide(scores, source.labels, t)
    labels = [row[0].decode() for row in got["labels"]]
    assert labels == want  # the export's labels are the core rule's, text by text
    assert got["n_fired"].tolist() == [1] * len(texts)
    classes, _ = run_classify_signature(
        exported, serialize_examples(texts, "text"), signature=DECISION_SIGNATURE
    )
    assert [c[0].decode() for c in classes] == want
    if temperature == 1.0:
        np.testing.assert_array_equal(scores[:, 1], p)
        on = scores[:, 1] == np.float32(t)
        assert on.any()  # p exactly equal to t ...
        assert all(w == "positive" for w, o in zip(want, on, strict=True) if o)  # ... is positive
    assert "positive" in want and "negative" in want


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": ("a", "b", "c"), "thresholds": (0.5,)}, r"two labels .* and one threshold"),
        ({"thresholds": (0.4, 0.6)}, r"two labels .* and one threshold"),
        ({"thresholds": (math.inf,)}, r"`thresholds\[0\]` must be in \[0, 1\]"),
        ({"thresholds": (math.nan,)}, r"`thresholds\[0\]` must be in \[0, 1\]"),
        ({"reject_threshold": 0.5}, r"`reject_threshold` must be None for a binary rule"),
    ],
)
def test_binary_decision_rule_refuses(kwargs: dict[str, Any], match: str) -> None:
    from cls_core.modelio.decision_export import DecisionRule

    args: dict[str, Any] = {"task": "binary", "labels": LABELS, "thresholds": (0.5,)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        DecisionRule(**args)


def test_card_command_says_how_a_binary_model_decides(
    binary_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["card", str(binary_root / "binary_sigmoid"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "one threshold t: positive when its score >= t (t = 0.5)" in out
