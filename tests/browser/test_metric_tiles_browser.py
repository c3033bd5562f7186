"""Issue 14 at 1024×768: the tuning page's metric tiles show whole labels and values.

In a quarter of the main column (about 130 px) "Accuracy (abstain = wrong)", "Labels per
example (true)" with "1.61 (1.19)", and a "Task" tile reading "multi-class" were cut off
with an ellipsis. Every text inside every ``stMetric`` must fit its box.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import shot, wait_idle

pytestmark = pytest.mark.browser

# texts inside metric tiles that are wider than their box (cut off with an ellipsis)
CUT = """() => [...document.querySelectorAll('[data-testid="stMetric"] *')]
  .filter((el) => el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
  .map((el) => el.closest('[data-testid="stMetric"]').textContent.slice(0, 60))"""


@pytest.mark.parametrize("model", ["ekman", "goemotions"])
def test_metric_tiles_not_cut_off_at_1024x768(app_url, page, model) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(f"{app_url}/thresholds?model={model}")
    wait_idle(page, timeout=600_000)  # a fresh split is scored once
    page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=300_000)
    wait_idle(page, timeout=120_000)
    labels = page.locator('[data-testid="stMetricLabel"]').all_text_contents()
    assert "Macro F1" in labels and "Rows read" in labels
    assert page.evaluate(CUT) == []
    page.set_viewport_size({"width": 1024, "height": 2400})
    wait_idle(page, timeout=120_000)
    shot(page, f"screens-1024-metrics-{model}")
