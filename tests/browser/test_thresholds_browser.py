"""The threshold-tuning page in headless Chromium: one walk from data to the Playground."""

from __future__ import annotations

import json
import re

import pytest

from cls_core.modelio.registry import list_models
from tests._browser import BAD_SCORES_MESSAGE, upload_bad_scores
from tests.browser.conftest import shot, wait_idle

pytestmark = pytest.mark.browser


def _main_text(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="stMain"]').text_content() or ""


def _metric(page, label: str) -> str:  # type: ignore[no-untyped-def]
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').text_content() or ""


def _thresholds_json(page) -> dict:  # type: ignore[no-untyped-def]
    preview = page.locator('[data-testid="stExpander"]', has_text="Preview thresholds.json")
    if not preview.locator('[data-testid="stCode"]').is_visible():
        preview.get_by_text("Preview thresholds.json").click()
    code = preview.locator('[data-testid="stCode"]').text_content(timeout=10_000) or ""
    return json.loads(code[code.index("{") :])  # type: ignore[no-any-return]


def load_card_thresholds(model: str) -> list[float]:
    card = next(c for c in list_models().cards if c.name == model)
    return [float(t) for t in card.thresholds or ()]


def _assert_clean(page) -> None:  # type: ignore[no-untyped-def]
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.console_errors


def test_thresholds_walk_goemotions(app_url, page) -> None:  # type: ignore[no-untyped-def]
    # a tall viewport: Streamlit scrolls inside its main block, so full-page shots need it
    page.set_viewport_size({"width": 1400, "height": 6400})
    page.goto(f"{app_url}/thresholds?model=goemotions")
    wait_idle(page, timeout=120_000)
    page.wait_for_selector('[data-testid="stVegaLiteChart"]')
    # sections render as their data gets ready (issue 14): on a fresh server the last ones
    # can still be on their way when the first chart is drawn
    page.get_by_text("9 · Export and import").first.wait_for(timeout=120_000)
    text = _main_text(page)
    assert (
        "Threshold tuning" in text and "2 · Data report" in text and "9 · Export and import" in text
    )
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 5
    shot(page, "thresholds-goemotions")
    _assert_clean(page)

    # move the inspected class's threshold to the top: its F1 and the micro F1 change
    before = _metric(page, "Micro F1")
    slider = page.locator('[data-testid="stSlider"]', has_text="Threshold for").locator(
        'input[type="range"]'
    )
    slider.focus()
    page.keyboard.press("End")
    wait_idle(page)
    assert _metric(page, "Micro F1") != before

    # edit a threshold in the table (Glide grid: select the cell, Enter, type, Enter)
    grids = page.locator('[data-testid="stDataFrame"]')
    editor = next(
        grids.nth(i)
        for i in range(grids.count())
        if (grids.nth(i).bounding_box() or {}).get("width", 999) < 600
    )
    editor.scroll_into_view_if_needed()
    box = editor.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + 35 + 17)  # row 0, threshold
    for step in ("Enter", "Control+A", "0.9", "Enter"):
        page.wait_for_timeout(600)  # the grid's cell editor opens asynchronously
        if step == "0.9":
            page.keyboard.type(step)
        else:
            page.keyboard.press(step)
    wait_idle(page)
    assert _thresholds_json(page)["thresholds"][0] == 0.9  # admiration

    # optimise F1 per class, then bootstrap intervals (error bars)
    page.get_by_role("button", name=re.compile("Optimise: f1")).click()
    wait_idle(page)
    doc = _thresholds_json(page)
    assert doc["objective"] == "f1" and doc["thresholds"][0] != 0.9
    page.get_by_role("button", name=re.compile("Bootstrap intervals")).click()
    wait_idle(page, timeout=120_000)
    assert "bootstrap intervals (200 resamples, seed 0)" in _main_text(page)
    shot(page, "thresholds-goemotions-optimised")
    _assert_clean(page)

    # the Playground opens (in this tab) with these exact thresholds in its URL, once each
    link = page.get_by_role("link", name="Use these thresholds in the Playground")
    assert "model=" not in (link.get_attribute("href") or "")  # the sidebar's binding adds it
    link.click()
    wait_idle(page, timeout=120_000)
    # exact, not rounded; a threshold equal to the card's is the slider's default, which
    # Streamlit leaves out of the URL
    card = dict(zip(doc["labels"], load_card_thresholds("goemotions"), strict=True))
    changed = [
        (k, v) for k, v in zip(doc["labels"], doc["thresholds"], strict=True) if v != card[k]
    ]
    assert changed, "the optimiser kept every card threshold: nothing to carry"
    for label, value in changed:
        assert f"t.goemotions.{label}={value!r}&" in page.url + "&"
    assert page.url.count("model=") == 1
    text = _main_text(page)
    assert "Playground" in text
    assert "from Threshold tuning on goemotions" in text  # where the thresholds came from
    _assert_clean(page)


def test_thresholds_bad_upload_in_browser(app_url, page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert BAD_SCORES_MESSAGE in upload_bad_scores(page, app_url, tmp_path)
    shot(page, "thresholds-bad-upload")
    _assert_clean(page)
