"""Hostile input against the app (issue 16): what a client or a model root can send.

- thresholds.json imports on the tuning page: a UTF-8 byte-order mark is accepted; nesting
  too deep to parse, nesting deeper than the format's, and numbers too big for a float get
  a clear message (read_thresholds_json raises ValueError for every bad document);
- a hostile model_card.json in a model root (nested 100,000 levels, a list, invalid UTF-8,
  an integer past Python's digit limit, an unhashable task): every page still renders,
  the model shows as unavailable, the others stay usable;
- over Streamlit's own WebSocket protocol (``benchmarks/_st_client.py``), against a real
  server: a link with more than 1,000 parameters is reported, not silently ignored; and
  Streamlit's "clear cache" message, which any client may send, sent 20 times neither
  reloads the models nor grows the server's memory beyond a stated bound.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from cls_core.modelio.registry import CARD_FILENAME, list_models
from cls_core.paths import PROJECT_ROOT
from tests.reliability.conftest import (
    MODELS_DIR,
    copy_model,
    needs_banking77,
    no_exception,
    texts_of,
)

MODEL = "ekman"
needs_ekman = pytest.mark.skipif(
    list_models([MODELS_DIR]).get(MODEL) is None, reason=f"the {MODEL} model is not installed"
)


# --------------------------------------------------------------------------- thresholds.json


def open_tuning_page() -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    at.query_params["model"] = MODEL
    at.session_state[f"tune_source.{MODEL}"] = "demo"
    at.switch_page("pages/thresholds.py")
    return at.run()


def import_file(at: AppTest, name: str, blob: bytes) -> None:
    found = [u for u in at.file_uploader if u.label.startswith("Import a thresholds.json")]
    assert found, [u.label for u in at.file_uploader]
    found[0].set_value((name, blob, "application/json")).run()


def thresholds_doc(at: AppTest) -> dict[str, Any]:
    if not any(c.language == "json" for c in at.code):  # the preview is sent only while open
        preview = next(e for e in at.expander if e.label == "Preview thresholds.json")
        at.session_state[preview.proto.id.split("-", 2)[2]] = True
        at.run()
    blocks = [c.value for c in at.code if c.language == "json"]
    assert blocks, "no thresholds.json preview"
    return dict(json.loads(blocks[0]))


@pytest.fixture(scope="module")
def demo_export() -> dict[str, Any]:
    """The page's own thresholds.json for the demo set (the base every case changes)."""
    return thresholds_doc(open_tuning_page())


def _with_threshold_text(doc: dict[str, Any], text: str) -> bytes:
    """The document with its first threshold written as ``text`` (raw JSON)."""
    body = json.dumps({**doc, "thresholds": ["@@", *doc["thresholds"][1:]]})
    return body.replace('"@@"', text).encode()


HOSTILE_IMPORTS = [
    (
        "nested-100k-levels",
        lambda doc: b'{"labels": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "thresholds file: arrays/objects nested too deeply to read",
    ),
    (
        "nested-deeper-than-the-format",
        lambda doc: json.dumps({**doc, "bootstrap": json.loads("[" * 50 + "]" * 50)}).encode(),
        "thresholds file: arrays/objects nested deeper than 32 levels",
    ),
    (
        "threshold-past-float-range",
        lambda doc: _with_threshold_text(doc, "1" + "0" * 400),
        "`thresholds[0]` must be in [0, 1]; got 1000000000000000000000000000000000000000…",
    ),
    (
        "integer-past-python-digit-limit",
        lambda doc: _with_threshold_text(doc, "1" * 5000),
        "thresholds file: unreadable JSON (Exceeds the limit (4300 digits)",
    ),
]


@needs_ekman
@pytest.mark.parametrize(
    ("spoil", "error"), [c[1:] for c in HOSTILE_IMPORTS], ids=[c[0] for c in HOSTILE_IMPORTS]
)
def test_hostile_thresholds_json_gets_a_message(
    spoil: Any, error: str, demo_export: dict[str, Any]
) -> None:
    at = open_tuning_page()
    before = thresholds_doc(at)["thresholds"]
    import_file(at, "t.json", spoil(dict(demo_export)))
    no_exception(at)
    errors = texts_of(at.error)
    assert any(e.startswith("Cannot import this file: ") and error in e for e in errors), errors
    assert all(len(e) < 1000 for e in errors)
    assert thresholds_doc(at)["thresholds"] == before


@pytest.fixture(scope="module")
def binary_document(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A ``task: "binary"`` thresholds.json, as ``tune --binary`` writes it."""
    import numpy as np

    from cls_core.cli import main

    directory = tmp_path_factory.mktemp("binary")
    rng = np.random.default_rng(0)
    truth = rng.random(200) < 0.5
    p = np.clip(np.where(truth, 0.65, 0.35) + rng.normal(0, 0.2, 200), 0, 1)
    rows = ["neg,pos,label"] + [
        f"{1 - x:.4f},{x:.4f},{'pos' if t else 'neg'}" for x, t in zip(p, truth, strict=True)
    ]
    (directory / "scores.csv").write_text("\n".join(rows) + "\n")
    out = directory / "thresholds.json"
    assert main(["tune", str(directory / "scores.csv"), "--binary", "--out", str(out)]) == 0
    return out.read_bytes()


BINARY_SPOILERS = [
    ("nested-100000-deep", lambda raw: b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (
        "field-nested-past-the-format",
        lambda raw: raw.replace(b'"task"', b'"x": ' + b"[" * 50 + b"]" * 50 + b', "task"', 1),
        "nested deeper than 32 levels",
    ),
    (
        "integer-past-python-digit-limit",
        lambda raw: raw.replace(b'"task"', b'"x": ' + b"9" * 5000 + b', "task"', 1),
        "unreadable JSON (Exceeds the limit (4300 digits)",
    ),
    ("utf-16", lambda raw: raw.decode("utf-8").encode("utf-16"), "not UTF-8 text"),
]


def test_binary_thresholds_json_with_a_utf8_bom_reads(binary_document: bytes) -> None:
    """The binary tuning page's import (``task="binary"``) accepts a BOM like the others."""
    from cls_core.evaluation.thresholds import read_thresholds_json

    plain = read_thresholds_json(binary_document, labels=["neg", "pos"], task="binary")
    bom = read_thresholds_json(
        b"\xef\xbb\xbf" + binary_document, labels=["neg", "pos"], task="binary"
    )
    assert bom == plain and plain.task == "binary"


@pytest.mark.parametrize(
    ("spoil", "error"), [c[1:] for c in BINARY_SPOILERS], ids=[c[0] for c in BINARY_SPOILERS]
)
def test_hostile_binary_thresholds_json_is_a_value_error(
    spoil: Any, error: str, binary_document: bytes
) -> None:
    """What the binary page catches (``ValueError``) for every hostile binary document."""
    from cls_core.evaluation.thresholds import read_thresholds_json

    with pytest.raises(ValueError, match=re.escape(error)) as info:
        read_thresholds_json(spoil(binary_document), labels=["neg", "pos"], task="binary")
    assert len(str(info.value)) < 1000


@needs_ekman
def test_thresholds_json_with_a_utf8_bom_imports(demo_export: dict[str, Any]) -> None:
    at = open_tuning_page()
    blob = "\ufeff".encode() + json.dumps({**demo_export, "thresholds": [0.3] * 7}).encode()
    import_file(at, "bom.json", blob)
    assert any("Imported bom.json" in s for s in texts_of(at.success))
    at.run()  # the import reran only the fragments that show thresholds: AppTest redraws all
    no_exception(at)
    assert not at.error, texts_of(at.error)
    assert thresholds_doc(at)["thresholds"] == [0.3] * 7


# --------------------------------------------------------------------------- model roots


def _card_text(path: Path) -> str:
    return (path / CARD_FILENAME).read_text(encoding="utf-8")


HOSTILE_CARDS = {
    "nested": lambda p: (p / CARD_FILENAME).write_bytes(b"[" * 100_000 + b"]" * 100_000),
    "alist": lambda p: (p / CARD_FILENAME).write_bytes(b"[1, 2, 3]"),
    "badutf8": lambda p: (p / CARD_FILENAME).write_bytes(b'{"name": "badutf8\xff\xfe"}'),
    "bigint": lambda p: (p / CARD_FILENAME).write_text(
        re.sub(r'"reject_threshold": [^,}]+', '"reject_threshold": ' + "9" * 5000, _card_text(p))
    ),
    "listtask": lambda p: (p / CARD_FILENAME).write_text(
        _card_text(p).replace('"task": "multi-class"', '"task": ["multi-class"]')
    ),
}


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model root with one hostile copy of banking77 per HOSTILE_CARDS entry."""
    root = tmp_path_factory.mktemp("hostile_models")
    for name, spoil in HOSTILE_CARDS.items():
        copy_model(MODELS_DIR / "banking77", root / name)
        spoil(root / name)
    return root


@needs_banking77
@pytest.mark.parametrize(
    "page", ["pages/playground.py", "pages/lesson.py", "pages/signature.py", "pages/thresholds.py"]
)
def test_hostile_model_cards_leave_every_page_working(
    page: str, hostile_root: Path, monkeypatch: pytest.MonkeyPatch, fresh_listing: None
) -> None:
    monkeypatch.setenv("CLS_MODEL_DIRS", str(hostile_root))
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    at.query_params["model"] = "banking77"
    at.switch_page(page)
    at.run()
    no_exception(at)
    if not any(getattr(w, "key", None) == "model" for w in at.selectbox):
        return  # a page that uses no model (the lesson) shows no picker
    assert at.selectbox(key="model").value == "banking77"
    assert set(list_models([MODELS_DIR]).names) <= set(at.selectbox(key="model").options)
    unavailable = [w for w in texts_of(at.sidebar.warning) if "is unavailable" in w]
    assert len(unavailable) == len(HOSTILE_CARDS), unavailable
    for name in HOSTILE_CARDS:
        assert any(f"Model `{name}` is unavailable" in w for w in unavailable), (name, unavailable)
    assert all(len(w) < 600 for w in unavailable)


# --------------------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from benchmarks._st_client import start_app

    scratch = PROJECT_ROOT / ".pytest_cache"
    with start_app(
        env={"CLS_CACHE_DIR": str(scratch / "hostile-cache")},
        log_path=scratch / "streamlit-hostile.log",
    ) as app:
        yield app


def _rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, flags=re.MULTILINE)
    assert match is not None
    return int(match.group(1)) / 1024.0


@pytest.mark.slow
@needs_banking77
def test_link_with_too_many_parameters_is_reported(server: Any) -> None:
    from benchmarks._st_client import StreamlitSession

    with StreamlitSession(server.ws_url, timeout=120) as warm:  # installs the app's hooks
        warm.run("model=banking77&text=hello")
    long_link = "model=banking77&text=hello&" + "&".join(f"x{i}=1" for i in range(1000))
    with StreamlitSession(server.ws_url, timeout=120) as session:
        result = session.run(long_link)
        assert not result.errors(), result.errors()
        warnings = [body for kind, body in result.alerts if kind == "warning"]
        assert any(
            "The link you opened has 1,002 parameters; the app reads links with at most 1,000, "
            "so none of it was applied" in w
            for w in warnings
        ), warnings
        # a link within the limit is applied and draws no such warning
        ok = session.run("model=banking77&text=hello&" + "&".join(f"x{i}=1" for i in range(990)))
        assert not any("The link you opened" in body for _, body in ok.alerts)


#: What 20 clear-cache messages may add to the server's resident memory. Each forced
#: model reload used to leak ~21 MB (20 cycles: ~420 MB); the caches a client can clear
#: now hold only listings and predictions, rebuilt in well under this.
CLEAR_CACHE_RSS_BOUND_MIB = 80.0


@pytest.mark.slow
@needs_banking77
def test_clear_cache_from_a_client_neither_reloads_models_nor_leaks(server: Any) -> None:
    from benchmarks._st_client import StreamlitSession

    with StreamlitSession(server.ws_url, timeout=180) as session:
        first = session.run("model=banking77&text=where+is+my+card")
        assert first.headline is not None and not first.errors()
        for _ in range(3):  # settle allocator and caches before the baseline
            session.run("model=banking77&text=where+is+my+card", clear_cache=True)
        baseline = _rss_mib(server.pid)
        latencies = []
        for i in range(20):
            start = time.perf_counter()
            result = session.run(f"model=banking77&text=where+is+my+card+{i}", clear_cache=True)
            latencies.append(time.perf_counter() - start)
            assert result.headline is not None and not result.errors(), result.errors()
        growth = _rss_mib(server.pid) - baseline
    print(
        f"20 clear-cache cycles: RSS {baseline:.0f} MiB + {growth:.0f} MiB; max run {max(latencies):.2f} s"
    )
    assert growth < CLEAR_CACHE_RSS_BOUND_MIB, (
        f"RSS grew {growth:.0f} MiB over 20 clear-cache cycles (bound "
        f"{CLEAR_CACHE_RSS_BOUND_MIB:.0f} MiB); latencies {[round(x, 2) for x in latencies]}"
    )
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-2000:]
