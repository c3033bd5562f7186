"""Session-wide fixtures shared by every test folder.

Browser tests: the real app served by ``streamlit run app.py`` on a free loopback port, and
Debian Chromium driven by Playwright (one of each per test session).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cls_core.paths import PROJECT_ROOT
from tests._browser import CHROMIUM, CHROMIUM_FLAGS

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
from _st_client import start_app


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port (the load test's launcher)."""
    with start_app(log_path=tmp_path_factory.mktemp("streamlit") / "server.log") as server:
        yield server.url


@pytest.fixture(scope="session")
def own_model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model root holding the five own-model SavedModels of issue 10, built once.

    Built by ``tests/_own_models.py`` (no model cards). Tests that write into a model
    directory copy it first.
    """
    from tests._own_models import build_all

    return build_all(tmp_path_factory.mktemp("own_models") / "root")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian chromium is missing at /usr/bin/chromium: run `make test` (it installs it) "
            "or `apt-get install chromium`"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    pg = context.new_page()
    pg.console_errors = []
    pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))
    yield pg
    context.close()
