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


# --------------------------------------------------------------------------- issue 16: hostile files


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    return ("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n").encode()


def test_numbers_as_column_names_read_whole_number_truth_as_names() -> None:
    """Columns "1","0" and 0/1 truth: 0 is column "0" (was: class id 0 = column "1")."""
    data = load_scores(
        _csv(["1", "0", "label"], [[0.9, 0.1, 1], [0.2, 0.8, 0], [0.7, 0.3, 1]]), name="b.csv"
    )
    assert data.labels == ("1", "0")
    assert data.truth.ids is not None
    assert data.truth.ids.tolist() == [0, 1, 0]  # positions of columns "1", "0", "1"
    assert "truth: whole numbers read as label names" in "\n".join(data.report.lines())
    assert data.evaluation().metrics_at(np.full(2, 0.5)).macro.f1 == pytest.approx(1.0)


def test_star_ratings_one_to_five_are_names() -> None:
    rows = [[0.8 if j == i % 5 else 0.05 for j in range(5)] + [i % 5 + 1] for i in range(10)]
    data = load_scores(_csv(["1", "2", "3", "4", "5", "label"], rows), name="stars.csv")
    assert data.truth.ids is not None
    assert data.truth.ids.tolist() == [i % 5 for i in range(10)]
    # an unknown rating is dropped, and rating 1 still goes to column "1", not "2"
    rows.append([0.2] * 5 + [6])
    dropped = load_scores(
        _csv(["1", "2", "3", "4", "5", "label"], rows), name="stars.csv", on_unknown="drop"
    )
    assert dropped.truth.ids is not None
    assert dropped.truth.ids.tolist() == [i % 5 for i in range(10)]
    assert dropped.report.dropped[0].detail == "'6'"


def test_whole_number_truth_is_class_ids_when_labels_are_words_and_says_so() -> None:
    data = load_scores(
        _csv(["joy", "anger", "label"], [[0.9, 0.1, 0], [0.2, 0.8, 1]]), name="s.csv"
    )
    assert data.truth.ids is not None
    assert data.truth.ids.tolist() == [0, 1]
    assert (
        "truth: whole numbers read as 0-based class ids (0 is the label 'joy')"
        in data.report.lines()
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("s.csv", b"joy,anger,label\n0.1,0.9,\n0.2,0.8,\n"),
        ("s.csv", b"joy,anger,label\n0.1,0.9,nan\n0.2,0.8,NaN\n"),
        (
            "s.jsonl",
            b'{"joy": 0.1, "anger": 0.9, "label": null}\n{"joy": 0.2, "anger": 0.8, "label": null}\n',
        ),
    ],
    ids=["empty", "nan", "jsonl-null"],
)
def test_truth_empty_in_every_row_is_refused(name: str, content: bytes) -> None:
    with pytest.raises(EvalDataError, match=r"the truth column 'label' is empty in every row"):
        load_scores(content, name=name)


def test_truth_empty_in_every_row_is_refused_for_labelled_texts() -> None:
    with pytest.raises(EvalDataError, match=r"the truth column 'label' is empty in every row"):
        load_texts(b"text,label\nhello,\nworld,\n", name="t.csv", text_column="text", labels=LABELS)


def _parquet(frame: pd.DataFrame) -> bytes:
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("column", "match"),
    [
        (pd.to_datetime(["2024-01-01", "2024-01-02"]), r"score column 'joy' holds dates or times"),
        (pd.to_timedelta([1, 2], unit="s"), r"score column 'joy' holds time spans"),
        ([True, False], r"score column 'joy' holds true/false values"),
        ([[0.1], [0.2]], r"score column 'joy' holds lists \(row 1: "),
        ([{"a": 0.1}, {"a": 0.2}], r"score column 'joy' holds structs or maps \(row 1: "),
    ],
    ids=["timestamp", "timedelta", "bool", "list", "struct"],
)
def test_non_numeric_score_columns_are_refused(column: object, match: str) -> None:
    frame = pd.DataFrame({"joy": column, "anger": [0.1, 0.2], "label": ["joy", "anger"]})
    with pytest.raises(EvalDataError, match=match + r".*every score column must hold one number"):
        load_scores(_parquet(frame), name="s.parquet")


def test_map_score_column_is_refused() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "joy": pa.array([[("a", 0.1)], [("a", 0.2)]], type=pa.map_(pa.string(), pa.float64())),
            "anger": [0.1, 0.2],
            "label": ["joy", "anger"],
        }
    )
    import io

    buf = io.BytesIO()
    pq.write_table(table, buf)
    with pytest.raises(EvalDataError, match=r"score column 'joy' holds lists"):
        load_scores(buf.getvalue(), name="s.parquet")


@pytest.mark.parametrize(
    ("labels_json", "match"),
    [
        ('["joy", "joy"]', r"is a list naming labels twice: 'joy'"),
        ("[" * 5000 + "]" * 5000, r"is nested more than 1,000 levels deep"),
        ('[{"a": 1}, "anger"]', r"is not a list of names \(it holds the dict \{'a': 1\}\)"),
        ('{"joy": 1}', r"is not a JSON list \(it holds a dict\)"),
        ("[]", r"is an empty list"),
        ("[1, 2", r"is not valid JSON"),
    ],
    ids=["duplicates", "deep", "not-strings", "object", "empty", "malformed"],
)
def test_forged_parquet_label_metadata_is_refused(labels_json: str, match: str) -> None:
    from tests._hostile_files import parquet_with_labels_metadata

    blob = parquet_with_labels_metadata(
        {"joy": [0.1, 0.9], "anger": [0.9, 0.1], "label": ["anger", "joy"]}, labels_json
    )
    with pytest.raises(
        EvalDataError, match=r"its Parquet metadata key 'cls_core.labels' .*" + match
    ):
        load_scores(blob, name="s.parquet")


@pytest.mark.parametrize("line", [1, 2])
def test_json_lines_nested_too_deeply(line: int) -> None:
    from tests._hostile_files import deep_json

    good = '{"joy": 0.1, "anger": 0.9, "label": "anger"}\n'
    deep = '{"joy": ' + deep_json(5000) + ', "anger": 0.9, "label": "anger"}\n'
    content = (deep if line == 1 else good + deep).encode()
    with pytest.raises(EvalDataError, match=r"nested too deeply \(more than 1,000 levels"):
        load_scores(content, name="s.jsonl")


def test_nul_bytes_after_a_valid_csv_are_refused_wherever_they_start() -> None:
    """The binary check looks at 4 KiB; the UTF-8 pass looks at every byte."""
    valid = _csv([*LABELS, "label"], [[0.2, 0.3, 0.5, "fear"]] * 500)
    assert len(valid) > 8192
    with pytest.raises(EvalDataError, match=rf"holds a NUL byte \(0x00\) at offset {len(valid)}"):
        load_scores(valid + b"\x00" * 100_000, name="s.csv")


def test_messages_quote_long_cells_as_short_previews() -> None:
    """A 1 MB bad cell, truth label or column name is quoted as a preview with its length."""
    huge = "x" * 1_000_000
    cases = [
        (_csv(["joy", "anger", "label"], [[0.1, 0.9, "anger"], [huge, 0.1, "joy"]]), {}),
        (_csv(["joy", "anger", "label"], [[0.1, 0.9, "anger"], [0.9, 0.1, huge]]), {}),
        (_csv(["joy", huge, "label"], [[0.1, 0.9, "joy"]]), {"truth_column": "y"}),
    ]
    for content, options in cases:
        with pytest.raises(EvalDataError, match=r"\(1,000,000 characters\)") as info:
            load_scores(content, name="s.csv", **options)
        assert len(str(info.value)) < 600, len(str(info.value))


def test_header_over_64_kib_has_no_false_duplicates_and_finds_real_ones() -> None:
    names = [f"c{i}" for i in range(20_000)]  # ~130 KB of header
    content = _csv([*names, "label"], [[0.1] * 20_000 + ["c1"]])
    assert len(read_table(content, name="wide.csv").columns) == 20_001
    with pytest.raises(EvalDataError, match=r"has duplicate column names: 'c5';"):
        read_table(_csv([*names, "c5", "label"], [[0.1] * 20_001 + ["c1"]]), name="dup.csv")
    tsv = ("\t".join([*names, "c7"]) + "\n" + "\t".join(["0.1"] * 20_001) + "\n").encode()
    with pytest.raises(EvalDataError, match=r"has duplicate column names: 'c7';"):
        read_table(tsv, name="dup.tsv")


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"], ids=lambda e: e
)
def test_utf16_files_are_named_not_called_binary(encoding: str) -> None:
    content = "joy,anger,label\n0.1,0.9,anger\n0.8,0.2,joy\n".encode(encoding)
    with pytest.raises(
        EvalDataError,
        match=r"is UTF-16 \(or UTF-32\) text; UTF-16 is not supported: save it as UTF-8",
    ):
        load_scores(content, name="s.csv")


@pytest.mark.parametrize(
    ("column", "match"),
    [
        ("joy;fear", r"score column 'joy;fear' holds ';', which separates labels"),
        (" joy", r"score column ' joy' starts or ends with spaces"),
        ("joy ", r"score column 'joy ' starts or ends with spaces"),
    ],
)
def test_labels_no_truth_cell_can_name_are_refused(column: str, match: str) -> None:
    content = f'"{column}",anger,label\n0.1,0.9,anger\n0.8,0.2,anger\n'.encode()
    with pytest.raises(EvalDataError, match=match):
        load_scores(content, name="s.csv")


def test_model_labels_no_truth_cell_can_name_are_refused() -> None:
    with pytest.raises(EvalDataError, match=r"the model's label 'a;b' holds ';'"):
        load_texts(b"text,label\nhi,c\n", name="t.csv", text_column="text", labels=["a;b", "c"])


# --------------------------------------------------------------------------- memory caps


def test_parquet_row_group_bomb_is_refused_from_its_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """10 million identical rows stored once: refused before any row is decoded."""
    import pyarrow.parquet as pq

    from tests._hostile_files import parquet_row_group_bomb

    blob = parquet_row_group_bomb(LABELS, rows_per_group=100_000, groups=100)
    assert len(blob) < 300_000

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("the bomb was decoded")

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", no_decoding)
    monkeypatch.setattr(pq.ParquetFile, "read", no_decoding)
    monkeypatch.setattr(pq, "read_table", no_decoding)
    monkeypatch.setattr(pd, "read_parquet", no_decoding)
    monkeypatch.setenv("CLS_MAX_CELLS", "20000000")
    with pytest.raises(
        EvalDataError,
        match=r"is too big to read whole: 10,000,000 rows × 4 columns hold 40,000,000 values, "
        r"over the limit of 20,000,000 cells \(rows × columns; set CLS_MAX_CELLS to change it\)",
    ):
        load_scores(blob, name="bomb.parquet")


def test_parquet_string_bomb_is_refused_before_the_strings_are_expanded() -> None:
    """A 1 KB file whose one dictionary string repeats into 4 GB."""
    from tests._hostile_files import parquet_string_bomb

    blob = parquet_string_bomb(rows=4000, chars=1_000_000)
    assert len(blob) < 2000
    with pytest.raises(
        EvalDataError,
        match=r"is too big to read whole: its data decodes to at least [\d,]+ bytes, over the "
        r"limit of 1,073,741,824 bytes \(set CLS_MAX_BYTES to change it\)",
    ):
        load_texts(blob, name="t.parquet", text_column="text", labels=LABELS)


def test_text_files_are_read_no_further_than_the_cell_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows past the cap are never parsed: a malformed tail is not what gets reported."""
    monkeypatch.setenv("CLS_MAX_CELLS", "1000")
    rows = _csv([*LABELS, "label"], [[0.2, 0.3, 0.5, "fear"]] * 300)  # 1,200 cells
    ragged = rows + b"1,2,3,4,5,6,7,8,9\n"
    for content in (rows, ragged):
        with pytest.raises(
            EvalDataError,
            match=r"more than 250 rows × 4 columns, over the limit of 1,000 cells",
        ):
            read_table(content, name="s.csv")
    monkeypatch.setenv("CLS_MAX_CELLS", "1200")
    assert read_table(rows, name="s.csv").shape == (300, 4)
    jsonl = b"".join(b'{"joy": 0.1, "anger": 0.9, "label": "anger"}\n' for _ in range(401))
    with pytest.raises(EvalDataError, match=r"over the limit of 1,200 cells"):
        read_table(jsonl, name="s.jsonl")


def test_text_file_over_the_byte_cap_is_refused_before_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLS_MAX_BYTES", "100")
    content = _csv([*LABELS, "label"], [[0.2, 0.3, 0.5, "fear"]] * 10)
    with pytest.raises(
        EvalDataError, match=rf"it holds {len(content)} bytes, over the limit of 100 bytes"
    ):
        read_table(content, name="s.csv")


@pytest.mark.parametrize("value", ["abc", "0", "-5"])
def test_cap_environment_variables_are_checked(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CLS_MAX_CELLS", value)
    with pytest.raises(
        EvalDataError, match=rf"CLS_MAX_CELLS must be a positive whole number; got '{value}'"
    ):
        read_table(b"joy,label\n0.1,joy\n", name="s.csv")


def test_streamed_parquet_chunks_refuse_a_string_bomb_before_expanding_it(tmp_path: Path) -> None:
    """``score`` streams; each chunk's decoded size is checked while strings are still encoded."""
    from cls_core.evaluation.evaldata import iter_table_chunks
    from tests._hostile_files import parquet_string_bomb

    path = tmp_path / "t.parquet"
    path.write_bytes(parquet_string_bomb(rows=4000, chars=1_000_000))
    _, total, chunks = iter_table_chunks(path, chunk_rows=2048)
    assert total == 4000
    with pytest.raises(
        EvalDataError,
        match=r"is too big to read: 2,048 rows decode to 2,048,038,912 bytes, over the limit of "
        r"1,073,741,824 bytes",
    ):
        next(chunks)
    # a normal Parquet file streams with its strings decoded
    frame = _scores_frame()
    frame.to_parquet(tmp_path / "s.parquet")
    _, _, chunks = iter_table_chunks(tmp_path / "s.parquet", chunk_rows=7)
    streamed = pd.concat(list(chunks), ignore_index=True)
    assert streamed["text"].tolist() == frame["text"].tolist()


def test_label_names_longer_than_1000_characters_are_refused() -> None:
    """A label is echoed in every warning, chart and thresholds.json: a 1 MB one is refused."""
    content = _csv(["joy", "y" * 1_000_000, "label"], [[0.1, 0.9, "joy"], [0.8, 0.2, "joy"]])
    with pytest.raises(
        EvalDataError,
        match=r"score column 'y{40}…' \(1,000,000 characters\) has a name longer than 1,000 "
        r"characters; label names must be short",
    ) as info:
        load_scores(content, name="s.csv")
    assert len(str(info.value)) < 300


def test_whole_number_columns_named_by_whole_number_truth_are_score_columns() -> None:
    """Hard 0/1 scores in columns "0","1" (integer columns) are found through the truth."""
    data = load_scores(b"0,1,label\n1,0,0\n0,1,1\n1,0,0\n", name="hard.csv")
    assert data.labels == ("0", "1")
    assert data.truth.ids is not None
    assert data.truth.ids.tolist() == [0, 1, 0]


def test_header_line_over_16_mib_is_refused() -> None:
    header = ",".join(f"c{i}" for i in range(2_000_000))  # 16.9 MB, no newline in reach
    with pytest.raises(
        EvalDataError,
        match=r"has a header line longer than 16,777,216 bytes; expected one short name per column",
    ):
        read_table((header + "\n1\n").encode(), name="s.csv")
