"""The examples behind the numbers, suspected label errors and slices (issue: analyst depth).

Core (cls_core.evaluation.examples / label_issues / slices), the ``errors`` command and the
threshold-tuning page's section 10, driven by AppTest.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cls_core.cli import main
from cls_core.evaluation.examples import (
    OUTCOMES,
    ExampleQuery,
    examples_frame,
    matching_rows,
    outcome_counts,
    outcomes,
    select_examples,
)
from cls_core.evaluation.label_issues import find_label_issues
from cls_core.evaluation.metrics import build_evaluation
from cls_core.evaluation.slices import (
    column_slices,
    length_slices,
    pattern_slices,
    slice_metrics,
    slice_thresholds,
)

LABELS5 = ("anger", "joy", "fear", "sadness", "neutral")


def _multiclass(n: int = 600, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    scores = rng.dirichlet(np.ones(5) * 0.4, size=n).astype(np.float32)
    truth = np.where(rng.random(n) < 0.7, scores.argmax(1), rng.integers(0, 5, n))
    return build_evaluation(scores, truth, labels=LABELS5, task="multi-class")


def _multilabel(n: int = 600, seed: int = 1):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    scores = (rng.random((n, 5)) ** 2).astype(np.float32)
    truth = rng.random((n, 5)) < scores
    return build_evaluation(scores, truth, labels=LABELS5, task="multi-label")


# --------------------------------------------------------------------------- outcomes


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    multi=st.booleans(),
    reject=st.one_of(st.none(), st.floats(0.0, 0.9)),
)
def test_outcome_counts_equal_the_metrics_counts(
    seed: int, multi: bool, reject: float | None
) -> None:
    ev = _multiclass(seed=seed) if multi else _multilabel(seed=seed)
    rng = np.random.default_rng(seed)
    # thresholds sitting exactly on scores, one float32 ulp below and above, and random
    pick = ev.scores[rng.integers(0, ev.n_examples, 5), np.arange(5)].astype(np.float64)
    kind = seed % 3
    thresholds = (
        pick
        if kind == 0
        else np.nextafter(pick.astype(np.float32), np.float32(kind == 1) * 2 - 1).astype(np.float64)
    )
    thresholds = np.clip(thresholds, 0, 1)
    r = reject if multi else None
    m = ev.metrics_at(thresholds, reject_threshold=r)
    for c in range(5):
        got = outcome_counts(outcomes(ev, c, thresholds=thresholds, reject_threshold=r))
        assert (got["tp"], got["fp"], got["fn"], got["tn"]) == (m.tp[c], m.fp[c], m.fn[c], m.tn[c])


def test_outcomes_by_hand_multilabel() -> None:
    scores = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.49999, 0.7]], dtype=np.float32)
    truth = np.array([[1, 0], [0, 1], [1, 1], [1, 0]], dtype=bool)
    ev = build_evaluation(scores, truth, labels=("a", "b"), task="multi-label")
    codes = outcomes(ev, 0, thresholds=[0.5, 0.5])
    assert [OUTCOMES[k] for k in codes] == ["tp", "fp", "fn", "fn"]  # 0.5 >= 0.5 fires


def test_outcomes_by_hand_multiclass_with_reject() -> None:
    scores = np.array([[0.7, 0.3], [0.55, 0.45], [0.2, 0.8], [0.6, 0.4]], dtype=np.float32)
    ev = build_evaluation(scores, [0, 1, 1, 1], labels=("a", "b"), task="multi-class")
    codes = outcomes(ev, 0, thresholds=[0.0, 0.0], reject_threshold=0.6)
    # row 1 abstains (0.55 < 0.6): truth b, so a TN for class a; row 3 answers a wrongly
    assert [OUTCOMES[k] for k in codes] == ["tp", "tn", "tn", "fp"]
    assert [OUTCOMES[k] for k in outcomes(ev, 1, reject_threshold=0.6)] == ["tn", "fn", "tp", "fn"]


def test_select_examples_filters_sorts_searches_and_pages() -> None:
    ev = _multilabel()
    texts = [f"text number {i}" + (" refund" if i % 4 == 0 else "") for i in range(ev.n_examples)]
    q = ExampleQuery(class_index=2, outcomes=("fp",), sort="score_desc")
    page = select_examples(ev, q, texts=texts, thresholds=[0.5] * 5, page_size=10)
    assert page.n_matching == page.counts["fp"] > 10
    assert page.n_pages == math.ceil(page.n_matching / 10)
    assert list(page.frame["outcome"]) == ["FP"] * 10
    assert page.frame["score"].is_monotonic_decreasing
    assert (page.frame["score - threshold"] >= 0).all()
    assert all(t == texts[r] for t, r in zip(page.frame["text"], page.frame["row"], strict=True))
    last = select_examples(ev, q, texts=texts, thresholds=[0.5] * 5, page=999, page_size=10)
    assert last.page == last.n_pages - 1 and 1 <= len(last.frame) <= 10
    everything, _ = matching_rows(ev, q, texts=texts, thresholds=[0.5] * 5)
    assert len(set(everything.tolist())) == page.n_matching
    found = select_examples(
        ev, ExampleQuery(class_index=2, search="REFUND"), texts=texts, page_size=1000
    )
    assert found.n_matching == sum("refund" in t for t in texts)
    near = select_examples(
        ev, ExampleQuery(class_index=0, sort="near_threshold"), thresholds=[0.3] * 5, page_size=50
    )
    d = np.abs(near.frame["score"] - 0.3).to_numpy()
    assert np.all(np.diff(d) >= 0)


def test_select_examples_confusion_cell_and_fired_labels() -> None:
    ev = _multiclass()
    page = select_examples(ev, ExampleQuery(class_index=0, cell=(0, 1), sort="row"), page_size=1000)
    cm = ev.confusion_matrix()
    assert page.n_matching == cm.matrix[0, 1]
    assert set(page.frame["true"]) <= {"anger"} and set(page.frame["fired"]) <= {"joy"}
    assert (page.frame["score - best other"] < 0).all()  # anger did not win these rows
    abstain = select_examples(
        ev, ExampleQuery(class_index=0, cell=(2, -1)), reject_threshold=0.6, page_size=1000
    )
    assert abstain.n_matching == ev.confusion_matrix(reject_threshold=0.6).matrix[2, 5]
    assert set(abstain.frame["fired"]) <= {""}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": ExampleQuery(class_index=9)}, r"`class_index` must be in \[0, 4\]"),
        ({"query": ExampleQuery(class_index=0), "page_size": 0}, "`page_size` must be in"),
        ({"query": ExampleQuery(class_index=0, search="x")}, "searching needs the texts"),
        ({"query": ExampleQuery(class_index=0), "texts": ["a"]}, "one text per row"),
        ({"query": ExampleQuery(class_index=0, cell=(0, 1))}, "needs a multi-class evaluation"),
    ],
)
def test_select_examples_refuses(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        select_examples(_multilabel(), **kwargs)


def test_example_query_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match="`outcomes` must be among"):
        ExampleQuery(class_index=0, outcomes=("xx",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`sort` must be one of"):
        ExampleQuery(class_index=0, sort="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at most 200 are accepted"):
        ExampleQuery(class_index=0, search="x" * 201)


def test_examples_frame_threshold_column_for_pure_argmax_is_empty() -> None:
    frame = examples_frame(_multiclass(), [0, 1], 0)
    assert frame["threshold"].isna().all() and frame["score - threshold"].isna().all()


# --------------------------------------------------------------------------- label issues


def test_label_issues_find_flipped_multiclass_labels() -> None:
    rng = np.random.default_rng(3)
    n = 1500
    truth = rng.integers(0, 5, n)
    logits = rng.normal(size=(n, 5))
    logits[np.arange(n), truth] += 4.0  # a confident, mostly right model
    scores = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    given = truth.copy()
    flipped = rng.choice(n, 60, replace=False)
    given[flipped] = (truth[flipped] + 1) % 5
    ev = build_evaluation(scores, given, labels=LABELS5, task="multi-class")
    issues = find_label_issues(ev)
    recall = np.isin(flipped, issues.rows).mean()
    precision = np.isin(issues.rows, flipped).mean()
    assert recall >= 0.9 and precision >= 0.7, (recall, precision)
    assert sum(issues.per_class.values()) == len(issues.rows)
    first = issues.reasons[0]
    assert first.startswith("given: ") and "; model: " in first
    frame = issues.to_frame([f"t{i}" for i in range(n)])
    assert list(frame.columns) == ["rank", "row", "text", "reason", "label_quality"]


def test_label_issues_multilabel_runs_and_names_given_labels() -> None:
    rng = np.random.default_rng(4)
    n = 800
    truth = rng.random((n, 5)) < 0.25
    scores = np.clip(0.75 * truth + 0.25 * rng.random((n, 5)), 0, 1)
    given = truth.copy()
    flipped = rng.choice(n, 40, replace=False)
    given[flipped, 0] = ~given[flipped, 0]
    issues = find_label_issues(build_evaluation(scores, given, labels=LABELS5, task="multi-label"))
    # cleanlab's multi-label search is conservative: what it flags is right (a random pick
    # would be right 5 % of the time), and it finds a good share of the flips
    assert np.isin(issues.rows, flipped).mean() >= 0.9
    assert np.isin(flipped, issues.rows).mean() >= 0.4
    assert any(r.startswith("given: anger") or ", anger" in r for r in issues.reasons)


def test_label_issues_refuse_one_class() -> None:
    ev = build_evaluation(
        np.tile([[0.9, 0.1]], (10, 1)), np.zeros(10, int), labels=("a", "b"), task="multi-class"
    )
    with pytest.raises(ValueError, match="at least 2 classes"):
        find_label_issues(ev)


# --------------------------------------------------------------------------- slices


def test_slice_metrics_overall_equals_micro_metrics_and_groups_add_up() -> None:
    for ev, reject in ((_multilabel(), None), (_multiclass(), 0.5)):
        texts = [" ".join(["w"] * (1 + i % 30)) for i in range(ev.n_examples)]
        slicing = length_slices(texts)
        thr = np.full(5, 0.4)
        table = slice_metrics(ev, slicing, thresholds=thr, reject_threshold=reject, bootstrap=200)
        m = ev.metrics_at(thr, reject_threshold=reject)
        overall = table.iloc[0]
        assert overall["slice"] == "overall" and overall["support"] == ev.n_examples
        if ev.task == "multi-label":
            assert overall["precision"] == pytest.approx(m.micro.precision)
            assert overall["recall"] == pytest.approx(m.micro.recall)
            assert overall["f1"] == pytest.approx(m.micro.f1)
        else:
            assert overall["recall"] == pytest.approx(m.accuracy)
            assert overall["precision"] == pytest.approx(m.selective_accuracy)
        assert table["support"].iloc[1:].sum() == ev.n_examples
        assert (table["f1_low"] <= table["f1"] + 1e-12).all()
        assert (table["f1"] <= table["f1_high"] + 1e-12).all()


def test_slice_metrics_for_one_class_equal_its_metrics() -> None:
    ev = _multilabel()
    slicing = column_slices(np.arange(ev.n_examples) % 3, name="fold")
    table = slice_metrics(ev, slicing, thresholds=np.full(5, 0.3), class_index=2, bootstrap=0)
    m = ev.metrics_at(np.full(5, 0.3))
    assert table.iloc[0]["precision"] == pytest.approx(m.precision[2])
    assert table.iloc[0]["recall"] == pytest.approx(m.recall[2])
    assert table["f1_low"].isna().all()


def test_length_and_pattern_slices() -> None:
    texts = ["one", "a b c d e f", "x " * 15, "y " * 40, "Refund please", "refunded"]
    s = length_slices(texts)
    assert s.groups == ("1–5 words", "6–10 words", "11–20 words", "21+ words")
    assert list(s.assignment) == [0, 1, 2, 3, 0, 0]
    kw = pattern_slices(texts, "REFUND")
    assert list(kw.assignment) == [1, 1, 1, 1, 0, 0]
    rx = pattern_slices(texts, r"^refund\b", kind="regex")
    assert list(rx.assignment) == [1, 1, 1, 1, 0, 1]


@pytest.mark.parametrize(
    ("pattern", "kind", "message"),
    [
        ("(unclosed", "regex", r"bad regular expression: missing \): \(unclosed"),
        ("[z-a]", "regex", "bad regular expression: invalid character class range: z-a"),
        (r"(a)\1", "regex", "backreferences are not supported: RE2 syntax"),
        ("(?=a)b", "regex", "lookaround and backreferences are not supported"),
        (r"[\p{L}]{1000}", "regex", "the regular expression is too large: compiled, it needs"),
        ("", "keyword", "the pattern is empty"),
        ("x" * 201, "keyword", "at most 200 are accepted"),
    ],
)
def test_pattern_slices_refuse_bad_patterns(pattern: str, kind: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pattern_slices(["a"], pattern, kind=kind)  # type: ignore[arg-type]


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|aa)+$", "^(a|a?)+$"])
def test_catastrophic_patterns_finish_with_the_right_answer(pattern: str) -> None:
    """Patterns that backtrack exponentially on "aaaa…b" (Python's re and the regex module
    took 30-40 s on 30 to 5,000 characters here, the regex module's own timeout unheeded)
    run in linear time under RE2."""
    import re
    import time

    texts = ["a" * 100_000 + "b", "a" * 30 + "b", "aaaa", "b"]
    started = time.monotonic()
    slicing = pattern_slices(texts, pattern, kind="regex", seconds=30)
    assert time.monotonic() - started < 10  # backtracking: hours or more
    # the same answers as a backtracking engine on texts too short to blow up
    assert list(slicing.assignment) == [1, 1, 0, 0 if re.search(pattern, "b") else 1]


def test_the_matching_time_budget_stops_a_long_run() -> None:
    with pytest.raises(
        ValueError, match=r"took more than 0 s \(0 of 1,000 texts\) and was stopped"
    ):
        pattern_slices(["some text"] * 1000, "text", kind="regex", seconds=0)


def test_column_slices_categorical_numeric_and_missing() -> None:
    cat = column_slices(["fr", "de", "fr", None, "it"], name="market", max_groups=2)
    assert cat.groups == ("fr", "other") and list(cat.assignment) == [0, 1, 0, -1, 1]
    num = column_slices(np.arange(100.0), name="x", bins=4)
    assert len(num.groups) == 4 and np.bincount(num.assignment).tolist() == [25, 25, 25, 25]
    with pytest.raises(ValueError, match="no values to slice by"):
        column_slices([None, None], name="empty")


def test_slice_thresholds_global_column_matches_tune() -> None:
    from cls_core.evaluation.thresholds import tune

    ev = _multilabel(n=900)
    slicing = column_slices(np.arange(ev.n_examples) % 2, name="half")
    table = slice_thresholds(ev, slicing)
    assert list(table.columns) == ["class", "global", "0", "1"]
    np.testing.assert_allclose(table["global"], tune(ev, "f1").thresholds)


# --------------------------------------------------------------------------- the errors command


@pytest.fixture
def scores_file(tmp_path: Path) -> Path:
    ev = _multilabel(n=300)
    frame = pd.DataFrame(ev.scores, columns=list(LABELS5))
    frame.insert(0, "text", [f"text {i}" for i in range(ev.n_examples)])
    frame["label"] = [";".join(np.array(LABELS5)[row]) for row in ev.truth]
    frame = frame[frame["label"] != ""]  # every row keeps a truth
    path = tmp_path / "scores.csv"
    frame.to_csv(path, index=False)
    return path


def test_errors_command_writes_the_false_positives(scores_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "fp.csv"
    thresholds = tmp_path / "t.json"
    assert main(["tune", str(scores_file), "--out", str(thresholds)]) == 0
    assert main(["errors", str(scores_file), "--thresholds", str(thresholds), "--class", "joy",
                 "--kind", "fp", "--out", str(out)]) == 0  # fmt: skip
    written = pd.read_csv(out)
    data = pd.read_csv(scores_file)
    import json

    cut = json.loads(thresholds.read_text())["thresholds"][LABELS5.index("joy")]
    expected = data[(data["joy"] >= cut) & ~data["label"].str.split(";").map(lambda x: "joy" in x)]
    assert sorted(written["row"]) == sorted(expected.index)
    assert written["text"].tolist() == data.loc[written["row"], "text"].tolist()
    assert written["score"].is_monotonic_decreasing
    assert set(written["outcome"]) == {"FP"}


def test_errors_command_label_issues(scores_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "issues.csv"
    assert main(["errors", str(scores_file), "--kind", "label-issues", "--out", str(out)]) == 0
    written = pd.read_csv(out)
    assert list(written.columns) == ["rank", "row", "text", "reason", "label_quality"]


class _ScoresAsModel:
    """A stand-in model whose scores for a text are that text's row of a scores table."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.labels = LABELS5
        self.card = type("Card", (), {"task": "multi-label"})()
        self._by_text = dict(zip(frame["text"], frame[list(LABELS5)].to_numpy(), strict=True))

    def predict(self, texts: list[str]):  # type: ignore[no-untyped-def]
        # float64: the very values the scores file holds (a float32 round trip would move
        # a score sitting exactly on the tuned threshold to the other side)
        scores = np.array([self._by_text[t] for t in texts], dtype=np.float64)
        return type("Prediction", (), {"scores": scores, "logits": scores})()


def test_errors_command_on_labelled_texts_equals_the_scores_file(
    scores_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FILE of texts + labels with --model: the same rows as the scores file of that model."""
    import sys
    import types

    data = pd.read_csv(scores_file)
    registry = types.ModuleType("cls_core.modelio.registry")
    registry.load_model = lambda name: _ScoresAsModel(data)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cls_core.modelio.registry", registry)
    labelled = tmp_path / "labelled.csv"
    data[["text", "label"]].to_csv(labelled, index=False)
    thresholds = tmp_path / "t.json"
    assert main(["tune", str(scores_file), "--out", str(thresholds)]) == 0
    for kind in ("fp", "fn"):
        from_scores, from_texts = tmp_path / f"s_{kind}.csv", tmp_path / f"t_{kind}.csv"
        common = ["--thresholds", str(thresholds), "--class", "fear", "--kind", kind]
        assert main(["errors", str(scores_file), *common, "--out", str(from_scores)]) == 0
        assert (
            main(["errors", str(labelled), "--model", "m", *common, "--out", str(from_texts)]) == 0
        )
        a, b = pd.read_csv(from_scores), pd.read_csv(from_texts)
        assert len(a) > 0 and set(a["outcome"]) == {kind.upper()}
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--kind", "fp"], "--class is required for --kind fp"),
        (["--class", "nope"], "--class 'nope' is not a label of FILE"),
        (["--class", "joy", "--limit", "-1"], "--limit must be >= 0"),
    ],
)
def test_errors_command_refuses(
    scores_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    code = main(["errors", str(scores_file), "--out", str(tmp_path / "o.csv"), *extra])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_errors_command_never_overwrites_its_input(
    scores_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = scores_file.read_bytes()
    assert main(["errors", str(scores_file), "--class", "joy", "--out", str(scores_file)]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert scores_file.read_bytes() == before


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, -1.0]), min_size=0, max_size=60),
    k=st.integers(0, 70),
)
def test_partial_sort_equals_a_stable_full_sort(values: list[float], k: int) -> None:
    from cls_core.evaluation.examples import _first_k

    key = np.asarray(values, dtype=np.float32)
    assert _first_k(key, k).tolist() == np.argsort(key, kind="stable")[:k].tolist()


def test_every_page_concatenated_is_the_full_order() -> None:
    ev = _multilabel(n=500)
    q = ExampleQuery(class_index=1, sort="near_threshold")
    full, _ = matching_rows(ev, q, thresholds=[0.4] * 5)
    pages = [select_examples(ev, q, thresholds=[0.4] * 5, page=p, page_size=37) for p in range(14)]
    joined = np.concatenate([pg.rows for pg in pages])
    assert joined.tolist() == full.tolist()


# --------------------------------------------------------------------------- compare


def test_compare_systems_deltas_equal_the_metrics_difference_and_intervals_cover_it() -> None:
    from cls_core.evaluation.compare import System, compare_systems

    for ev, reject in ((_multilabel(n=900), None), (_multiclass(n=900), 0.4)):
        a = System(name="A", evaluation=ev, thresholds=np.full(5, 0.5), reject_threshold=reject)
        b = System(name="B", evaluation=ev, thresholds=np.full(5, 0.3), reject_threshold=reject)
        result = compare_systems(a, b, bootstrap=300, seed=1)
        ma = ev.metrics_at(np.full(5, 0.5), reject_threshold=reject)
        mb = ev.metrics_at(np.full(5, 0.3), reject_threshold=reject)
        table = result.table.set_index("class")
        np.testing.assert_allclose(table["Δ f1"].iloc[:5], mb.f1 - ma.f1, atol=1e-12)
        np.testing.assert_allclose(table["Δ recall"].iloc[:5], mb.recall - ma.recall, atol=1e-12)
        assert table.loc["micro", "Δ f1"] == pytest.approx(mb.micro.f1 - ma.micro.f1)
        assert (table["Δ f1 low"] <= table["Δ f1"] + 1e-12).all()
        assert (table["Δ f1"] <= table["Δ f1 high"] + 1e-12).all()
        fa = ev.predicted(np.full(5, 0.5), reject_threshold=reject)
        fb = ev.predicted(np.full(5, 0.3), reject_threshold=reject)
        differs = (fa != fb) if fa.ndim == 1 else (fa != fb).any(axis=1)
        assert result.changed_rows.tolist() == np.flatnonzero(differs).tolist()
        assert result.improved + result.worsened <= len(result.changed_rows)


def test_compare_two_models_on_the_same_rows_uses_paired_resamples() -> None:
    """Two models (other scores, same truth) that disagree on a handful of rows: the paired
    interval of Δ micro F1 is as narrow as those rows allow, far narrower than resampling
    the two systems independently (which a paired bootstrap must not do)."""
    from cls_core.evaluation.compare import System, compare_systems

    ev_a = _multilabel(n=2000, seed=3)
    scores_b = ev_a.scores.copy()
    flip = np.arange(0, 2000, 400)  # 5 rows: model B misses every label there
    scores_b[flip] = 0.0
    ev_b = build_evaluation(scores_b, ev_a.truth, labels=LABELS5, task="multi-label")
    a = System(name="model A", evaluation=ev_a, thresholds=np.full(5, 0.5))
    b = System(name="model B", evaluation=ev_b, thresholds=np.full(5, 0.5))
    result = compare_systems(a, b, bootstrap=400, seed=2)
    ma, mb = ev_a.metrics_at(np.full(5, 0.5)), ev_b.metrics_at(np.full(5, 0.5))
    table = result.table.set_index("class")
    np.testing.assert_allclose(table["Δ precision"].iloc[:5], mb.precision - ma.precision)
    assert table.loc["micro", "Δ f1"] == pytest.approx(mb.micro.f1 - ma.micro.f1)
    fired_a, fired_b = ev_a.predicted(np.full(5, 0.5)), ev_b.predicted(np.full(5, 0.5))
    assert set(result.changed_rows.tolist()) == set(
        np.flatnonzero((fired_a != fired_b).any(axis=1)).tolist()
    ) and set(result.changed_rows.tolist()) <= set(flip.tolist())
    paired = table.loc["micro", "Δ f1 high"] - table.loc["micro", "Δ f1 low"]
    rng = np.random.default_rng(2)
    unpaired = []
    for _ in range(400):
        ia, ib = rng.integers(0, 2000, 2000), rng.integers(0, 2000, 2000)
        fa_, ta_ = fired_a[ia], ev_a.truth[ia]
        fb_, tb_ = fired_b[ib], ev_a.truth[ib]
        f1 = [2 * (f & t).sum() / (f.sum() + t.sum()) for f, t in ((fa_, ta_), (fb_, tb_))]
        unpaired.append(f1[1] - f1[0])
    width = np.quantile(unpaired, 0.975) - np.quantile(unpaired, 0.025)
    assert 0 < paired < width / 5


def test_compare_identical_systems_have_zero_width_intervals() -> None:
    from cls_core.evaluation.compare import System, compare_systems

    ev = _multilabel()
    same = System(name="A", evaluation=ev, thresholds=np.full(5, 0.5))
    result = compare_systems(same, System(name="B", evaluation=ev, thresholds=np.full(5, 0.5)))
    assert len(result.changed_rows) == 0
    assert (result.table["Δ f1 low"] == 0).all() and (result.table["Δ f1 high"] == 0).all()


def test_compare_refuses_systems_on_different_data() -> None:
    from cls_core.evaluation.compare import System, compare_systems

    with pytest.raises(ValueError, match="same rows with the same truth"):
        compare_systems(
            System(name="A", evaluation=_multilabel(seed=1)),
            System(name="B", evaluation=_multilabel(seed=2)),
        )
    with pytest.raises(ValueError, match="share task and labels"):
        compare_systems(
            System(name="A", evaluation=_multilabel()), System(name="B", evaluation=_multiclass())
        )


def test_slice_chart_is_a_valid_vega_lite_spec_with_nan_bounds() -> None:
    import json

    from cls_core.views.charts import slice_metrics_chart, slice_metrics_spec

    ev = _multilabel()
    texts = ["w " * (1 + i % 9) for i in range(ev.n_examples)]
    table = slice_metrics(ev, length_slices(texts), bootstrap=100)  # "21+ words" is empty
    spec = slice_metrics_spec(table)
    json.dumps(spec, allow_nan=False)  # strict JSON: NaN became null
    slice_metrics_chart(table)  # validates against the Vega-Lite schema
    assert {row["slice"] for row in spec["data"]["values"]} == set(table["slice"].iloc[1:])
