"""``tune --runner direct``: the Beam pipeline (FnApiRunner, multi_processing, 2 workers)
against the in-process ``tune`` on the same rows.

Fields that legitimately differ and are left out of the comparison: ``pipeline`` (only the
pipeline writes it: runner and shard count), ``data_sha256`` when the input is several
shards (then a digest of the shards' digests), and with ``--bootstrap`` the interval
bounds and ``bootstrap.method`` (Poisson instead of multinomial resampling).
Each pipeline run costs ~10-15 s of worker start-up here, so runs are shared per module.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cls_core.cli import main
from cls_core.evaluation.metrics import build_evaluation
from cls_core.evaluation.thresholds import bootstrap_intervals, parse_objective, tune
from cls_core.pipelines.bootstrap import poisson_weights

pytestmark = pytest.mark.slow

LABELS = ["joy", "anger", "fear", "love", "other"]


def _scores(n: int, task: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, len(LABELS))) * 2
    if task == "multi-class":
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        p = p.astype(np.float32)
        ids = np.where(rng.random(n) < 0.6, p.argmax(1), rng.integers(0, len(LABELS), n))
        truth = [LABELS[i] for i in ids]
    else:
        p = (1 / (1 + np.exp(-logits))).astype(np.float32)
        hold = rng.random((n, len(LABELS))) < p
        truth = [";".join(lab for lab, h in zip(LABELS, row, strict=True) if h) for row in hold]
    frame = pd.DataFrame(p, columns=LABELS)
    frame.insert(0, "text", [f"text {i}" for i in range(n)])
    frame["label"] = truth
    return frame


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("beam_tune")
    ml = _scores(2000, "multi-label", 1)
    ml.to_csv(root / "ml.csv", index=False)
    (root / "shards").mkdir()
    ml.iloc[:1200].to_csv(root / "shards" / "part-0.csv", index=False)
    ml.iloc[1200:].to_csv(root / "shards" / "part-1.csv", index=False)
    _scores(2000, "multi-class", 2).to_csv(root / "mc.csv", index=False)
    bad = _scores(50, "multi-class", 3)
    bad.to_csv(root / "other-0.csv", index=False)
    bad.rename(columns={"fear": "scared"}).to_csv(root / "other-1.csv", index=False)
    cell = bad.astype({"joy": object})
    cell.loc[17, "joy"] = "oops"
    cell.to_csv(root / "cell.csv", index=False)
    return {"root": root}


def _without(doc: dict[str, object], *keys: str) -> dict[str, object]:
    return {k: v for k, v in doc.items() if k not in keys}


def test_multilabel_shards_equal_in_process(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = files["root"]
    common = ["--objective", "precision>=0.7", "--min-tp", "5"]
    assert (
        _run(["tune", str(root / "ml.csv"), *common, "--out", str(root / "a.json")], capsys)[0] == 0
    )
    code, err = _run(
        [
            "tune",
            str(root / "shards" / "part-*.csv"),
            *common,
            "--runner",
            "direct",
            "--out",
            str(root / "b.json"),
        ],
        capsys,
    )
    assert code == 0, err
    assert "2000 rows read, 2000 kept (multi-label)" in err
    a = json.loads((root / "a.json").read_text())
    b = json.loads((root / "b.json").read_text())
    assert b["pipeline"] == {"runner": "direct", "shards": 2}
    assert "bucketing" not in b
    assert _without(b, "pipeline", "data_sha256") == _without(a, "data_sha256")


def test_multiclass_equals_in_process_with_bootstrap(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = files["root"]
    common = ["--objective", "f1", "--bootstrap", "200", "--seed", "3"]
    assert (
        _run(["tune", str(root / "mc.csv"), *common, "--out", str(root / "c.json")], capsys)[0] == 0
    )
    code, err = _run(
        [
            "tune",
            str(root / "mc.csv"),
            *common,
            "--runner",
            "direct",
            "--out",
            str(root / "d.json"),
        ],
        capsys,
    )
    assert code == 0, err
    a = json.loads((root / "c.json").read_text())
    b = json.loads((root / "d.json").read_text())
    assert b["bootstrap"] == {**a["bootstrap"], "method": "poisson"}
    bounds = {
        f"{m}_{s}" for m in ("threshold", "precision", "recall", "f1") for s in ("low", "high")
    }
    strip = [{k: v for k, v in row.items() if k not in bounds} for row in b["per_class"]]
    assert strip == [{k: v for k, v in row.items() if k not in bounds} for row in a["per_class"]]
    assert _without(b, "pipeline", "per_class", "bootstrap") == _without(
        a, "per_class", "bootstrap"
    )
    for row in b["per_class"]:  # every interval holds its point estimate
        for m in ("precision", "recall", "f1", "threshold"):
            assert row[f"{m}_low"] <= row[m] <= row[f"{m}_high"]


def test_parquet_row_groups_with_fanout_equal_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Parquet shards (float32 scores, a text column, several row groups each) read for
    the score and truth columns only, merged through an intermediate fanout level: the same
    thresholds.json as the in-process ``tune`` on one file of the same rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cls_core.pipelines.options import pipeline_options
    from cls_core.pipelines.tune import run_tune_pipeline, write_pipeline_thresholds

    frame = _scores(3000, "multi-label", 4)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, tmp_path / "all.parquet")
    (tmp_path / "shards").mkdir()
    pq.write_table(table.slice(0, 1700), tmp_path / "shards" / "part-0.parquet", row_group_size=500)
    pq.write_table(table.slice(1700), tmp_path / "shards" / "part-1.parquet", row_group_size=500)
    code, err = _run(
        ["tune", str(tmp_path / "all.parquet"), "--out", str(tmp_path / "a.json")], capsys
    )
    assert code == 0, err
    result = run_tune_pipeline(
        str(tmp_path / "shards" / "part-*.parquet"),
        pipeline_options("direct"),
        objective="f1",
        fanout=3,
    )
    assert result.report.n_rows == 3000 and result.plan.task == "multi-label"
    b = write_pipeline_thresholds(result, tmp_path / "b.json", runner="direct")
    a = json.loads((tmp_path / "a.json").read_text())
    assert _without(b, "pipeline", "data_sha256") == _without(a, "data_sha256")
    with pytest.raises(ValueError, match="`fanout` must be an int >= 0 or None; got -1"):
        run_tune_pipeline(str(tmp_path / "all.parquet"), pipeline_options("direct"), fanout=-1)


@pytest.mark.parametrize(
    ("pattern", "extra", "message"),
    [
        ("nothing-*.csv", [], r"^error: no file matches '.*nothing-\*\.csv'; expected a glob"),
        ("missing.csv", [], r"^error: file '.*missing\.csv' does not exist"),
        (
            "other-*.csv",
            [],
            r"^error: shard '.*other-1\.csv' has a different header from '.*other-0\.csv'",
        ),
        ("cell.csv", [], r"^error: shard 'cell\.csv': 'oops' at row 18, column 'joy'"),
        ("mc.csv", ["--eval-on", "x.csv"], r"^error: --eval-on is not supported with --runner"),
        ("mc.csv", ["--beam-option=--no_such_flag=1"], r"^error: unknown Beam option"),
        (
            "mc.csv",
            ["--task", "multi-label", "--objective", "coverage>=0.5"],
            r"needs a multi-class task",
        ),
    ],
)
def test_bad_inputs_fail_with_one_line(
    files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    pattern: str,
    extra: list[str],
    message: str,
) -> None:
    root = files["root"]
    code, err = _run(
        ["tune", str(root / pattern), "--runner", "direct", *extra, "--out", str(root / "z.json")],
        capsys,
    )
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in err


def test_poisson_weights_are_row_functions() -> None:
    """Weights depend on (shard, row, seed, replicate) only: any split gives the same."""
    whole = poisson_weights("s.csv", np.arange(1, 1001), seed=7, n_resamples=50)
    parts = np.concatenate(
        [
            poisson_weights("s.csv", np.arange(a, b), seed=7, n_resamples=50)
            for a, b in ((1, 300), (300, 1001))
        ]
    )
    assert np.array_equal(whole, parts)
    assert abs(whole.mean() - 1.0) < 0.02 and abs(whole.var() - 1.0) < 0.05
    assert not np.array_equal(
        whole, poisson_weights("s.csv", np.arange(1, 1001), seed=8, n_resamples=50)
    )


def test_poisson_ci_widths_agree_with_in_process(tmp_path: Path) -> None:
    """On 20,000 rows the Poisson intervals' widths match the multinomial ones within 35 %
    (mean over classes of precision/recall/F1/threshold widths): the schemes agree for
    large n, the tolerance covers the Monte Carlo error of 200 replicates."""
    from cls_core.pipelines.bootstrap import (
        PoissonBootstrapCombineFn,
        bootstrap_grid,
        intervals_from_replicates,
    )
    from cls_core.pipelines.histogram import ScoreBatch, ScoreHistogram
    from cls_core.pipelines.tune import tune_from_histogram

    frame = _scores(20_000, "multi-class", 4)
    scores = frame[LABELS].to_numpy(np.float64)
    ids = np.array([LABELS.index(x) for x in frame["label"]])
    obj = parse_objective("f1")
    ev = build_evaluation(scores, ids, labels=LABELS, task="multi-class")
    point = tune(ev, obj)
    ref = bootstrap_intervals(ev, obj, thresholds=point.thresholds, n_resamples=200, seed=0)
    hist = ScoreHistogram(len(LABELS), "winner")
    hist.add(ScoreBatch(scores=scores, truth=ids))
    tuned = tune_from_histogram(hist, LABELS, "multi-class", obj)
    grid = bootstrap_grid(hist, tuned.metrics.thresholds, n_resamples=200, seed=0)
    fn = PoissonBootstrapCombineFn(grid, len(LABELS))
    accs = []
    for i in range(0, 20_000, 5000):  # four workers' accumulators, merged
        rows = np.arange(i + 1, i + 5001)
        accs.append(
            fn.add_input(
                fn.create_accumulator(),
                ScoreBatch(
                    scores=scores[i : i + 5000], truth=ids[i : i + 5000], shard="s.csv", rows=rows
                ),
            )
        )
    got = intervals_from_replicates(fn.merge_accumulators(accs), grid, obj, tuned.metrics)
    for m in ("precision", "recall", "f1", "threshold"):
        w_ref = float(np.mean(getattr(ref, f"{m}_high") - getattr(ref, f"{m}_low")))
        w_got = float(np.mean(getattr(got, f"{m}_high") - getattr(got, f"{m}_low")))
        assert 0.65 <= w_got / w_ref <= 1.35, (m, w_got, w_ref)


def test_pipeline_flags_need_runner(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = files["root"]
    code, err = _run(
        ["tune", str(root / "mc.csv"), "--max-distinct", "10", "--out", str(root / "y.json")],
        capsys,
    )
    assert code == 2
    assert (
        err.strip()
        == "error: --max-distinct and --beam-option need --runner (in process, tune is exact)"
    )


def _plan(**changes: object) -> object:
    from cls_core.pipelines.tune import TunePlan

    base: dict[str, object] = {
        "labels": ("a", "b"),
        "truth_column": "label",
        "task": "multi-class",
        "score_kind": "probabilities",
        "kind_given": False,
        "task_given": False,
        "reading": "",
        "drop_unknown": False,
    }
    return TunePlan(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("frame", "plan", "message"),
    [
        ({"a": [0.2, 0.9], "b": [0.8, 0.1], "label": ["a", "a;b"]}, {}, r"pass --task\)$"),
        (
            {"a": [0.2, 1.5], "b": [0.8, 0.1], "label": ["a", "b"]},
            {},
            r"pass --scores-are logits\)$",
        ),
        (
            {"a": [0.2, 0.5], "b": [0.8, 0.1], "label": ["a", "c"]},
            {},
            r"not score columns: 'c' \(use --drop-unknown",
        ),
        ({"a": [0.2, "x"], "b": [0.8, 0.1], "label": ["a", "b"]}, {}, r"'x' at row 11, column 'a'"),
    ],
)
def test_chunk_contradicting_the_plan_names_the_flag(
    frame: dict[str, list[object]], plan: dict[str, object], message: str
) -> None:
    """What the first rows decided is checked on every chunk: a contradiction is an error
    that says which flag to pass, never a silently different result."""
    from cls_core.pipelines.tune import parse_chunk

    batch, report = parse_chunk(pd.DataFrame(frame), _plan(**plan), shard="s.csv", first_row=10)  # type: ignore[arg-type]
    assert batch is None and report.problem is not None
    assert re.search(message, report.problem[2]), report.problem[2]


def test_chunk_with_drop_unknown_counts_dropped_rows() -> None:
    from cls_core.pipelines.tune import parse_chunk

    frame = pd.DataFrame({"a": [0.2, 0.5, 0.7], "b": [0.8, 0.5, 0.3], "label": ["a", "c", "b"]})
    batch, report = parse_chunk(frame, _plan(drop_unknown=True), shard="s.csv", first_row=1)  # type: ignore[arg-type]
    assert batch is not None and report.problem is None
    assert report.n_rows == 3 and report.n_kept == 2
    assert report.dropped == (("unknown truth labels", 1),)
    assert batch.rows is not None and batch.rows.tolist() == [1, 3]
