"""Hostile text in the URL is shown as text in a real browser, and nothing runs."""

from __future__ import annotations

import urllib.parse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import wait_idle

pytestmark = pytest.mark.browser

PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=1</script>",
    '"><svg onload="window.__xss=1">',
    '[click](javascript:window.__xss=1) **<b onmouseover="window.__xss=1">x</b>**',
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=["img-onerror", "script", "svg-onload", "md-js"])
def test_hostile_text_parameter_is_text_not_html(app_url, page, payload: str) -> None:  # type: ignore[no-untyped-def]
    query = urllib.parse.urlencode({"model": "banking77", "text": payload})
    page.goto(f"{app_url}/?{query}")
    wait_idle(page)
    expect(page.locator("textarea").first).to_have_value(payload)
    assert page.evaluate("() => window.__xss") is None
    # no element the payload would have created exists in the app
    main = page.locator('[data-testid="stMain"]')
    assert main.locator("img[src='x']").count() == 0
    assert main.locator("svg[onload]").count() == 0
    assert main.locator("script").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0


def test_hostile_model_parameter_is_text_not_html(app_url, page) -> None:  # type: ignore[no-untyped-def]
    payload = '<img src=x onerror="window.__xss=1">'
    page.goto(f"{app_url}/?{urllib.parse.urlencode({'model': payload, 'text': 'hi'})}")
    wait_idle(page)
    assert page.evaluate("() => window.__xss") is None
    alert = page.locator('[data-testid="stAlert"]', has_text="There is no model called")
    assert payload in (alert.first.text_content() or "")
    assert page.locator("img[src='x']").count() == 0
