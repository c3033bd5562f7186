"""Own models (issue 10) in a real browser: the Playground shows their labels.

A second app server runs with ``CLS_MODEL_DIRS`` pointing at a temporary model root that
holds the session's own-model fixtures (fixture 1: Keras export with a labels file;
fixture 4: binary sigmoid, no labels). It is started once for this module.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from cls_core.paths import PROJECT_ROOT
from tests._own_models import KERAS_LABELS
from tests.browser.conftest import shot, wait_idle

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
from _st_client import start_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def own_app_url(own_model_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("own_browser") / "root"
    root.mkdir()
    for kind in ("keras_probs", "binary_sigmoid", "multi_output"):
        shutil.copytree(own_model_root / kind, root / kind)
    (root / "keras_probs" / "labels.txt").write_text("\n".join(KERAS_LABELS) + "\n")
    log = tmp_path_factory.mktemp("own_streamlit") / "server.log"
    with start_app(env={"CLS_MODEL_DIRS": str(root)}, log_path=log) as server:
        yield server.url


def _main_text(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="stMain"]').text_content() or ""


def _sidebar_text(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="stSidebar"]').text_content() or ""


@pytest.mark.parametrize(
    ("model", "text", "labels", "note"),
    [
        ("keras_probs", "the match was won", KERAS_LABELS, "recovered from them as log p"),
        ("binary_sigmoid", "win a free prize now", ("negative", "positive"), "log(p / (1 − p))"),
    ],
)
def test_playground_shows_own_model_labels(  # type: ignore[no-untyped-def]
    own_app_url, page, model: str, text: str, labels: tuple[str, ...], note: str
) -> None:
    page.goto(f"{own_app_url}/?model={model}&text={quote(text)}")
    # the first run imports TensorFlow and infers every cardless model: minutes on a busy box
    wait_idle(page, timeout=300_000)
    page.wait_for_selector('[data-testid="stVegaLiteChart"]')
    headline = page.locator("h3").first.text_content() or ""
    assert headline.startswith("Predicted class: ")
    # a binary model's sentence adds the rule: "positive (positive score ≥ 0.500)"
    assert headline.removeprefix("Predicted class: ").split(" (")[0] in labels
    assert note in _main_text(page)
    sidebar = _sidebar_text(page)
    assert "inferred" in sidebar and "Own models (2)" in sidebar
    assert "multi_output" in sidebar and "give --output KEY" in sidebar  # explained, not hidden
    shot(page, f"own-model-{model}")
    chart = page.locator('[data-testid="stVegaLiteChart"]').first.text_content() or ""
    assert all(label in chart for label in labels), chart[-400:]  # the bars' axis labels
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.console_errors
