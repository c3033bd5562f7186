"""Bad inputs through the text box and the URL query parameters (AppTest), and the same
texts through ``python -m cls_core score``.

Each case asserts: no exception element; the specific message where one is due; the
app still responding (a follow-up normal interaction works); the user's other input
kept (the text survives a bad model parameter, the model survives a bad threshold).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cls_core.modelio.registry import MAX_TEXT_CHARS, list_models
from cls_core.paths import PROJECT_ROOT
from tests.reliability.conftest import app, headline, needs_banking77, no_exception, texts_of

pytestmark = needs_banking77

TEXT_BOX_LIMIT = 4 * MAX_TEXT_CHARS  # the Playground's max_chars
AVAILABLE = "Available models: " + ", ".join(list_models().names)
EMPTY_INFO = "Type a text or pick an example."
TRUNCATED = (
    f"The text has {TEXT_BOX_LIMIT:,} characters; the model reads only the first "
    f"{MAX_TEXT_CHARS:,}."
)


@dataclass(frozen=True)
class TextCase:
    id: str
    text: str
    info: str | None = None  # expected st.info prefix
    warning: str | None = None  # expected st.warning prefix
    kept: str | None = None  # what the text box must hold afterwards (default: the text)


TEXT_CASES = [
    TextCase("empty", "", info=EMPTY_INFO),
    TextCase("whitespace", " \t\n  \r\n ", info=EMPTY_INFO),
    TextCase(
        "100k-chars",
        "my card " * 12_501,  # 100,008 characters
        warning=TRUNCATED,
        kept=("my card " * 12_501)[:TEXT_BOX_LIMIT],
    ),
    TextCase("nul-and-controls", "my card\x00 was\x07 declined\x1b[31m\x08\x7f\x9b"),
    TextCase("rtl", "بطاقتي لم تصل بعد \u202eI lost my card\u202c"),
    TextCase("zero-width", "I\u200b lost\u200c my\u200d card\ufeff\u2060"),
    TextCase("emoji", "💳🔥 my card 👍🏽 was 🧑‍🤝‍🧑 declined 🇬🇧"),
    TextCase("html-script", '<script>alert(1)</script><img src=x onerror="alert(2)"> my card'),
    TextCase("markdown", "# heading **bold** [link](javascript:alert(1)) ![i](http://x/y.png)"),
    TextCase("only-newlines", "\n\n\n\n", info=EMPTY_INFO),
    TextCase("combining", "ca\u0301rd" * 50 + "\u0301" * 200),
]


def _assert_text_case(at: AppTest, case: TextCase) -> None:
    no_exception(at)
    assert at.text_area(key="text").value == (case.text if case.kept is None else case.kept)
    assert headline(at).startswith("### ")
    if case.info is not None:
        assert any(i.startswith(case.info) for i in texts_of(at.info)), texts_of(at.info)
    if case.warning is not None:
        assert any(w.startswith(case.warning) for w in texts_of(at.warning)), texts_of(at.warning)
    else:
        assert not at.warning, texts_of(at.warning)
    assert not at.error, texts_of(at.error)
    # HTML in the text is never rendered as HTML: no element outside the text box and the
    # JSON/code blocks carries it, and none is an HTML element
    assert not at.get("html"), "an st.html element appeared"


def _follow_up_works(at: AppTest) -> None:
    at.text_area(key="text").set_value("I lost my card").run()
    no_exception(at)
    assert headline(at) == "### Predicted class: lost_or_stolen_card"


@pytest.fixture(scope="module")
def typed() -> AppTest:
    """One session reused for every typed case (as a user would type one after another)."""
    return app(model="banking77")


@pytest.mark.parametrize("case", TEXT_CASES, ids=lambda c: c.id)
def test_text_box(typed: AppTest, case: TextCase) -> None:
    typed.text_area(key="text").set_value(case.text).run()
    _assert_text_case(typed, case)
    _follow_up_works(typed)


@pytest.mark.parametrize(
    "case", [c for c in TEXT_CASES if c.id != "nul-and-controls"], ids=lambda c: c.id
)
def test_text_url_parameter(case: TextCase) -> None:
    at = app(model="banking77", text=case.text)
    _assert_text_case(at, case)
    _follow_up_works(at)


def test_text_url_parameter_with_nul_and_controls() -> None:
    at = app(model="banking77", text="my card\x00 was\x07 declined\x1b[31m")
    no_exception(at)
    assert "declined" in (at.text_area(key="text").value or "")
    _follow_up_works(at)


def test_100kb_text_url_parameter() -> None:
    big = "my card é " * 10_240  # 102,400 characters, 112,640 bytes of UTF-8
    at = app(model="banking77", text=big)
    no_exception(at)
    assert at.text_area(key="text").value == big[:TEXT_BOX_LIMIT]
    assert any(w.startswith(TRUNCATED) for w in texts_of(at.warning))
    _follow_up_works(at)


def test_query_string_over_512_kib_is_dropped_whole() -> None:
    """Streamlit ignores a query string over 512 Ki characters (percent-encoded), with no
    message: 100,000 "é" are 600,000 encoded characters. The app still starts, empty."""
    at = app(model="banking77", text="é" * 100_000)
    no_exception(at)
    assert at.text_area(key="text").value == ""
    assert any(i.startswith(EMPTY_INFO) for i in texts_of(at.info))
    _follow_up_works(at)


# --------------------------------------------------------------------------------------
# URL parameters: model names


BAD_MODEL_NAMES = [
    "nope",
    "../../etc/passwd",
    "..",
    "/etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "models/banking77",
    "banking77/../banking77",
    "BANKING77",
    " banking77",
    "",
    "<script>alert(1)</script>",
    "**bold** [x](javascript:alert(1))",
    "x" * 10_000,
    ".hidden",
    "_private",
]


@pytest.mark.parametrize("bad", BAD_MODEL_NAMES, ids=lambda s: repr(s[:24]))
def test_bad_model_parameter(bad: str) -> None:
    at = app(model=bad, text="I lost my card")
    no_exception(at)
    errors = texts_of(at.error)
    shown = bad[:120].replace("\\", "")
    assert any(e.startswith(f"There is no model called “{shown}”. {AVAILABLE}.") for e in errors), (
        errors
    )
    # the text survives, the first model is used, and the app keeps responding
    assert at.text_area(key="text").value == "I lost my card"
    assert at.selectbox(key="model").value == list_models().names[0]
    _follow_up_works(at)


def test_model_parameter_with_nul_is_refused() -> None:
    at = app(model="banking77\x00", text="I lost my card")
    no_exception(at)
    assert any(e.startswith("There is no model called") for e in texts_of(at.error))
    assert at.text_area(key="text").value == "I lost my card"


@pytest.mark.parametrize("name", list_models().names)
def test_good_model_parameter_selects_that_model(name: str) -> None:
    at = app(model=name, text="hello")
    no_exception(at)
    assert at.selectbox(key="model").value == name
    assert not at.error


# --------------------------------------------------------------------------------------
# URL parameters: thresholds and other values


ABSURD = ["5", "-1", "nan", "NaN", "inf", "-inf", "1e308", "1e-400", "abc", "", "0.5.5", "9" * 5000]


@pytest.mark.parametrize("value", ABSURD, ids=lambda s: repr(s[:12]))
def test_absurd_reject_threshold_parameter_is_ignored(value: str) -> None:
    at = app(model="banking77", text="I lost my card", **{"reject.banking77": value})
    no_exception(at)
    reject = at.slider(key="reject.banking77").value
    assert isinstance(reject, float)
    assert 0.0 <= reject <= 1.0
    assert not math.isnan(reject)
    # the model and the text are kept; the out-of-range value is dropped, not clamped
    assert at.selectbox(key="model").value == "banking77"
    assert at.text_area(key="text").value == "I lost my card"
    assert headline(at) == "### Predicted class: lost_or_stolen_card"
    at.slider(key="reject.banking77").set_value(1.0).run()
    assert headline(at) == "### Abstain: the top score is below the reject threshold."


def test_valid_reject_threshold_parameter_is_used() -> None:
    at = app(model="banking77", text="I lost my card", **{"reject.banking77": "1.0"})
    no_exception(at)
    assert at.slider(key="reject.banking77").value == 1.0
    assert headline(at) == "### Abstain: the top score is below the reject threshold."


@pytest.mark.skipif("goemotions" not in list_models().names, reason="goemotions is absent")
@pytest.mark.parametrize("value", ["2", "-0.5", "nan", "inf", "x"])
def test_absurd_per_class_threshold_parameter_is_ignored(value: str) -> None:
    at = app(model="goemotions", text="Thank you so much!", **{"t.goemotions.gratitude": value})
    no_exception(at)
    card = list_models().get("goemotions")
    assert card is not None and card.thresholds is not None
    default = card.thresholds[card.labels.index("gratitude")]
    assert at.slider(key="t.goemotions.gratitude").value == pytest.approx(default)
    assert "gratitude" in headline(at)


@pytest.mark.parametrize(
    "params",
    [
        {"view": "bogus"},
        {"temperature": "1e9"},
        {"tab": "<script>"},
        {"order": "nope"},
        {"reject.nope": "0.5"},
        {"t.banking77.card_arrival": "0.5"},
        {"unknown": "x" * 10_000},
    ],
    ids=lambda p: next(iter(p)),
)
def test_unknown_or_unbound_parameters_are_harmless(params: dict[str, str]) -> None:
    at = app(model="banking77", text="I lost my card", **params)
    no_exception(at)
    assert headline(at) == "### Predicted class: lost_or_stolen_card"
    assert not at.error


# --------------------------------------------------------------------------------------
# The same texts through the command line


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cls_core", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def cli_score_available() -> None:
    if _cli("score", "--help").returncode != 0:
        pytest.skip("`python -m cls_core score` does not exist yet")


@pytest.mark.usefixtures("cli_score_available")
def test_cli_scores_every_bad_text(tmp_path: Path) -> None:
    import pandas as pd

    src = tmp_path / "texts.jsonl"
    src.write_text(
        "".join(json.dumps({"id": c.id, "text": c.text}) + "\n" for c in TEXT_CASES),
        encoding="utf-8",
    )
    out = tmp_path / "scores.parquet"
    result = _cli(
        "score", "--model", "banking77", "--text-column", "text", "--out", str(out), str(src)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    scored = pd.read_parquet(out)
    assert list(scored["id"]) == [c.id for c in TEXT_CASES]
    labels = list_models().get("banking77").labels  # type: ignore[union-attr]
    values = scored[list(labels)].to_numpy()
    assert values.shape == (len(TEXT_CASES), len(labels))
    assert (values >= 0).all() and (values <= 1).all()
    assert abs(values.sum(axis=1) - 1).max() < 1e-4
    assert "rows had empty text" in result.stderr


@pytest.mark.usefixtures("cli_score_available")
@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("../../etc", r"error: cannot load model '\.\./\.\./etc': a model name is a plain"),
        ("/etc/passwd", r"error: cannot load model '/etc/passwd': a model name is a plain"),
        ("nope", r"error: unknown model 'nope'.*Available models:"),
    ],
)
def test_cli_refuses_bad_model_names(tmp_path: Path, model: str, message: str) -> None:
    src = tmp_path / "texts.jsonl"
    src.write_text(json.dumps({"text": "I lost my card"}) + "\n", encoding="utf-8")
    result = _cli(
        "score",
        "--model",
        model,
        "--text-column",
        "text",
        "--out",
        str(tmp_path / "o.csv"),
        str(src),
    )
    assert result.returncode == 2
    assert __import__("re").search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("cli_score_available")
def test_cli_refuses_an_empty_file(tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_bytes(b"")
    result = _cli(
        "score",
        "--model",
        "banking77",
        "--text-column",
        "text",
        "--out",
        str(tmp_path / "o.csv"),
        str(src),
    )
    assert result.returncode == 2
    assert f"error: file '{src}' is empty" in result.stderr
