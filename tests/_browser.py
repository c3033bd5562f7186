"""Browser-test helpers: Debian Chromium flags, waiting for Streamlit, screenshots.

The fixtures that use them (``app_url``, ``browser``, ``page``) live in ``tests/conftest.py``
so every test folder shares one server and one Playwright instance per session.
"""

from __future__ import annotations

from pathlib import Path

from cls_core.paths import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = PROJECT_ROOT / "screenshots"


def wait_idle(page, timeout: float = 60_000) -> None:  # type: ignore[no-untyped-def]
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_timeout(400)  # let a rerun triggered by the last action start
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout
    )
    # widgets render from lazily loaded JS chunks: wait until those requests are done
    page.wait_for_load_state("networkidle", timeout=timeout)
    # The script state says "notRunning" as soon as the last message arrived; on two busy
    # cores the browser can still be drawing the elements for a second after that (a
    # linked text showed an empty box, then its value). Wait until the page's main thread
    # has been idle twice, 300 ms apart, and the DOM stopped changing in between.
    page.wait_for_function(_SETTLED_JS, timeout=timeout, polling=100)
    page.wait_for_timeout(300)


# True once the DOM has not changed for 300 ms, seen from an idle callback (installs a
# MutationObserver on first use).
_SETTLED_JS = """() => {
  if (!window.__clsLastMutation) {
    window.__clsLastMutation = performance.now();
    new MutationObserver(() => { window.__clsLastMutation = performance.now(); })
      .observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
    return false;
  }
  return new Promise((resolve) => requestIdleCallback(
    () => resolve(performance.now() - window.__clsLastMutation > 300), {timeout: 1000}));
}"""


def shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


#: A scores file the tuning page reads and refuses with a message naming the cell.
BAD_SCORES_CSV = "anger,joy,label\n0.2,0.5,joy\n0.1,inf,anger\n"
BAD_SCORES_MESSAGE = "infinite score inf at row 2, column 'joy'"


def upload_bad_scores(page, base_url: str, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    """Open the tuning page (ekman) at ``base_url``, upload :data:`BAD_SCORES_CSV` and
    return the first error alert's text: the app's answer, so the upload reached the
    session's server process."""
    page.goto(f"{base_url}/thresholds?model=ekman")
    wait_idle(page, timeout=120_000)
    page.get_by_text("Upload a scores file").click(timeout=120_000)  # first run: imports
    wait_idle(page)
    bad = tmp_path / "scores.csv"
    bad.write_text(BAD_SCORES_CSV)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    wait_idle(page)
    return page.locator('[data-testid="stAlertContentError"]').first.text_content() or ""
