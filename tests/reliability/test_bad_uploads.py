"""Bad uploads on the threshold-tuning page (AppTest): labelled texts, scores files,
thresholds.json.

Table-driven: every case names the file, its bytes and the message the page must show.
Each case asserts
- a clear, specific message (what was wrong, what is expected) in an ``st.error`` (or,
  for degenerate but computable data, a warning while metrics are still shown);
- no exception element;
- the user's other input kept (the chosen data source, the model, the drop toggle, and
  for thresholds.json the thresholds the user had set);
- the app still responding: a follow-up normal action works (switching to the demo data
  set gives metrics; after a bad thresholds.json, a good one imports).

Upload size limit: AppTest hands the bytes straight to the script, so the limit cannot be
exercised through it. ``.streamlit/config.toml`` must set ``server.maxUploadSize = 50``, and
``test_upload_over_the_size_limit_is_refused_by_the_server`` checks the running server (the
session-wide ``app_url`` fixture): its upload endpoint answers 413 to a PUT announcing 51 MB
(Streamlit's default limit is 200 MB, so this is the configured limit at work) and 204 to a
small file from the same session. Not covered: an upload that lies about its
Content-Length or is chunked; Streamlit caps those while streaming (its own tests cover it),
and sending 51 MB per run was not worth the time.

The same files go through ``python -m cls_core tune`` in ``test_bad_uploads_cli.py``.
"""

from __future__ import annotations

import http.client
import io
import json
import math
import re
import tomllib
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from cls_core.modelio.registry import list_models
from cls_core.paths import PROJECT_ROOT
from tests._hostile_files import (
    deep_json,
    parquet_row_group_bomb,
    parquet_string_bomb,
    parquet_with_labels_metadata,
)
from tests.reliability.conftest import no_exception, texts_of

MODEL = "ekman"
pytestmark = pytest.mark.skipif(
    list_models().get(MODEL) is None, reason=f"the {MODEL} model is not installed"
)
LABELS = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
SCRIPT = "<script>alert(1)</script>"
BOLD = "<b>bold</b>"
DEMO_ROWS = "168"


# --------------------------------------------------------------------------- files


def scores_csv(rows: list[list[Any]], header: list[str] | None = None, *, sep: str = ",") -> bytes:
    """A scores file: one column per label, then ``label``."""
    head = header if header is not None else [*LABELS, "label"]
    lines = [sep.join(head)] + [sep.join(str(c) for c in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def good_scores(n: int = 14) -> list[list[Any]]:
    """``n`` rows, two per class, the true class scoring highest."""
    rows = []
    for i in range(n):
        truth = i % len(LABELS)
        rows.append([0.7 if j == truth else 0.05 for j in range(len(LABELS))] + [LABELS[truth]])
    return rows


def with_cell(row: int, column: str, value: str) -> list[list[Any]]:
    rows = good_scores()
    rows[row][LABELS.index(column)] = value
    return rows


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


GOOD_SCORES = scores_csv(good_scores())
GOOD_FRAME = pd.read_csv(io.BytesIO(GOOD_SCORES))
TEXTS = [
    ("I am so happy today, this is wonderful", "joy"),
    ("This makes me furious", "anger"),
    ("I am terrified of the dark", "fear"),
    ("I miss her so much, it hurts", "sadness"),
    ("That is disgusting", "disgust"),
    ("The meeting is at noon", "neutral"),
]


def texts_csv(rows: list[tuple[str, str]]) -> bytes:
    return ("text,label\n" + "".join(f'"{t}",{lab}\n' for t, lab in rows)).encode()


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class UploadCase:
    """One bad data file: where it goes and what the page must say."""

    id: str
    source: str  # "scores" or "texts"
    name: str
    data: bytes
    error: str | None = None  # a substring of an st.error (Markdown escapes removed)
    warning: str | None = None  # a substring of a warning shown while metrics are computed
    info: str | None = None  # a substring of an st.info (e.g. the score-kind assumption)
    rows: str | None = None  # "Rows read" when the data is usable
    note: str | None = None  # a substring of a data-report note (page caption, CLI stderr)
    macro_f1: float | None = None  # the macro F1 when the data is usable and separable


MAX_MESSAGE = 1000  # characters: a message quotes user data only as short previews


UTF8_BAD = b"anger,joy,label\n0.1,0.9,joy\n0.2,0.8,j\xf6y\n"
UTF8_MSG = "is not valid UTF-8 text: bad byte 0xf6 at offset 37"

SCORES_CASES = [
    UploadCase("invalid-utf8", "scores", "s.csv", UTF8_BAD, error=UTF8_MSG),
    UploadCase("empty-file", "scores", "s.csv", b"", error="file 's.csv' is empty"),
    UploadCase("whitespace-file", "scores", "s.csv", b"  \n\n ", error="file 's.csv' is empty"),
    UploadCase(
        "parquet-named-csv",
        "scores",
        "s.csv",
        parquet_bytes(GOOD_FRAME),
        error="file 's.csv' is not CSV as its name says: its content looks like Parquet",
    ),
    UploadCase(
        "csv-named-parquet",
        "scores",
        "s.parquet",
        GOOD_SCORES,
        error="file 's.parquet' is not Parquet as its name says: its content looks like CSV",
    ),
    UploadCase(
        "jsonl-named-csv",
        "scores",
        "s.csv",
        GOOD_FRAME.to_json(orient="records", lines=True).encode(),
        error="file 's.csv' is not CSV as its name says: its content looks like JSON lines",
    ),
    UploadCase(
        "json-array",
        "scores",
        "s.json",
        GOOD_FRAME.to_json(orient="records").encode(),
        error="file 's.json' is a JSON array; expected JSON lines (one object per line)",
    ),
    UploadCase(
        "png-named-csv",
        "scores",
        "s.csv",
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        error="file 's.csv' is binary data, not CSV, TSV, JSONL or Parquet",
    ),
    UploadCase(
        "zero-rows",
        "scores",
        "s.csv",
        scores_csv([]),
        error="file 's.csv' has a header but no data rows",
    ),
    UploadCase(
        "zero-rows-parquet",
        "scores",
        "s.parquet",
        parquet_bytes(GOOD_FRAME.iloc[:0]),
        error="file 's.parquet' has a header but no data rows",
    ),
    UploadCase(
        "one-row",
        "scores",
        "s.csv",
        scores_csv(good_scores(1)),
        warning="class 'disgust' has no positive examples",
        rows="1",
    ),
    UploadCase(
        "class-without-positives",
        "scores",
        "s.csv",
        scores_csv([r for r in good_scores() if r[-1] != "surprise"]),
        warning="class 'surprise' has no positive examples: recall and F1 are undefined",
        rows="12",
    ),
    UploadCase(
        "all-scores-equal",
        "scores",
        "s.csv",
        scores_csv([[0.5] * len(LABELS) + [r[-1]] for r in good_scores()]),
        warning="every score is 0.5, so the scores rank nothing",
        rows="14",
    ),
    UploadCase(
        "nan-cell",
        "scores",
        "s.csv",
        scores_csv(with_cell(2, "fear", "nan")),
        error="NaN score at row 3, column 'fear' (1 row has bad scores); every score must be a finite number",
    ),
    UploadCase(
        # the reported bug: with > 10 % bad cells the column was taken for text and its
        # label reported as "not a score column"
        "nan-cells-in-a-small-file",
        "scores",
        "s.csv",
        scores_csv(
            [
                [0.1, "nan", 0.1, 0.6, 0.1, 0.1, 0.1, "joy"],
                [0.1, "", 0.7, 0.1, 0.1, 0.1, 0.1, "disgust"],
            ]
        ),
        error="NaN score at row 1, column 'disgust' (2 rows have bad scores)",
    ),
    UploadCase(
        "empty-cell",
        "scores",
        "s.csv",
        scores_csv(with_cell(4, "joy", "")),
        error="empty score cell at row 5, column 'joy'",
    ),
    UploadCase(
        "inf-cell",
        "scores",
        "s.csv",
        scores_csv(with_cell(0, "anger", "inf")),
        error="infinite score inf at row 1, column 'anger'",
    ),
    UploadCase(
        "text-cell",
        "scores",
        "s.csv",
        scores_csv(with_cell(6, "sadness", "high")),
        error="non-numeric score 'high' at row 7, column 'sadness'",
    ),
    UploadCase(
        "negative-scores-are-logits",
        "scores",
        "s.csv",
        scores_csv(with_cell(1, "anger", "-2.5")),
        info="Assumed: the score columns are **logits** (turned into probabilities with softmax).",
        rows="14",
    ),
    UploadCase(
        "over-1-scores-are-logits",
        "scores",
        "s.csv",
        scores_csv(with_cell(1, "anger", "3.5")),
        info="Assumed: the score columns are **logits** (turned into probabilities with softmax).",
        rows="14",
    ),
    UploadCase(
        "ragged-row",
        "scores",
        "s.csv",
        GOOD_SCORES + b"0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,joy\n",
        error="is not a readable CSV file: line 16 has 9 fields; the header has 8",
    ),
    UploadCase(
        "truth-names-a-missing-score-column",
        "scores",
        "s.csv",
        scores_csv(
            [r[:5] + r[6:] for r in good_scores() if r[-1] != "surprise"]
            + [[0.1] * 6 + ["surprise"]],
            [*LABELS[:5], LABELS[6], "label"],
        ),
        error="1 row has truth labels that are not score columns: 'surprise' "
        "(turn on “Drop rows whose truth labels are unknown” above to drop those rows)",
    ),
    UploadCase(
        "no-score-columns",
        "scores",
        "s.csv",
        b"text,label\nhello,joy\n",
        error="file 's.csv' has no score columns (one numeric column per label)",
    ),
    UploadCase(
        "duplicate-column-names",
        "scores",
        "s.csv",
        scores_csv(good_scores(), [*LABELS[:6], "joy", "label"]),
        error="file 's.csv' has duplicate column names: 'joy'; every column needs its own name",
    ),
    UploadCase(
        "unknown-labels",
        "scores",
        "s.csv",
        scores_csv([*good_scores(), [0.1] * 7 + ["boredom"]]),
        error="1 row has truth labels that are not score columns: 'boredom'",
    ),
    UploadCase(
        "html-label-names",
        "scores",
        "s.csv",
        scores_csv(
            [[0.8, 0.2, SCRIPT], [0.3, 0.6, BOLD], [0.7, 0.1, SCRIPT], [0.2, 0.9, BOLD]],
            [f'"{SCRIPT}"', BOLD, "label"],
        ),
        rows="4",
    ),
]


def parquet_frame(columns: dict[str, Any]) -> bytes:
    return parquet_bytes(pd.DataFrame(columns))


def numbered_scores(names: list[str], truths: list[int]) -> bytes:
    """Score columns named by numbers; each row's own truth column scores 0.8."""
    rows = [[0.8 if n == str(t) else 0.05 for n in names] + [t] for t in truths]
    return scores_csv(rows, [*names, "label"])


HUGE = "x" * 1_000_000
PAIR = {"joy": [0.1, 0.9], "anger": [0.9, 0.1], "label": ["anger", "joy"]}
VALID_CSV = scores_csv(good_scores(140))  # over 4 KiB: past the binary sniffing
# issue 16: hostile files that used to crash, read wrongly, or take gigabytes
HOSTILE_SCORES_CASES = [
    UploadCase(
        "numbers-as-column-names",  # 0/1 truth against columns "1","0": names, not ids
        "scores",
        "s.csv",
        numbered_scores(["1", "0"], [0, 1, 1, 0, 1, 0]),
        rows="6",
        note="truth: whole numbers read as label names",
        macro_f1=1.0,
    ),
    UploadCase(
        "star-ratings-1-to-5",
        "scores",
        "s.csv",
        numbered_scores(["1", "2", "3", "4", "5"], [1, 2, 3, 4, 5, 5, 4, 3, 2, 1]),
        rows="10",
        note="(1 is the label '1', not class id 1)",
        macro_f1=1.0,
    ),
    UploadCase(
        "truth-empty-in-every-row",
        "scores",
        "s.csv",
        scores_csv([[*r[:-1], ""] for r in good_scores()]),
        error="file 's.csv': the truth column 'label' is empty in every row",
    ),
    UploadCase(
        "truth-nan-in-every-row",
        "scores",
        "s.csv",
        scores_csv([[*r[:-1], "nan"] for r in good_scores()]),
        error="file 's.csv': the truth column 'label' is empty in every row",
    ),
    UploadCase(
        "timestamp-score-column",
        "scores",
        "s.parquet",
        parquet_frame({**PAIR, "joy": pd.to_datetime(["2024-01-01", "2024-01-02"])}),
        error="score column 'joy' holds dates or times (datetime64",
    ),
    UploadCase(
        "list-score-column",
        "scores",
        "s.parquet",
        parquet_frame({**PAIR, "joy": [[0.1], [0.9]]}),
        error="score column 'joy' holds lists (row 1: ",
    ),
    UploadCase(
        "struct-score-column",
        "scores",
        "s.parquet",
        parquet_frame({**PAIR, "joy": [{"p": 0.1}, {"p": 0.9}]}),
        error="score column 'joy' holds structs or maps (row 1: ",
    ),
    UploadCase(
        "forged-label-metadata-duplicates",
        "scores",
        "s.parquet",
        parquet_with_labels_metadata(PAIR, '["joy", "joy"]'),
        error="its Parquet metadata key 'cls_core.labels' (the label list cls-explorer score "
        "writes) is a list naming labels twice: 'joy'",
    ),
    UploadCase(
        "forged-label-metadata-deep",
        "scores",
        "s.parquet",
        parquet_with_labels_metadata(PAIR, deep_json(100_000)),
        error="is nested more than 1,000 levels deep",
    ),
    UploadCase(
        "json-lines-nested-deep",
        "scores",
        "s.jsonl",
        ('{"joy": ' + deep_json(100_000) + ', "label": "joy"}\n').encode(),
        error="line 1 is nested too deeply (more than 1,000 levels of [ or {)",
    ),
    UploadCase(
        "parquet-row-group-bomb",  # 10 million rows × 8 columns in 92 KB
        "scores",
        "s.parquet",
        parquet_row_group_bomb(LABELS, rows_per_group=100_000, groups=100),
        error="file 's.parquet' is too big to read whole: 10,000,000 rows × 8 columns hold "
        "80,000,000 values, over the limit of 50,000,000 cells (rows × columns; set "
        "CLS_MAX_CELLS to change it)",
    ),
    UploadCase(
        "nul-bytes-after-valid-csv",
        "scores",
        "s.csv",
        VALID_CSV + b"\x00" * 200_000,
        error=f"file 's.csv' holds a NUL byte (0x00) at offset {len(VALID_CSV)}",
    ),
    UploadCase(
        "one-megabyte-bad-cell",
        "scores",
        "s.csv",
        scores_csv(with_cell(3, "fear", HUGE)),
        error="non-numeric score 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (1,000,000 "
        "characters) at row 4, column 'fear'",
    ),
    UploadCase(
        "one-megabyte-unknown-label",
        "scores",
        "s.csv",
        scores_csv([*good_scores(), [0.1] * 7 + [HUGE]]),
        error="1 row has truth labels that are not score columns: 'xxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxx…' (1,000,000 characters)",
    ),
    UploadCase(
        "duplicate-column-after-64-kib",
        "scores",
        "s.csv",
        scores_csv(
            [[0.1] * 12_001 + ["c1"]], [*(f"c{i}" for i in range(12_000)), "c11999", "label"]
        ),
        error="file 's.csv' has duplicate column names: 'c11999'; every column needs its own name",
    ),
    UploadCase(
        "utf-16-file",
        "scores",
        "s.csv",
        GOOD_SCORES.decode().encode("utf-16"),
        error="file 's.csv' is UTF-16 (or UTF-32) text; UTF-16 is not supported: save it as UTF-8",
    ),
    UploadCase(
        "label-with-semicolon",
        "scores",
        "s.csv",
        scores_csv(good_scores(), [*LABELS[:6], '"neutral;calm"', "label"]),
        error="score column 'neutral;calm' holds ';', which separates labels in truth cells",
    ),
    UploadCase(
        "label-with-leading-space",
        "scores",
        "s.csv",
        scores_csv(good_scores(), [*LABELS[:6], " neutral", "label"]),
        error="score column ' neutral' starts or ends with spaces",
    ),
]
SCORES_CASES += HOSTILE_SCORES_CASES

TEXTS_CASES = [
    UploadCase("texts-invalid-utf8", "texts", "t.csv", UTF8_BAD, error=UTF8_MSG),
    UploadCase("texts-empty-file", "texts", "t.csv", b"", error="file 't.csv' is empty"),
    UploadCase(
        "texts-csv-named-parquet",
        "texts",
        "t.parquet",
        texts_csv(TEXTS),
        error="file 't.parquet' is not Parquet as its name says: its content looks like CSV",
    ),
    UploadCase(
        "texts-zero-rows",
        "texts",
        "t.csv",
        b"text,label\n",
        error="file 't.csv' has a header but no data rows",
    ),
    UploadCase(
        "texts-one-row",
        "texts",
        "t.csv",
        texts_csv(TEXTS[:1]),
        warning="class 'anger' has no positive examples",
        rows="1",
    ),
    UploadCase(
        "texts-class-without-positives",
        "texts",
        "t.csv",
        texts_csv(TEXTS),
        warning="class 'surprise' has no positive examples",
        rows="6",
    ),
    UploadCase(
        "texts-unknown-labels",
        "texts",
        "t.csv",
        texts_csv([*TEXTS, ("I am bored", "boredom")]),
        error="1 row has truth labels the model does not know: 'boredom'",
    ),
    UploadCase(
        "texts-html-in-truth",
        "texts",
        "t.csv",
        texts_csv([*TEXTS, ("boo", "<img src=x onerror=alert(1)>")]),
        error="1 row has truth labels the model does not know: '<img src=x onerror=alert(1)>'",
    ),
    UploadCase(
        "texts-duplicate-columns",
        "texts",
        "t.csv",
        b"text,text,label\na,b,joy\n",
        error="file 't.csv' has duplicate column names: 'text'",
    ),
    # issue 16
    UploadCase(
        "texts-truth-empty-in-every-row",
        "texts",
        "t.csv",
        texts_csv([(t, "") for t, _ in TEXTS]),
        error="file 't.csv': the truth column 'label' is empty in every row",
    ),
    UploadCase(
        "texts-parquet-string-bomb",  # one 1 MB text repeated 4,000 times, in under 1 KB
        "texts",
        "t.parquet",
        parquet_string_bomb(rows=4000, chars=1_000_000),
        error="over the limit of 1,073,741,824 bytes (set CLS_MAX_BYTES to change it)",
    ),
    UploadCase(
        "texts-utf-16-file",
        "texts",
        "t.csv",
        texts_csv(TEXTS).decode().encode("utf-16"),
        error="file 't.csv' is UTF-16 (or UTF-32) text; UTF-16 is not supported: save it as UTF-8",
    ),
    UploadCase(
        "texts-nul-bytes-after-valid-csv",
        "texts",
        "t.csv",
        texts_csv(TEXTS * 40) + b"\x00" * 200_000,
        error=f"file 't.csv' holds a NUL byte (0x00) at offset {len(texts_csv(TEXTS * 40))}",
    ),
]


# --------------------------------------------------------------------------- drivers


@pytest.fixture(scope="module", autouse=True)
def _private_score_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Texts scored by the tests go to a throw-away cache, not the user's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


def open_page(source: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    at.query_params["model"] = MODEL
    at.session_state[f"tune_source.{MODEL}"] = source
    at.switch_page("pages/thresholds.py")
    return at.run()


def uploader(at: AppTest, label: str) -> Any:
    found = [u for u in at.file_uploader if u.label.startswith(label)]
    assert found, [u.label for u in at.file_uploader]
    return found[0]


def metric(at: AppTest, label: str) -> str | None:
    return next((str(m.value) for m in at.metric if m.label == label), None)


def warnings_of(at: AppTest) -> list[str]:
    """Warnings the page shows: st.warning, the few-positives expander, notes in captions."""
    out = texts_of(at.warning)
    out += [str(e.label) for e in at.expander if "⚠" in str(e.label)]
    out += [m for m in texts_of(at.markdown) if "positive examples" in m]
    out += [c for c in texts_of(at.caption) if "warning:" in c]
    return out


def thresholds_doc(at: AppTest) -> dict[str, Any]:
    if not any(c.language == "json" for c in at.code):  # the preview is sent only while open
        preview = next(e for e in at.expander if e.label == "Preview thresholds.json")
        at.session_state[preview.proto.id.split("-", 2)[2]] = True
        at.run()
    blocks = [c.value for c in at.code if c.language == "json"]
    assert blocks, "no thresholds.json preview"
    return dict(json.loads(blocks[0]))


def assert_no_raw_html(at: AppTest) -> None:
    """Nothing is rendered as HTML: no st.html element, no Markdown with HTML allowed."""
    assert not at.get("html"), "an st.html element appeared"
    for kind in ("markdown", "caption", "error", "warning", "info", "success"):
        for element in at.get(kind):
            proto = getattr(element, "proto", None)
            body = getattr(proto, "body", "")
            assert not getattr(proto, "allow_html", False), (kind, body)
            # a tag-like "<x" reaches Markdown only backslash-escaped
            assert not re.search(r"(?<!\\)<[A-Za-z/!]", str(body)), (kind, body)


def assert_kept(at: AppTest, source: str) -> None:
    """The user's other input survives: the model, the data source, the drop toggle."""
    assert at.selectbox(key="model").value == MODEL
    assert at.radio(key=f"tune_source.{MODEL}").value == source
    assert at.toggle(key="tune_drop_unknown").value is False


def switch_to_demo_gives_metrics(at: AppTest) -> None:
    at.radio(key=f"tune_source.{MODEL}").set_value("demo").run()
    no_exception(at)
    assert not at.error, texts_of(at.error)
    assert metric(at, "Rows read") == DEMO_ROWS
    assert metric(at, "Macro F1") is not None
    assert at.selectbox(key="model").value == MODEL


# --------------------------------------------------------------------------- data files


@pytest.mark.parametrize("case", SCORES_CASES + TEXTS_CASES, ids=lambda c: c.id)
def test_bad_data_file(case: UploadCase) -> None:
    at = open_page(case.source)
    kind = "scores" if case.source == "scores" else "labelled texts"
    uploader(at, f"Upload {kind}").set_value((case.name, case.data, "text/csv")).run()
    no_exception(at)
    errors = texts_of(at.error)
    assert all(len(e) < MAX_MESSAGE for e in errors), [e[:200] for e in errors]
    if case.error is not None:
        assert any(case.error in e for e in errors), errors
        assert metric(at, "Macro F1") is None  # nothing computed from a refused file
    else:
        assert not errors, errors
        assert metric(at, "Rows read") == case.rows
        assert metric(at, "Macro F1") is not None  # still computes
    if case.macro_f1 is not None:
        assert float(metric(at, "Macro F1") or "nan") == pytest.approx(case.macro_f1)
    if case.note is not None:
        assert any(case.note in c for c in texts_of(at.caption)), texts_of(at.caption)
    if case.warning is not None:
        assert any(case.warning in w for w in warnings_of(at)), warnings_of(at)
    if case.info is not None:
        assert any(case.info in i for i in texts_of(at.info)), texts_of(at.info)
    assert_no_raw_html(at)
    assert_kept(at, case.source)
    switch_to_demo_gives_metrics(at)


def test_html_label_names_are_shown_as_text() -> None:
    """Label names holding HTML are labels like any other: shown literally, never as HTML."""
    case = next(c for c in SCORES_CASES if c.id == "html-label-names")
    at = open_page("scores")
    uploader(at, "Upload scores").set_value((case.name, case.data, "text/csv")).run()
    no_exception(at)
    assert thresholds_doc(at)["labels"] == [SCRIPT, BOLD]
    focus = next(s for s in at.selectbox if s.label == "Inspect class")
    assert sorted(o.split(" (")[0] for o in focus.options) == [BOLD, SCRIPT]
    assert any(s.label == f"Threshold for {SCRIPT}" for s in at.slider) or any(
        s.label == f"Threshold for {BOLD}" for s in at.slider
    )
    # wherever Markdown carries a label, its HTML is backslash-escaped
    for body in [m.value for m in [*at.markdown, *at.caption, *at.info, *at.warning]]:
        assert "<script>" not in body and "<b>" not in body, body
    assert_no_raw_html(at)


# --------------------------------------------------------------------------- thresholds.json


@dataclass(frozen=True)
class ImportCase:
    """One bad thresholds.json: how to spoil the page's own export, and the message."""

    id: str
    spoil: Callable[[dict[str, Any]], bytes]
    error: str


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], bytes]:
    def spoil(doc: dict[str, Any]) -> bytes:
        return json.dumps({**doc, key: value}).encode()

    return spoil


def _labels(labels: list[str]) -> Callable[[dict[str, Any]], bytes]:
    """Another label set, consistent within the file (``per_class`` follows ``labels``)."""

    def spoil(doc: dict[str, Any]) -> bytes:
        rows = [{**r, "label": lab} for r, lab in zip(doc["per_class"], labels, strict=True)]
        return json.dumps({**doc, "labels": labels, "per_class": rows}).encode()

    return spoil


def _threshold(i: int, value: Any) -> Callable[[dict[str, Any]], bytes]:
    def spoil(doc: dict[str, Any]) -> bytes:
        values = list(doc["thresholds"])
        values[i] = value
        return json.dumps({**doc, "thresholds": values}).encode()

    return spoil


IMPORT_CASES = [
    ImportCase(
        "another-model",
        _set("model", "goemotions"),
        "it was made for model 'goemotions', not 'ekman'",
    ),
    ImportCase(
        "threshold-over-1", _threshold(2, 1.5), "`thresholds[2]` must be in [0, 1]; got 1.5"
    ),
    ImportCase(
        "threshold-negative", _threshold(0, -0.1), "`thresholds[0]` must be in [0, 1]; got -0.1"
    ),
    ImportCase(
        "threshold-nan", _threshold(1, math.nan), "`thresholds[1]` must be in [0, 1]; got nan"
    ),
    ImportCase(
        "threshold-text",
        _threshold(3, "high"),
        "`thresholds[3]` must be a number in [0, 1]; got 'high'",
    ),
    ImportCase(
        "reject-out-of-range",
        _set("reject_threshold", 7),
        "`reject_threshold` must be in [0, 1]; got 7",
    ),
    ImportCase(
        "json-malformed",
        lambda doc: json.dumps(doc).encode()[:-3],
        "thresholds file: malformed JSON at line 1, column",
    ),
    ImportCase(
        "json-empty-file",
        lambda doc: b"",
        "thresholds file: the file is empty; expected a JSON object with labels, thresholds and task",
    ),
    ImportCase(
        "json-invalid-utf8",
        lambda doc: b'{"labels": ["j\xf6y"]}',
        "thresholds file: not UTF-8 text (byte 14)",
    ),
    ImportCase(
        "json-top-level-array", lambda doc: b"[0.5, 0.5]", "expected a JSON object; got list"
    ),
    ImportCase(
        "missing-thresholds",
        lambda doc: json.dumps({k: v for k, v in doc.items() if k != "thresholds"}).encode(),
        "missing key `thresholds`",
    ),
    ImportCase(
        "wrong-labels",
        _labels(["grief", "shame", *LABELS[2:]]),
        "its 7 labels do not match the model's 7 labels (missing 'anger', 'disgust'; "
        "unexpected 'grief', 'shame')",
    ),
    ImportCase(
        "labels-reordered",
        _labels(list(reversed(LABELS))),
        "(same labels in a different order)",
    ),
    ImportCase(
        "wrong-number-of-thresholds",
        _set("thresholds", [0.5] * 5),
        "`thresholds` must be a list of 7 numbers (one per label)",
    ),
    ImportCase(
        "html-in-labels",
        _labels([SCRIPT, *LABELS[1:]]),
        "unexpected '<script>alert(1)</script>'",
    ),
]


@pytest.fixture(scope="module")
def demo_export() -> dict[str, Any]:
    """The page's own thresholds.json for the demo set (the base every case spoils)."""
    return thresholds_doc(open_page("demo"))


@pytest.mark.parametrize("case", IMPORT_CASES, ids=lambda c: c.id)
def test_bad_thresholds_json(case: ImportCase, demo_export: dict[str, Any]) -> None:
    at = open_page("demo")
    reject = next(s for s in at.slider if s.label.startswith("Reject threshold"))
    reject.set_value(0.6).run()  # the user's own setting, which a bad file must not touch
    at.run()  # the move reran only the fragments that show thresholds: AppTest redraws all
    before = thresholds_doc(at)
    assert before["reject_threshold"] == pytest.approx(0.6)
    blob = case.spoil(dict(demo_export))
    uploader(at, "Import a thresholds.json").set_value(("t.json", blob, "application/json")).run()
    no_exception(at)
    errors = texts_of(at.error)
    assert any(e.startswith("Cannot import this file: ") and case.error in e for e in errors), (
        errors
    )
    assert thresholds_doc(at)["thresholds"] == before["thresholds"]
    assert thresholds_doc(at)["reject_threshold"] == pytest.approx(0.6)
    assert at.radio(key=f"tune_source.{MODEL}").value == "demo"
    assert at.selectbox(key="model").value == MODEL
    assert_no_raw_html(at)
    # still responding: the export itself imports
    good = json.dumps({**demo_export, "thresholds": [0.25] * len(LABELS)}).encode()
    uploader(at, "Import a thresholds.json").set_value(("ok.json", good, "application/json")).run()
    assert any("Imported ok.json" in s for s in texts_of(at.success))
    at.run()  # the import reran only the fragments that show thresholds: AppTest redraws all
    no_exception(at)
    assert thresholds_doc(at)["thresholds"] == [0.25] * len(LABELS)


# --------------------------------------------------------------------------- size limit


def test_config_sets_the_upload_size_limit() -> None:
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    assert config["server"]["maxUploadSize"] == 50
    assert config["server"]["enableXsrfProtection"] is True


def _xsrf_cookie(conn: http.client.HTTPConnection) -> str:
    conn.request("GET", "/_stcore/health")
    response = conn.getresponse()
    response.read()
    cookies = SimpleCookie(response.getheader("Set-Cookie") or "")
    assert "_streamlit_xsrf" in cookies, response.getheaders()
    return cookies["_streamlit_xsrf"].value


def _session_id(ws_url: str) -> tuple[Any, str]:
    """Open a session over the WebSocket (as a browser tab does) and return its id."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websocket import create_connection

    ws = create_connection(ws_url, subprotocols=["streamlit"], timeout=60)
    msg = BackMsg()
    msg.rerun_script.query_string = f"model={MODEL}"
    ws.send_binary(msg.SerializeToString())
    while True:
        fwd = ForwardMsg()
        fwd.ParseFromString(ws.recv())
        if fwd.WhichOneof("type") == "new_session":
            return ws, str(fwd.new_session.initialize.session_id)


def _put_upload(
    conn: http.client.HTTPConnection, session: str, xsrf: str, body: bytes, *, length: int
) -> int:
    """PUT a multipart upload; ``length`` is the Content-Length announced."""
    conn.putrequest("PUT", f"/_stcore/upload_file/{session}/{uuid.uuid4()}")
    conn.putheader("Content-Type", "multipart/form-data; boundary=XyZ")
    conn.putheader("Content-Length", str(length))
    conn.putheader("X-Xsrftoken", xsrf)
    conn.putheader("Cookie", f"_streamlit_xsrf={xsrf}")
    conn.endheaders()
    if body:
        conn.send(body)
    response = conn.getresponse()
    response.read()
    return int(response.status)


def test_upload_over_the_size_limit_is_refused_by_the_server(app_url: str) -> None:
    """The running server (config.toml: 50 MB) answers 413 to a 51 MB upload before reading
    its body, and 204 to a small one from the same session (so the 413 is about size)."""
    url = urllib.parse.urlsplit(app_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    xsrf = _xsrf_cookie(conn)
    ws, session = _session_id(app_url.replace("http://", "ws://", 1) + "/_stcore/stream")
    try:
        small = (
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="s.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n" + GOOD_SCORES + b"\r\n--XyZ--\r\n"
        )
        assert _put_upload(conn, session, xsrf, small, length=len(small)) == 204
        conn.close()  # the refused request leaves its connection unusable
        assert _put_upload(conn, session, xsrf, b"", length=51 * 1024 * 1024) == 413
        conn.close()
        # without the XSRF token even a small upload is refused
        conn.putrequest("PUT", f"/_stcore/upload_file/{session}/{uuid.uuid4()}")
        conn.putheader("Content-Length", "0")
        conn.endheaders()
        refused = conn.getresponse()
        refused.read()
        assert refused.status == 403
    finally:
        ws.close()
        conn.close()


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in [*SCORES_CASES, *TEXTS_CASES]] + [c.id for c in IMPORT_CASES]
    assert len(ids) == len(set(ids))
