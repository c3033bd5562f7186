"""Shared helpers for the reliability suite: AppTest drivers and throw-away model roots.

The browser fixtures (``app_url``, ``browser``, ``page``) come from ``tests/conftest.py``,
shared with ``tests/browser``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from cls_core.modelio.registry import CARD_FILENAME, list_models
from cls_core.paths import PROJECT_ROOT

MODELS_DIR = PROJECT_ROOT / "models"
SHIPPED = list_models([MODELS_DIR]).names
needs_banking77 = pytest.mark.skipif(
    "banking77" not in SHIPPED, reason="models/banking77 is not present"
)


def app(timeout: float = 120, **query: str) -> AppTest:
    """Run ``app.py`` headlessly with the given URL query parameters."""
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=timeout)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def no_exception(at: AppTest) -> None:
    """No exception element anywhere on the page."""
    assert not at.exception, [e.value for e in at.exception]


def headline(at: AppTest) -> str:
    """The Playground's decision headline with Markdown escapes removed."""
    heads = [m.value for m in at.markdown if m.value.startswith("### ")]
    assert heads, "no decision headline rendered"
    return str(heads[0]).replace("\\", "")


def texts_of(elements: Any) -> list[str]:
    """The ``.value`` of each element (errors, warnings, infos), escapes removed."""
    return [str(e.value).replace("\\", "") for e in elements]


def copy_model(src: Path, dst: Path) -> Path:
    """Copy a model directory and rename it (the card's ``name`` must match the dir)."""
    shutil.copytree(src, dst)
    card_path = dst / CARD_FILENAME
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["name"] = dst.name
    card_path.write_text(json.dumps(card), encoding="utf-8")
    return dst


def edit_card(path: Path, **changes: Any) -> None:
    """Rewrite fields of a copied model's card."""
    card_path = path / CARD_FILENAME
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card.update(changes)
    card_path.write_text(json.dumps(card), encoding="utf-8")


@pytest.fixture
def fresh_listing() -> Iterator[None]:
    """Forget the sidebar's cached model listing before and after the test.

    ``model_listing`` is ``st.cache_data(ttl=10)`` and shared by every AppTest in this
    process, so a test that changes ``CLS_MODEL_DIRS`` must not see (or leave) a stale one.
    """
    from pages import _shared

    _shared.model_listing.clear()
    yield
    _shared.model_listing.clear()
