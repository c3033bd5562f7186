"""Section 10 of the threshold-tuning page in headless Chromium: examples, label issues, slices."""

from __future__ import annotations

import pytest

from tests.browser.conftest import shot, wait_idle

pytestmark = pytest.mark.browser


def _main(page):  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="stMain"]')


def test_examples_label_issues_and_slices_in_a_browser(app_url, page) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1400, "height": 7200})
    page.goto(f"{app_url}/thresholds?model=ekman")
    wait_idle(page, timeout=180_000)
    page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=180_000)
    # section 10 is the last to render (after every chart): wait for its view buttons
    examples = _main(page).get_by_role("radio", name="Examples", exact=True)
    examples.wait_for(timeout=180_000)
    wait_idle(page, timeout=180_000)
    assert "10 · Examples, label issues and slices" in (_main(page).text_content() or "")

    # Examples: the false positives of the inspected class, with Playground links
    examples.click(timeout=60_000)
    wait_idle(page)
    assert "matching rows" in (_main(page).text_content() or "")
    grids = page.locator('[data-testid="stDataFrame"]')
    assert grids.count() >= 1
    shot(page, "thresholds-examples")

    # a search that matches nothing says so, and the page stays up
    search = page.get_by_label("Search the texts")
    search.fill("zzz-no-such-text")
    search.press("Enter")
    wait_idle(page)
    assert "No row matches" in (_main(page).text_content() or "")
    search.fill("")
    search.press("Enter")
    wait_idle(page)

    # Suspected label errors
    _main(page).get_by_role("radio", name="Suspected label errors", exact=True).click(
        timeout=60_000
    )
    wait_idle(page, timeout=120_000)
    text = _main(page).text_content() or ""
    assert "suspected label errors" in text and "out-of-sample" in text

    # Slices: a bad regular expression is named, a good one gives a table and a chart
    _main(page).get_by_role("radio", name="Slices", exact=True).click(timeout=60_000)
    wait_idle(page)
    page.get_by_text("Regular expression", exact=True).click()
    wait_idle(page)
    box = page.get_by_role("textbox", name="Regular expression (case-insensitive)")
    box.fill("(unclosed")
    box.press("Enter")
    wait_idle(page)
    assert "bad regular expression" in (_main(page).text_content() or "")
    box.fill(r"\b(so|very)\b")
    box.press("Enter")
    wait_idle(page)
    text = _main(page).text_content() or ""
    assert "does not match" in text
    shot(page, "thresholds-slices")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.console_errors
