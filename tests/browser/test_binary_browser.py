"""A binary model (issue 10, item 4) in a real browser: one threshold slider in the Playground.

A second app server runs with ``CLS_MODEL_DIRS`` pointing at a model root holding only the
binary fixture (one sigmoid column, no card). The Playground must show both classes'
bars, one slider "positive when its score ≥ t", and a label that follows the threshold
(here set through the link's ``bt.<model>``, as Threshold tuning's link does).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from cls_core.paths import PROJECT_ROOT
from tests.browser.conftest import shot, wait_idle

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
from _st_client import start_app

pytestmark = pytest.mark.browser

TEXT = "win a free prize now"


@pytest.fixture(scope="module")
def binary_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, float]]:
    from cls_core.modelio.registry import load_model
    from tests._own_models import build_all

    root = build_all(tmp_path_factory.mktemp("binary_browser") / "root", kinds=("binary_sigmoid",))
    p = float(load_model("binary_sigmoid", roots=[root]).predict([TEXT]).scores[0, 1])
    log = tmp_path_factory.mktemp("binary_streamlit") / "server.log"
    with start_app(env={"CLS_MODEL_DIRS": str(root)}, log_path=log) as server:
        yield server.url, p


def _headline(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator("h3").first.text_content() or ""


def test_playground_binary_one_threshold(binary_app, page) -> None:  # type: ignore[no-untyped-def]
    url, p = binary_app
    below, above = max(p - 0.05, 0.0), min(p + 0.05, 1.0)
    for t, want in ((below, "positive"), (above, "negative")):
        page.goto(f"{url}/?model=binary_sigmoid&text={quote(TEXT)}&bt.binary_sigmoid={t!r}")
        wait_idle(page, timeout=300_000)
        page.wait_for_selector('[data-testid="stVegaLiteChart"]')
        assert _headline(page).startswith(f"Predicted class: {want} (positive's score ")
        sliders = page.locator('[data-testid="stSlider"]')
        labels = [sliders.nth(i).text_content() or "" for i in range(sliders.count())]
        assert sum("positive when its score ≥ t" in x for x in labels) == 1
        assert not any("Reject threshold" in x for x in labels)  # no arg-max reject slider
        chart = page.locator('[data-testid="stVegaLiteChart"]').first.text_content() or ""
        assert "negative" in chart and "positive" in chart
        main = page.locator('[data-testid="stMain"]').text_content() or ""
        assert "positive when p ≥ t, otherwise negative" in main
        shot(page, f"binary-playground-{want}")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.console_errors


def test_tuning_page_binary_scores_file(binary_app, page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    url, _ = binary_app
    rng = np.random.default_rng(2)
    p = np.round(rng.random(400), 3)
    y = rng.random(400) < p
    rows = [
        f"{1 - a!r},{a!r},{'positive' if b else 'negative'}"
        for a, b in zip(p.tolist(), y.tolist(), strict=True)
    ]
    scores = tmp_path / "scores.csv"
    scores.write_text("negative,positive,label\n" + "\n".join(rows) + "\n")
    page.goto(f"{url}/thresholds?model=binary_sigmoid")
    wait_idle(page, timeout=300_000)
    page.get_by_text("Upload a scores file").click(timeout=120_000)
    wait_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(scores))
    wait_idle(page, timeout=120_000)
    shot(page, "binary-tuning-upload")
    page.wait_for_selector('[data-testid="stVegaLiteChart"]')
    main = page.locator('[data-testid="stMain"]').text_content() or ""
    assert "Binary rule: positive when its score p ≥ t" in main
    assert "Threshold t for positive" in main
    assert "Inspect class" not in main  # no per-class arg-max sections
    page.get_by_role("button", name="Optimise").click()
    wait_idle(page)
    main = page.locator('[data-testid="stMain"]').text_content() or ""
    assert "f1 → t = " in main
    shot(page, "binary-tuning")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.console_errors
