"""Issue 14, screens and presentation: what fits, what is readable, what the console says.

- At 1024×768 every chart fits its container (no chart is cut off at the right).
- At 390×844 the sidebar starts collapsed (it covered the content).
- Dark browser preference → dark app; presentation mode persists across pages.
- Nothing is fetched from another host (the page icon was loaded from fonts.gstatic.com);
  Vega logs no "Infinite extent" warning.

Screenshots: ``screens-*.png`` in ``screenshots/`` (looked at by eye when changed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import shot, wait_idle

pytestmark = pytest.mark.browser

# Each chart's drawing (canvas or svg) against the chart element and the main column.
CHART_FIT = """() => {
  const column = document.querySelector('[data-testid="stMainBlockContainer"]');
  const main = {right: column.getBoundingClientRect().right
                       - parseFloat(getComputedStyle(column).paddingRight)};
  return [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map((el) => {
    const box = el.getBoundingClientRect();
    const drawn = el.querySelector('svg.marks, canvas');
    const d = drawn ? drawn.getBoundingClientRect() : null;
    return {drawn: d ? d.width : 0, right: d ? d.right : 0, box: box.width,
            boxRight: box.right, mainRight: main.right, overflow: el.scrollWidth - el.clientWidth};
  });
}"""


@pytest.fixture
def context_factory(browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    contexts: list[Any] = []

    def make(width: int, height: int, scheme: str = "light") -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=scheme
        )
        contexts.append(context)
        page = context.new_page()
        page.log = []
        page.on("console", lambda m: page.log.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda exc: page.log.append(f"pageerror: {exc}"))
        page.foreign = []
        page.on(
            "request",
            lambda r: (
                page.foreign.append(r.url)
                if urlparse(r.url).hostname not in {"127.0.0.1", "localhost", None}
                and not r.url.startswith(("data:", "blob:"))
                else None
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()


def _charts_fit(page: Any) -> None:
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.first.wait_for(timeout=120_000)  # chart code loads lazily after the first run
    wait_idle(page, timeout=120_000)
    for i in range(charts.count()):
        charts.nth(i).locator("canvas, svg.marks").first.wait_for(timeout=60_000)
    for chart in page.evaluate(CHART_FIT):
        assert chart["drawn"] > 0, chart
        assert chart["drawn"] <= chart["box"] + 1, f"chart wider than its container: {chart}"
        assert chart["right"] <= chart["mainRight"] + 1, f"chart past the main column: {chart}"
        assert chart["overflow"] <= 1, f"chart scrolls inside its container: {chart}"


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("lesson", "lesson"),
        ("playground", "?model=banking77&text=My+card+was+stolen+yesterday"),
        ("tuning-goemotions", "thresholds?model=goemotions"),
    ],
)
def test_charts_fit_at_1024x768(app_url, context_factory, name, path) -> None:  # type: ignore[no-untyped-def]
    page = context_factory(1024, 768)
    page.goto(f"{app_url}/{path}")
    wait_idle(page, timeout=600_000)  # a fresh split is scored once
    _charts_fit(page)
    # Streamlit scrolls an inner element: a tall viewport (same width) shows the whole page
    page.set_viewport_size({"width": 1024, "height": 4000})
    wait_idle(page, timeout=120_000)
    _charts_fit(page)
    shot(page, f"screens-1024-{name}")
    assert not [m for m in page.log if "Infinite extent" in m]
    assert not [m for m in page.log if m.startswith("pageerror")]
    assert not page.foreign, f"requests to other hosts: {page.foreign}"


def test_view_picker_not_truncated_at_1024(app_url, context_factory) -> None:  # type: ignore[no-untyped-def]
    page = context_factory(1024, 768)
    page.goto(f"{app_url}/?model=banking77")
    wait_idle(page, timeout=120_000)
    box = page.locator('[data-testid="stSelectbox"]', has_text="View scores as")
    shown = box.locator("input").first
    assert "own activation" in (shown.input_value() or "")
    # the selected option's text fits its box (no ellipsis)
    assert shown.evaluate("e => e.scrollWidth <= e.clientWidth + 1")


def test_raw_logits_view_has_no_infinite_extent(app_url, context_factory) -> None:  # type: ignore[no-untyped-def]
    page = context_factory(1400, 1000)
    page.goto(f"{app_url}/?model=goemotions&text=That+smell+is+revolting")
    wait_idle(page, timeout=120_000)
    box = page.locator('[data-testid="stSelectbox"]', has_text="View scores as").locator("input")
    box.click(timeout=60_000)
    page.keyboard.type("raw logits")
    page.keyboard.press("Enter")
    wait_idle(page, timeout=120_000)
    page.locator('[data-testid="stVegaLiteChart"] svg.marks').first.wait_for(timeout=60_000)
    wait_idle(page, timeout=120_000)
    assert not [m for m in page.log if "Infinite extent" in m], page.log


def test_phone_starts_with_the_sidebar_collapsed(app_url, context_factory) -> None:  # type: ignore[no-untyped-def]
    page = context_factory(390, 844)
    page.goto(f"{app_url}/?model=banking77")
    wait_idle(page, timeout=120_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_attribute("data-collapsed") == "true"
    assert (sidebar.bounding_box() or {}).get("x", 0) < 0  # off screen
    title = page.locator("h1").first.bounding_box() or {}
    assert title.get("x", -1) >= 0 and title.get("width", 0) > 100  # the content is visible
    shot(page, "screens-390-playground")


def test_dark_preference_and_presentation_mode(app_url, context_factory) -> None:  # type: ignore[no-untyped-def]
    page = context_factory(1400, 1000, scheme="dark")
    page.goto(f"{app_url}/?model=banking77&text=My+card+was+stolen+yesterday")
    wait_idle(page, timeout=120_000)
    background = page.locator('[data-testid="stApp"]').evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    rgb = [int(v) for v in background[background.index("(") + 1 : -1].split(",")[:3]]
    assert sum(rgb) < 150, f"dark preference, but the app background is {background}"
    shot(page, "screens-dark-playground")
    toggle = page.locator('[data-testid="stSidebar"] [data-testid="stCheckbox"]').filter(
        has_text="Presentation mode"
    )
    toggle.click()
    wait_idle(page, timeout=120_000)
    size = page.locator('[data-testid="stMain"] [data-testid="stMarkdownContainer"] p').first
    assert float(size.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 20
    shot(page, "screens-dark-presentation-playground")
    page.locator('[data-testid="stSidebarNav"] a', has_text="Scores → labels").click()
    wait_idle(page, timeout=120_000)
    assert page.locator('[data-testid="stSidebar"] input[type="checkbox"]').first.is_checked()
    shot(page, "screens-dark-presentation-lesson")
    assert not page.foreign, f"requests to other hosts: {page.foreign}"
