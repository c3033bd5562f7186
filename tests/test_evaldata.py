"""Evaluation data: format sniffing, UTF-8, truth parsing, scores files, reports, demo sets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cls_core.evaluation.demo_data import (
    DEMO_MODELS,
    GOEMOTIONS_LABELS,
    banking77_labels,
    demo_eval_set,
)
from cls_core.evaluation.evaldata import (
    EvalDataError,
    detect_format,
    load_scores,
    load_texts,
    parse_truth,
    read_table,
)
from cls_core.modelio.datasets import bundled_eval_splits
from cls_core.paths import data_dir

LABELS = ["joy", "anger", "fear"]


def _scores_frame(n: int = 30, *, truth: list[str] | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=n)
    frame = pd.DataFrame(p, columns=LABELS)
    frame["label"] = truth if truth is not None else [LABELS[i] for i in p.argmax(axis=1)]
    frame["text"] = [f"text {i}" for i in range(n)]
    return frame


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_every_format_reads_the_same(tmp_path: Path, fmt: str) -> None:
    frame = _scores_frame()
    path = tmp_path / f"s.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, double_precision=15)
    else:
        frame.to_parquet(path)
    assert detect_format(path) == fmt
    data = load_scores(path)
    assert data.labels == tuple(LABELS)
    assert data.task == "multi-class"
    np.testing.assert_allclose(
        data.scores, frame[LABELS].to_numpy(), rtol=1e-9
    )  # JSON text keeps 15 digits
    assert data.report.n_kept == 30
    assert data.other.columns.tolist() == ["label", "text"]
    # bytes (uploads) behave like paths
    assert load_scores(path.read_bytes(), name=path.name).sha256 == data.sha256


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        (
            "s.parquet",
            b"joy,label\n0.1,joy\n",
            r"'s.parquet' is not Parquet as its name says: its content looks like CSV",
        ),
        (
            "s.csv",
            b"PAR1\x00\x00",
            r"'s.csv' is not CSV as its name says: its content looks like Parquet",
        ),
        ("s.jsonl", b"joy,label\n0.1,joy\n", r"is not JSON lines as its name says"),
        (
            "s.csv",
            b'{"joy": 0.1}\n',
            r"is not CSV as its name says: its content looks like JSON lines",
        ),
        ("s.csv", b"", r"'s.csv' is empty"),
        ("s.csv", b"\x89PNG\r\n\x1a\n\x00\x00", r"is binary data"),
        ("s.jsonl", b'[{"joy": 0.1}]', r"is a JSON array; expected JSON lines"),
    ],
)
def test_format_lies_are_refused(name: str, content: bytes, match: str) -> None:
    with pytest.raises(EvalDataError, match=match):
        detect_format(content, name=name)


def test_invalid_utf8_names_the_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"joy,label\n0.1,caf\xe9\n")
    with pytest.raises(EvalDataError, match=r"not valid UTF-8 text: bad byte 0xe9 at offset 17"):
        read_table(path)


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(EvalDataError, match=r"does not exist"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(EvalDataError, match=r"is a directory"):
        read_table(tmp_path)


def test_header_only_and_malformed(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("joy,label\n")
    with pytest.raises(EvalDataError, match=r"has a header but no data rows"):
        read_table(tmp_path / "h.csv")
    (tmp_path / "m.jsonl").write_text('{"joy": 0.1}\n{"joy": \n')
    with pytest.raises(EvalDataError, match=r"is not a readable JSON lines file"):
        read_table(tmp_path / "m.jsonl")


@pytest.mark.parametrize(
    ("cells", "task", "indicator", "unknown", "missing"),
    [
        (
            ["joy", "fear", "anger"],
            "multi-class",
            [[1, 0, 0], [0, 0, 1], [0, 1, 0]],
            [0, 0, 0],
            [0, 0, 0],
        ),
        ([0, 2, 1], "multi-class", [[1, 0, 0], [0, 0, 1], [0, 1, 0]], [0, 0, 0], [0, 0, 0]),
        (["0", "2", "joy"], "multi-class", [[1, 0, 0], [0, 0, 1], [1, 0, 0]], [0, 0, 0], [0, 0, 0]),
        (
            ["joy;fear", "", "anger"],
            "multi-label",
            [[1, 0, 1], [0, 0, 0], [0, 1, 0]],
            [0, 0, 0],
            [0, 0, 0],
        ),
        (
            [["joy", "anger"], [], ["fear"]],
            "multi-label",
            [[1, 1, 0], [0, 0, 0], [0, 0, 1]],
            [0, 0, 0],
            [0, 0, 0],
        ),
        (
            ["joy; 2", "love", "fear"],
            "multi-label",
            [[1, 0, 1], [0, 0, 0], [0, 0, 1]],
            [0, 1, 0],
            [0, 0, 0],
        ),
        (
            ["joy", "7", None],
            "multi-class",
            [[1, 0, 0], [0, 0, 0], [0, 0, 0]],
            [0, 1, 0],
            [0, 0, 1],
        ),
    ],
)
def test_parse_truth(
    cells: list[object],
    task: str,
    indicator: list[list[int]],
    unknown: list[int],
    missing: list[int],
) -> None:
    parsed = parse_truth(
        pd.Series(cells, dtype=object) if not isinstance(cells[0], int) else pd.Series(cells),
        LABELS,
    )
    assert parsed.task == task
    assert parsed.indicator.astype(int).tolist() == indicator
    assert parsed.unknown.astype(int).tolist() == unknown
    assert parsed.missing.astype(int).tolist() == missing


def test_parse_truth_forced_multiclass_with_several_labels() -> None:
    with pytest.raises(
        EvalDataError, match=r"row 2 holds 2 labels \(joy;fear\) but the task is multi-class"
    ):
        parse_truth(["joy", "joy;fear"], LABELS, task="multi-class")


def test_unknown_labels_listed_or_dropped(tmp_path: Path) -> None:
    frame = _scores_frame()
    frame.loc[[3, 7], "label"] = ["love", "hate"]
    path = tmp_path / "u.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(
        EvalDataError, match=r"2 rows have truth labels that are not score columns: 'hate', 'love'"
    ):
        load_scores(path)
    data = load_scores(path, on_unknown="drop")
    assert data.report.n_kept == 28
    (dropped,) = data.report.dropped
    assert (dropped.reason, dropped.count, dropped.rows) == ("unknown truth labels", 2, (4, 8))
    assert any("dropped 2 rows: unknown truth labels" in line for line in data.report.lines())


@pytest.mark.parametrize(
    ("cell", "match"),
    [
        ("abc", r"non-numeric score 'abc' at row 6, column 'anger' \(1 row has bad scores\)"),
        ("", r"empty score cell at row 6, column 'anger'"),
        ("nan", r"NaN score at row 6, column 'anger'"),
        ("inf", r"infinite score inf at row 6, column 'anger'"),
    ],
)
def test_bad_score_cells_name_row_and_column(tmp_path: Path, cell: str, match: str) -> None:
    frame = _scores_frame().astype({"anger": object})
    frame.loc[5, "anger"] = cell
    path = tmp_path / "b.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(EvalDataError, match=match):
        load_scores(path)
    data = load_scores(path, on_invalid="drop")
    assert data.report.n_kept == 29
    assert data.report.dropped[0].rows == (6,)


@pytest.mark.parametrize(
    ("cells", "match"),
    [
        # a label column with more than 10 % bad cells used to be taken for a text column,
        # and its label then reported as "not a score column"
        (["nan", "nan"], r"NaN score at row 1, column 'anger' \(2 rows have bad scores\)"),
        (["", ""], r"empty score cell at row 1, column 'anger' \(2 rows have bad scores\)"),
        (
            ["abc", "0.2"],
            r"non-numeric score 'abc' at row 1, column 'anger' \(1 row has bad scores\)",
        ),
    ],
)
def test_bad_cells_in_a_small_file_still_name_row_and_column(cells: list[str], match: str) -> None:
    body = "joy,anger,fear,label\n" + "".join(
        f"0.2,{c},0.3,{lab}\n" for c, lab in zip(cells, ["anger", "joy"], strict=True)
    )
    with pytest.raises(EvalDataError, match=match + "; every score must be a finite number$"):
        load_scores(body.encode(), name="s.csv")


def test_nan_cells_do_not_hide_a_score_column_the_truth_never_names() -> None:
    body = b"joy,anger,fear,label\n0.2,0.5,nan,joy\n0.3,0.1,0.6,anger\n"
    with pytest.raises(EvalDataError, match=r"NaN score at row 1, column 'fear'"):
        load_scores(body, name="s.csv")
    data = load_scores(body, name="s.csv", on_invalid="drop")
    assert data.labels == ("joy", "anger", "fear") and data.report.n_kept == 1


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "jsonl"])
def test_duplicate_column_names_are_refused(fmt: str) -> None:
    if fmt == "parquet":
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        buf = io.BytesIO()
        pq.write_table(pa.table([[0.1], [0.2], ["joy"]], names=["joy", "joy", "label"]), buf)
        data = buf.getvalue()
    elif fmt == "jsonl":
        data = b'{"joy": 0.1, "joy": 0.2, "label": "joy"}\n'
    else:
        sep = "," if fmt == "csv" else "\t"
        data = (
            sep.join(["joy", "joy", "label"]).encode()
            + b"\n"
            + sep.join(["0.1", "0.2", "joy"]).encode()
        )
    with pytest.raises(
        EvalDataError,
        match=r"file 'd\.\w+' has duplicate column names: 'joy'; every column needs its own name",
    ):
        load_scores(data, name=f"d.{fmt}")


def test_ragged_row_names_the_line_and_field_counts() -> None:
    body = b"joy,anger,label\n0.1,0.9,anger\n0.1,0.2,0.3,joy\n"
    with pytest.raises(
        EvalDataError,
        match=r"^file 'r\.csv' is not a readable CSV file: line 3 has 4 fields; the header has 3$",
    ):
        load_scores(body, name="r.csv")


def test_one_unknown_row_is_singular() -> None:
    body = b"joy,anger,label\n0.1,0.9,anger\n0.5,0.5,boredom\n"
    with pytest.raises(
        EvalDataError,
        match=r"^file 'u\.csv': 1 row has truth labels that are not score columns: 'boredom' ",
    ):
        load_scores(body, name="u.csv")


def test_all_equal_scores_compute_with_a_warning_note() -> None:
    data = load_scores(b"joy,anger,label\n0.5,0.5,joy\n0.5,0.5,anger\n", name="e.csv")
    assert data.report.n_kept == 2
    assert data.report.notes[-1] == (
        "warning: every score is 0.5, so the scores rank nothing and no threshold separates "
        "the classes"
    )


def test_logits_are_detected_and_converted(tmp_path: Path) -> None:
    frame = _scores_frame()
    frame[LABELS] = np.log(frame[LABELS].to_numpy()) + 3.0
    data = load_scores(frame.to_csv(index=False).encode(), name="l.csv")
    assert data.score_kind == "logits"
    np.testing.assert_allclose(data.scores.sum(axis=1), 1.0)
    assert "softmax" in data.report.notes[0]
    with pytest.raises(
        EvalDataError,
        match=r"score 2\.07\d* at row 1, column 'joy' is outside \[0, 1\] \(30 rows\), so the "
        r"scores cannot be probabilities; read them as logits$",
    ):
        load_scores(frame.to_csv(index=False).encode(), name="l.csv", score_kind="probabilities")


def test_multilabel_scores_file(tmp_path: Path) -> None:
    frame = _scores_frame(truth=["joy;fear", "", "anger"] * 10)
    data = load_scores(frame.to_csv(index=False).encode(), name="m.csv")
    assert data.task == "multi-label"
    assert data.report.label_counts == {"joy": 10, "anger": 10, "fear": 10}
    ev = data.evaluation()
    assert ev.metrics_at(0.5).samples is not None


def test_scores_file_column_errors(tmp_path: Path) -> None:
    raw = _scores_frame().to_csv(index=False).encode()
    with pytest.raises(
        EvalDataError,
        match=r"has no truth column 'y'; columns are \['joy', 'anger', 'fear', 'label', 'text'\]",
    ):
        load_scores(raw, name="s.csv", truth_column="y")
    with pytest.raises(EvalDataError, match=r"lacks score columns for labels \['love'\]"):
        load_scores(raw, name="s.csv", labels=["joy", "love"])
    with pytest.raises(EvalDataError, match=r"has no score columns"):
        load_scores(b"label,text\njoy,hi\n", name="s.csv")


def test_stored_labels_in_parquet_metadata_win(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = _scores_frame()
    frame["id"] = np.arange(30, dtype=np.float64)  # a float column that is not a label
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {**table.schema.metadata, b"cls_core.labels": json.dumps(LABELS).encode()}
    )
    pq.write_table(table, tmp_path / "s.parquet")
    assert load_scores(tmp_path / "s.parquet").labels == tuple(LABELS)


def test_load_texts_reports_empty_texts() -> None:
    raw = b"text,label\nhello,joy\n   ,fear\nhi,love\nbye,anger\n"
    with pytest.raises(
        EvalDataError, match=r"1 row has truth labels the model does not know: 'love'"
    ):
        load_texts(raw, name="t.csv", text_column="text", labels=LABELS)
    data = load_texts(raw, name="t.csv", text_column="text", labels=LABELS, on_unknown="drop")
    assert data.texts == ["hello", "bye"]
    assert [(d.reason, d.rows) for d in data.report.dropped] == [
        ("empty text", (2,)),
        ("unknown truth labels", (3,)),
    ]
    with pytest.raises(EvalDataError, match=r"has no text column 'body'"):
        load_texts(raw, name="t.csv", text_column="body", labels=LABELS)


@pytest.mark.parametrize("model", DEMO_MODELS)
def test_demo_sets_are_deterministic_and_big_enough(model: str) -> None:
    frame = demo_eval_set(model)
    assert frame.columns.tolist() == ["text", "label"]
    assert len(frame) >= 150
    assert not frame["text"].duplicated().any()
    pd.testing.assert_frame_equal(frame, demo_eval_set(model))
    labels = {"banking77": banking77_labels(), "goemotions": GOEMOTIONS_LABELS}.get(
        model, ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
    )
    parsed = parse_truth(frame["label"], labels)
    assert not parsed.unknown.any()
    assert parsed.indicator.any(axis=0).all()  # every label has examples
    assert parsed.task == ("multi-label" if model == "goemotions" else "multi-class")


def test_demo_set_unknown_model() -> None:
    with pytest.raises(
        ValueError, match=r"`model_name` must be one of banking77, ekman, goemotions; got 'x'"
    ):
        demo_eval_set("x")


@pytest.mark.data
@pytest.mark.skipif(
    not (data_dir() / "goemotions").is_dir(),
    reason="datasets not found under cls_core.paths.data_dir()",
)
def test_bundled_splits_when_data_present() -> None:
    splits = bundled_eval_splits("ekman")
    assert set(splits) == {"dev", "test"}
    dev = splits["dev"]()
    assert set(dev["label"]) <= {
        "anger",
        "disgust",
        "fear",
        "joy",
        "sadness",
        "surprise",
        "neutral",
    }
    assert set(bundled_eval_splits("banking77")) == {"test"}
    assert banking77_labels() == tuple(
        json.loads((data_dir() / "banking77" / "categories.json").read_text())
    )
    go = bundled_eval_splits("goemotions")["dev"]()
    assert not parse_truth(go["label"], GOEMOTIONS_LABELS).unknown.any()


@pytest.mark.data
@pytest.mark.skipif(
    not (data_dir() / "goemotions").is_dir(),
    reason="datasets not found under cls_core.paths.data_dir()",
)
def test_bundled_splits_are_the_rows_the_model_cards_report_on() -> None:
    """The page evaluates on exactly the test rows and labels the training run measured."""
    from cls_core.modelio.training import load_banking77, load_ekman

    ekman = load_ekman(data_dir())
    test = bundled_eval_splits("ekman")["test"]()
    assert tuple(test["text"]) == ekman.test_texts
    assert [ekman.labels[i] for i in ekman.test_targets] == list(test["label"])
    banking = load_banking77(data_dir())
    test = bundled_eval_splits("banking77")["test"]()
    assert tuple(test["text"]) == banking.test_texts


def test_bundled_splits_absent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLS_DATA_DIR", str(tmp_path))
    assert bundled_eval_splits("goemotions") == {}
    assert bundled_eval_splits("banking77") == {}
