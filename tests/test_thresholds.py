"""Optimisers vs brute force, reject thresholds, bootstrap, thresholds.json round trip and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cls_core.evaluation.metrics import build_evaluation, build_sweep
from cls_core.evaluation.thresholds import (
    Objective,
    bayes_threshold,
    bootstrap_intervals,
    choose_reject_threshold,
    choose_thresholds,
    cost_curve,
    few_positive_warnings,
    parse_objective,
    read_thresholds_json,
    sha256_of,
    thresholds_file,
    tune,
    write_thresholds_json,
)


def _brute_force(scores: np.ndarray, truth: np.ndarray, objective: Objective) -> float:
    """Try every distinct score (+ never fire) with the documented tie rules."""
    distinct = np.unique(scores)[::-1]
    never = np.nextafter(distinct[0], np.inf)
    candidates = ([never] if never <= 1.0 else []) + distinct.tolist()
    n_pos = truth.sum()
    rows = []
    for t in candidates:
        fired = scores >= t
        tp = int((fired & truth).sum())
        fp = int((fired & ~truth).sum())
        fn = int(n_pos - tp)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / n_pos if n_pos else 0.0
        rows.append((t, tp, fp, fn, p, r))

    def first_best(items: list[tuple[float, ...]], key: object) -> float:
        best = max(key(x) for x in items)  # type: ignore[operator]
        return next(x for x in items if key(x) == best)[0]  # type: ignore[operator]

    if objective.kind == "fbeta":
        b2 = objective.beta**2

        def f(x: tuple[float, ...]) -> float:
            d = (1 + b2) * x[1] + b2 * x[3] + x[2]
            return (1 + b2) * x[1] / d if d else 0.0

        return first_best(rows, f)
    if objective.kind == "min_cost":
        return first_best(rows, lambda x: -(objective.cost_fp * x[2] + objective.cost_fn * x[3]))
    if objective.kind == "precision_at_least":
        ok = [x for x in rows if x[4] >= objective.target and x[1] > 0]
        if ok:
            return first_best(ok, lambda x: (x[5], x[4]))
        return first_best(rows, lambda x: (x[4], x[5]))
    ok = [x for x in rows if x[5] >= objective.target and n_pos > 0]
    if ok:
        return first_best(ok, lambda x: (x[4], x[5]))
    return first_best(rows, lambda x: (x[5], x[4]))


OBJECTIVES = [
    "f1",
    "fbeta:0.5",
    "fbeta:2",
    "precision>=0.7",
    "recall>=0.8",
    "cost:fp=1,fn=4",
    "cost:fp=3,fn=1",
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10), st.booleans()), min_size=1, max_size=25),
    st.sampled_from(OBJECTIVES),
)
def test_optimisers_match_brute_force(rows: list[tuple[int, bool]], spec: str) -> None:
    scores = np.array([s / 10 for s, _ in rows])
    truth = np.array([t for _, t in rows])
    objective = parse_objective(spec)
    sweep = build_sweep(scores[:, None], truth[:, None], labels=["a"])
    chosen = choose_thresholds(sweep, objective).choices[0]
    assert chosen.threshold == _brute_force(scores, truth, objective)
    fired = scores >= chosen.threshold
    assert chosen.tp == int((fired & truth).sum())
    assert chosen.fp == int((fired & ~truth).sum())


def test_f1_threshold_by_hand_and_infeasible_precision() -> None:
    scores = np.array([[0.9], [0.8], [0.7], [0.4], [0.3]])
    truth = np.array([[1], [0], [1], [1], [0]])
    sweep = build_sweep(scores, truth, labels=["a"])
    best = choose_thresholds(sweep, "f1").choices[0]
    assert (best.threshold, best.tp, best.fp) == (0.4, 3, 1)
    assert best.f1 == pytest.approx(6 / 7)
    impossible = choose_thresholds(sweep, "precision>=0.99")
    assert impossible.choices[0].feasible  # 0.9 alone has precision 1
    never = choose_thresholds(
        build_sweep(scores, 1 - truth, labels=["a"]), "precision>=0.99"
    ).choices[0]
    assert not never.feasible


def test_cost_curve_and_bayes_point() -> None:
    scores = np.array([[0.9], [0.6], [0.2]])
    curve = build_sweep(scores, np.array([[1], [0], [1]]), labels=["a"]).curves[0]
    cc = cost_curve(curve, cost_fp=1, cost_fn=3)
    # never fire: 2 FN = 6; >=0.9: 1 FN = 3; >=0.6: 1 FP + 1 FN = 4; >=0.2: 1 FP = 1
    assert cc.expected_cost.tolist() == pytest.approx([2.0, 1.0, 4 / 3, 1 / 3])
    assert (cc.best_threshold, cc.best_cost) == (0.2, pytest.approx(1 / 3))
    assert cc.bayes_threshold == 0.25 == bayes_threshold(1, 3)


def test_reject_threshold_choices() -> None:
    scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    ev = build_evaluation(scores, np.array([0, 1, 1, 0]), labels=["a", "b"], task="multi-class")
    cov = choose_reject_threshold(ev.coverage_curve, "coverage>=0.5")
    assert (cov.threshold, cov.coverage, cov.feasible) == (0.8, 0.5, True)
    acc = choose_reject_threshold(ev.coverage_curve, "accuracy>=0.7")
    assert (acc.threshold, acc.coverage, acc.accuracy) == (0.6, 1.0, 0.75)
    none = choose_reject_threshold(ev.coverage_curve, parse_objective("accuracy>=1"))
    assert (none.threshold, none.feasible) == (0.9, True)
    result = tune(ev, "coverage>=0.5")
    assert result.reject_threshold == 0.8
    assert result.metrics.coverage == 0.5


def _synthetic(seed: int = 0, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.random((n, 3))
    truth = rng.random((n, 3)) < scores * np.array([0.9, 0.5, 0.2])
    return scores, truth


def test_bootstrap_is_seeded_and_contains_point_estimates() -> None:
    scores, truth = _synthetic()
    ev = build_evaluation(scores, truth, labels=["a", "b", "c"], task="multi-label")
    first = tune(ev, "f1", bootstrap=200, seed=3)
    again = tune(ev, "f1", bootstrap=200, seed=3)
    other = tune(ev, "f1", bootstrap=200, seed=4)
    assert (
        first.bootstrap is not None and again.bootstrap is not None and other.bootstrap is not None
    )
    np.testing.assert_array_equal(first.bootstrap.threshold_low, again.bootstrap.threshold_low)
    assert not np.array_equal(first.bootstrap.f1_low, other.bootstrap.f1_low)
    b, m = first.bootstrap, first.metrics
    assert np.all(b.threshold_low <= first.thresholds) and np.all(
        first.thresholds <= b.threshold_high
    )
    for name in ("precision", "recall", "f1"):
        point = getattr(m, name)
        assert np.all(getattr(b, f"{name}_low") <= point) and np.all(
            point <= getattr(b, f"{name}_high")
        )
    width = b.f1_high - b.f1_low
    assert np.all(width > 0) and np.all(width < 0.2)


def test_bootstrap_capped_grid_and_multiclass_reject() -> None:
    scores, truth = _synthetic(1)
    ev = build_evaluation(scores, truth, labels=["a", "b", "c"], task="multi-label")
    capped = bootstrap_intervals(ev, "recall>=0.5", n_resamples=200, max_candidates=16)
    assert np.all(capped.threshold_low <= capped.threshold_high)
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(3), size=800)
    ids = np.where(rng.random(800) < 0.7, probs.argmax(axis=1), rng.integers(0, 3, 800))
    mc = build_evaluation(probs, ids, labels=["a", "b", "c"], task="multi-class")
    result = tune(mc, "accuracy>=0.8", bootstrap=200, seed=1)
    b = result.bootstrap
    assert b is not None and b.reject_threshold_low is not None and b.coverage_low is not None
    assert b.reject_threshold_low <= result.reject_threshold <= b.reject_threshold_high  # type: ignore[operator]
    assert b.coverage_low <= result.metrics.coverage <= b.coverage_high  # type: ignore[operator]


def test_few_positive_warnings() -> None:
    assert few_positive_warnings([0, 3, 10], ["a", "b", "c"]) == (
        "class 'a' has no positive examples: recall and F1 are undefined (reported as 0)",
        "class 'b' has only 3 positive examples (< 10): its threshold and metrics are unreliable",
    )
    assert few_positive_warnings([1], ["a"]) == (
        "class 'a' has only 1 positive example (< 10): its threshold and metrics are unreliable",
    )
    scores, truth = _synthetic()
    truth[:, 2] = False
    truth[:4, 2] = True
    ev = build_evaluation(scores, truth, labels=["a", "b", "c"], task="multi-label")
    assert any("'c' has only 4 positive" in w for w in tune(ev, "f1").warnings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("f1", "f1"),
        ("F1", "f1"),
        ("fbeta:0.5", "fbeta:0.5"),
        ("fbeta:1", "f1"),
        ("precision >= 0.9", "precision>=0.9"),
        ("recall>=.75", "recall>=0.75"),
        ("cost:fp=1,fn=5", "cost:fp=1,fn=5"),
        ("coverage>=0.8", "coverage>=0.8"),
        ("accuracy>=0.95", "accuracy>=0.95"),
    ],
)
def test_parse_objective(text: str, expected: str) -> None:
    assert str(parse_objective(text)) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("f2", r"must be one of f1, fbeta:B"),
        ("precision>0.9", r"must be one of"),
        (
            "precision>=1.5",
            r"out of range: objective precision_at_least needs a target in \(0, 1\]",
        ),
        ("recall>=0", r"needs a target in \(0, 1\]"),
        ("fbeta:0", r"needs a finite beta > 0"),
        ("cost:fp=0,fn=0", r"needs fp \+ fn > 0"),
        ("cost:fp=1", r"must be one of"),
        ("", r"must be one of"),
    ],
)
def test_parse_objective_errors(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_objective(text)


def test_parse_objective_type_error() -> None:
    with pytest.raises(TypeError, match=r"`objective` must be a str; got int 1"):
        parse_objective(1)  # type: ignore[arg-type]


def test_thresholds_json_round_trip(tmp_path: Path) -> None:
    scores, truth = _synthetic()
    ev = build_evaluation(scores, truth, labels=["a", "b", "c"], task="multi-label")
    result = tune(ev, "f1", bootstrap=200)
    doc = thresholds_file(
        result.metrics,
        objective=result.objective,
        data_sha256=sha256_of(b"x"),
        model="m",
        bootstrap=result.bootstrap,
    )
    path = tmp_path / "thresholds.json"
    write_thresholds_json(doc, path)
    data = json.loads(path.read_text())
    assert list(data)[:9] == [
        "labels",
        "thresholds",
        "objective",
        "task",
        "n_examples",
        "data_sha256",
        "per_class",
        "micro",
        "macro",
    ]
    assert data["per_class"][0].keys() >= {
        "label",
        "threshold",
        "precision",
        "recall",
        "f1",
        "support",
        "tp",
        "fp",
        "fn",
        "f1_low",
        "f1_high",
    }
    assert "reject_threshold" not in data and data["model"] == "m"
    back = read_thresholds_json(path, labels=["a", "b", "c"], model="m")
    assert back == read_thresholds_json(path.read_bytes())
    assert back.thresholds == tuple(result.thresholds.tolist())
    assert back.micro == doc.micro


def test_multiclass_document_has_reject_keys() -> None:
    probs = np.array([[0.7, 0.3], [0.4, 0.6], [0.55, 0.45]])
    ev = build_evaluation(probs, np.array([0, 1, 1]), labels=["a", "b"], task="multi-class")
    data = thresholds_file(ev.metrics_at(reject_threshold=0.6)).to_dict()
    assert data["reject_threshold"] == 0.6
    assert data["coverage"] == pytest.approx(2 / 3)
    assert data["accuracy"] == 1.0
    assert data["thresholds"] == [0.6, 0.6]


def _doc(**changes: object) -> bytes:
    base: dict[str, object] = {
        "labels": ["a", "b"],
        "thresholds": [0.5, 0.25],
        "objective": "f1",
        "task": "multi-label",
        "n_examples": 10,
        "data_sha256": "0" * 64,
        "micro": {"precision": 0.5, "recall": 0.5, "f1": 0.5},
        "model": "goemotions",
    }
    base.update(changes)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode()


@pytest.mark.parametrize(
    ("raw", "kwargs", "match"),
    [
        (b"{not json", {}, r"malformed JSON at line 1, column 2"),
        (b"\xff\xfe", {}, r"not UTF-8"),
        (b"[1, 2]", {}, r"expected a JSON object; got list"),
        (_doc(labels=...), {}, r"missing key `labels`"),
        (_doc(thresholds=[0.5]), {}, r"`thresholds` must be a list of 2 numbers"),
        (_doc(thresholds=[0.5, 1.5]), {}, r"`thresholds\[1\]` must be in \[0, 1\]; got 1.5"),
        (_doc(thresholds=[0.5, "x"]), {}, r"`thresholds\[1\]` must be a number"),
        (_doc(labels=["a", "a"]), {}, r"must be unique"),
        (_doc(task="ranking"), {}, r"`task` must be one of"),
        (_doc(data_sha256="xyz"), {}, r"`data_sha256` must be 64 lowercase hex"),
        (_doc(micro={"f1": -0.1}), {}, r"`micro.f1` must be in \[0, 1\]"),
        (_doc(n_examples=-1), {}, r"`n_examples` must be an integer >= 0"),
        (_doc(coverage=2), {}, r"`coverage` must be in \[0, 1\]"),
        (
            _doc(),
            {"labels": ["a", "c"]},
            r"do not match the model's 2 labels \(missing 'c'; unexpected 'b'\)",
        ),
        # only one side differs: no empty "missing []" part
        (_doc(), {"labels": ["a", "b", "c"]}, r"3 labels \(missing 'c'\)$"),
        (
            _doc(),
            {"labels": ["a"]},
            r"its 2 labels do not match the model's 1 label \(unexpected 'b'\)$",
        ),
        (_doc(), {"labels": ["b", "a"]}, r"same labels in a different order"),
        (_doc(), {"model": "ekman"}, r"made for model 'goemotions', not 'ekman'"),
        (
            _doc(),
            {"task": "multi-class"},
            r"it holds multi-label thresholds, but this data is multi-class",
        ),
    ],
)
def test_read_thresholds_json_errors(raw: bytes, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        read_thresholds_json(raw, **kwargs)  # type: ignore[arg-type]


def test_read_thresholds_json_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"cannot read it"):
        read_thresholds_json(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda ev: choose_thresholds(ev.sweep, "coverage>=0.5"),
            ValueError,
            r"use choose_reject_threshold",
        ),
        (lambda ev: tune(ev, "coverage>=0.5"), ValueError, r"needs a multi-class evaluation"),
        (
            lambda ev: tune(ev, "f1", bootstrap=50),
            ValueError,
            r"`bootstrap` must be >= 200; got 50",
        ),
        (
            lambda ev: bootstrap_intervals(ev, "f1", n_resamples=200, confidence=1.5),
            ValueError,
            r"`confidence` must be in \(0, 1\)",
        ),
        (
            lambda ev: bootstrap_intervals(ev, "f1", n_resamples=200, seed=-1),
            ValueError,
            r"`seed` must be >= 0",
        ),
        (
            lambda ev: choose_reject_threshold(ev.coverage_curve, "f1"),
            ValueError,
            r"only defined for multi-class",
        ),
    ],
)
def test_tuning_errors(call: object, error: type[Exception], match: str) -> None:
    scores, truth = _synthetic(n=50)
    ev = build_evaluation(scores, truth, labels=["a", "b", "c"], task="multi-label")
    with pytest.raises(error, match=match):
        call(ev)  # type: ignore[operator]


def test_cost_objective_errors() -> None:
    with pytest.raises(ValueError, match=r"needs finite costs >= 0; got fp=-1.0"):
        bayes_threshold(-1, 1)
