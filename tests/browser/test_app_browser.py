"""The real app in headless Chromium: what only a browser shows."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot, wait_idle

pytestmark = pytest.mark.browser


def _headline(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator("h3").first.text_content() or ""


def _assert_no_exception(page) -> None:  # type: ignore[no-untyped-def]
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.console_errors


def test_playground_scores_url_text_and_reject_threshold_abstains(app_url, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/?model=banking77&text=I+lost+my+card")
    wait_idle(page)
    expect(page.locator("textarea").first).to_have_value("I lost my card")
    assert _headline(page) == "Predicted class: lost_or_stolen_card"
    page.wait_for_selector('[data-testid="stVegaLiteChart"]')
    shot(page, "playground-banking77")

    slider = page.locator('[data-testid="stSlider"]', has_text="Reject threshold").locator(
        'input[type="range"]'
    )
    slider.focus()
    page.keyboard.press("End")
    wait_idle(page)
    assert _headline(page) == "Abstain: the top score is below the reject threshold."
    assert "reject.banking77=1" in page.url
    shot(page, "playground-banking77-abstain")
    _assert_no_exception(page)


def test_playground_typing_ctrl_enter_rescoring(app_url, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/?model=banking77")
    wait_idle(page)
    box = page.locator("textarea").first
    box.fill("Why was my card payment declined?")
    box.press("Control+Enter")
    wait_idle(page)
    assert _headline(page) == "Predicted class: declined_card_payment"
    assert "text=Why+was+my+card" in page.url or "text=Why%20was%20my%20card" in page.url
    _assert_no_exception(page)


def test_lesson_page(app_url, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/lesson")
    wait_idle(page)
    page.wait_for_selector('[data-testid="stMetric"]')
    page.wait_for_selector('[data-testid="stVegaLiteChart"]')
    shot(page, "lesson")
    body = page.locator('[data-testid="stMain"]').text_content() or ""
    assert "From logits to scores to labels" in body
    assert "softmax: sum" in body.lower()
    assert "1.000" in body
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 1
    assert "Classes and scores: read them as zipped pairs" in body
    _assert_no_exception(page)


def test_signature_page_shows_classify_method(app_url, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/signature?model=banking77")
    wait_idle(page)
    body = page.locator('[data-testid="stMain"]').text_content() or ""
    assert "Signature inspector" in body
    assert "tensorflow/serving/classify" in body
    assert "Linter: all 10 rules pass" in body
    shot(page, "signature-banking77")
    _assert_no_exception(page)


def test_hostile_model_parameter_in_browser(app_url, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/?model=..%2F..%2Fetc%2Fpasswd&text=hello")
    wait_idle(page)
    body = page.locator('[data-testid="stMain"]').text_content() or ""
    assert "There is no model called" in body
    assert "Available models:" in body
    # the text from the link survives the bad model name (polling: the box may fill a
    # beat after the run that reports the error, under load)
    expect(page.locator("textarea").first).to_have_value("hello", timeout=15_000)
    _assert_no_exception(page)


def test_multilabel_threshold_change_alters_labels(app_url, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{app_url}/?model=goemotions&text=Thank+you+so+much%2C+I+love+it%21")
    wait_idle(page)
    before = _headline(page)
    assert before.startswith("Predicted label")
    assert "gratitude" in before
    page.wait_for_selector('[data-testid="stVegaLiteChart"]')
    shot(page, "playground-goemotions")
    page.get_by_text("Thresholds per class").click()
    set_all = page.locator('[data-testid="stSlider"]', has_text="Set all to").locator(
        'input[type="range"]'
    )
    set_all.focus()
    page.keyboard.press("End")
    wait_idle(page)
    page.get_by_role("button", name="Apply to all").click()
    wait_idle(page)
    assert _headline(page) == "No label passes its threshold."
    assert "t.goemotions.gratitude=1" in page.url
    shot(page, "playground-goemotions-all-thresholds-1")
    page.get_by_role("button", name="Reset to card").click()
    wait_idle(page)
    assert _headline(page) == before
    _assert_no_exception(page)
