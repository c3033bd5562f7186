"""Issue 11 round trip in a real browser: tune on the threshold page, "Export as SavedModel",
then the exported model in the Playground gives the same labels for the same text.

The app runs with ``CLS_MODEL_DIRS`` pointing at a temporary model root, so the export
lands there (the page's export root) and never in the project's ``models/``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from cls_core.modelio.registry import list_models, load_model
from cls_core.scoring.decisions import multilabel_decide
from tests.browser.conftest import shot, wait_idle

pytestmark = pytest.mark.browser

MODEL = "goemotions"
NAME = "goemotions-baked"
TEXT = "Thank you so much, I love it! But I am a bit nervous about tomorrow."


@pytest.fixture(scope="module")
def export_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    from _st_client import start_app

    root = tmp_path_factory.mktemp("export_root")
    log = tmp_path_factory.mktemp("streamlit_export") / "server.log"
    with start_app(env={"CLS_MODEL_DIRS": str(root)}, log_path=log) as server:
        yield server.url, root


def _main_text(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="stMain"]').text_content() or ""


@pytest.mark.skipif(list_models().get(MODEL) is None, reason=f"the {MODEL} model is absent")
def test_export_from_tuning_page_round_trip(export_app, page) -> None:  # type: ignore[no-untyped-def]
    url, root = export_app
    page.set_viewport_size({"width": 1400, "height": 6400})
    page.goto(f"{url}/thresholds?model={MODEL}")
    wait_idle(page, timeout=400_000)
    box = page.locator(
        '[data-testid="stVerticalBlock"]', has_text="this model with the current thresholds"
    )
    box = box.last
    box.scroll_into_view_if_needed()
    # A name that is a path is refused, and nothing is written.
    name_input = box.locator('input[aria-label="Name of the exported model"]')
    name_input.fill("../escape")
    name_input.press("Enter")
    wait_idle(page)
    box.get_by_role("button", name="Export as SavedModel").click()
    wait_idle(page, timeout=300_000)
    assert "Not exported: the export name must be 1-64 letters" in _main_text(page)
    assert list(root.iterdir()) == []

    name_input.fill(NAME)
    name_input.press("Enter")
    wait_idle(page)
    box.get_by_role("button", name="Export as SavedModel").click()
    page.get_by_text(f"Open {NAME} in the Playground").wait_for(timeout=300_000)
    wait_idle(page)
    text = _main_text(page)
    assert f"Exported {NAME} into the model root" in text
    assert page.get_by_role("button", name=f"{NAME}.zip").count() == 1
    shot(page, "decision-export-tuning-page")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert (root / NAME / "saved_model.pb").is_file()

    # The thresholds the page exported, read back from the exported card's provenance;
    # cls_core's decision with them on the source model's scores is the reference.
    card = json.loads((root / NAME / "model_card.json").read_text())
    thresholds = card["decision_export"]["thresholds"]
    source = load_model(MODEL)
    want = set(multilabel_decide(source.predict([TEXT]).scores, source.labels, thresholds)[0])
    assert want, "pick a text that fires at least one label"

    query = urllib.parse.urlencode({"model": NAME, "text": TEXT})
    page.goto(f"{url}/?{query}")
    wait_idle(page, timeout=400_000)
    panel = page.locator('[data-testid="stVerticalBlock"]', has_text="Decision baked in")
    panel.last.wait_for(timeout=60_000)
    said = panel.last.text_content() or ""
    match = re.search(r"the model itself answers (.+?)\.", said)
    assert match, said
    baked = {x.strip() for x in match.group(1).split(",")}
    assert baked == want
    # The Playground's own decision line (card thresholds, temperature 1) agrees.
    heading = page.locator("h3", has_text="Predicted").first.text_content() or ""
    shown = {x.strip() for x in heading.split(":", 1)[1].split(",")}
    assert shown == want
    shot(page, "decision-export-playground")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.console_errors
