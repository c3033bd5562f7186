"""What a person waits for: a threshold slider move in real Chromium, input to settled page.

Starts ``streamlit run app.py`` and Debian Chromium (``/usr/bin/chromium``, the flags of
``tests/_browser.py``) and, for each case, focuses a threshold slider and presses an arrow
key (one step to the right), many times:

- **playground**: the reject-threshold slider of the Playground (banking77, a text typed).
  Goal: median ≤ 150 ms.
- **tuning**: the inspected class's threshold slider of the threshold-tuning page
  (goemotions, its first data source: the bundled dev split when ``../shared/data`` is
  present, else the project-written demo set). Goal: median ≤ 300 ms.

Latency is measured inside the page: from the ``keydown`` event to the last change the
rerun made to the page (last WebSocket message or DOM mutation, once Streamlit reports the
script run finished and nothing has changed for 250 ms). The slider's new value is checked
on the page. Bytes are what the server sent over the WebSocket for that rerun. The time of
the last message splits each move into the rerun (key handling, script, transfer) and the
browser's drawing of what arrived (React, layout, the data grids' redraw). The CPU time
the page's main thread used per move (Chromium's ``ThreadTime``, which a loaded machine
stretches less than the wall clock) is printed too.

The floor: a three-line Streamlit app (a slider and the value it shows) started in the
same run and driven through Streamlit's own protocol (``_st_client.py``): the cheapest
rerun Streamlit can do on this machine right now. Each case prints its median as a ratio
to that floor, so a loaded machine shows up in both numbers.

Run: ``.venv/bin/python benchmarks/bench_browser.py [--moves 15]``. Exits 1 when a goal is
missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _st_client import StreamlitSession, free_port, start_app

from tests._browser import CHROMIUM, CHROMIUM_FLAGS, wait_idle

GOALS_MS = {"playground": 150.0, "tuning": 300.0}

FLOOR_APP = """import streamlit as st
value = st.slider("x", 0.0, 1.0, 0.5, 0.01, key="x")
st.write(value)
"""

# Counts every WebSocket message the page receives (bytes, time) and every DOM change.
PROBE = """
(() => {
  const Original = window.WebSocket;
  window.__ws = {bytes: 0, last: 0};
  function Probed(...args) {
    const ws = new Original(...args);
    ws.addEventListener('message', (e) => {
      const d = e.data;
      window.__ws.bytes += d.byteLength ?? d.size ?? d.length ?? 0;
      window.__ws.last = performance.now();
    });
    return ws;
  }
  Probed.prototype = Original.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Probed[k] = Original[k];
  window.WebSocket = Probed;
  window.__dom = {last: 0};
  window.__t0 = null;
  document.addEventListener('keydown', () => { window.__t0 = performance.now(); }, true);
  const watch = () => new MutationObserver(() => { window.__dom.last = performance.now(); })
    .observe(document.documentElement, {subtree: true, childList: true, attributes: true,
                                        characterData: true});
  if (document.documentElement) watch(); else document.addEventListener('DOMContentLoaded', watch);
})();
"""

SETTLED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (window.__t0 === null || window.__ws.last <= window.__t0) return false;
  if (!app || app.dataset.testScriptState !== 'notRunning') return false;
  return performance.now() - Math.max(window.__ws.last, window.__dom.last) > 250;
}"""


def load() -> str:
    return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())


@contextmanager
def floor_app() -> Iterator[str]:
    """The three-line app on a free port; yields its WebSocket URL."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "floor.py"
        script.write_text(FLOOR_APP)
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the three-line floor app did not start")
                time.sleep(0.3)
            yield f"ws://127.0.0.1:{port}/_stcore/stream"
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def floor_ms(moves: int) -> list[float]:
    """Protocol latencies (ms) of slider moves in the three-line app."""
    out = []
    with floor_app() as ws_url, StreamlitSession(ws_url) as s:
        s.run()
        for i in range(moves + 2):
            s.set_slider("x", (i % 9 + 1) / 10)
            result = s.run()
            if i >= 2:
                out.append(result.latency * 1000)
    return out


def main_thread_ms(cdp: Any) -> float:
    """CPU time (ms) the page's main thread has used so far (Chromium's ``ThreadTime``)."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return 1000.0 * next(m["value"] for m in metrics if m["name"] == "ThreadTime")


def slider_moves(
    page: Any, label: str, moves: int
) -> tuple[list[float], list[int], list[float], list[float]]:
    """Latency (ms), bytes received, last-message time (ms after the key) and the main
    thread's CPU time (ms, the settling wait's polling included) of ``moves`` one-step
    moves of the slider ``label``."""
    slider = page.locator('[data-testid="stSlider"]').filter(has_text=label).first
    thumb = slider.locator('input[type="range"]').first
    thumb.focus()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    times, sizes, last_message, cpu = [], [], [], []
    for i in range(moves + 2):  # two warm-up moves
        cpu_before = main_thread_ms(cdp)
        before = thumb.get_attribute("aria-valuetext")
        page.evaluate("() => { window.__t0 = null; window.__ws.bytes = 0; }")
        # always one way: every move asks for values never drawn before (moving back and
        # forth would let Streamlit's browser-side message cache hide the chart bytes)
        page.keyboard.press("ArrowRight")
        page.wait_for_function(SETTLED, polling=20, timeout=120_000)
        after = thumb.get_attribute("aria-valuetext")
        if after == before:
            raise SystemExit(f"the slider {label!r} did not move ({before} → {after})")
        ms = page.evaluate("() => Math.max(window.__ws.last, window.__dom.last) - window.__t0")
        if i >= 2:
            times.append(float(ms))
            sizes.append(int(page.evaluate("() => window.__ws.bytes")))
            last_message.append(float(page.evaluate("() => window.__ws.last - window.__t0")))
            cpu.append(main_thread_ms(cdp) - cpu_before)
    return times, sizes, last_message, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=15)
    parser.add_argument("--cases", nargs="+", default=["playground", "tuning"])
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit("Debian chromium is missing at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    floor = statistics.median(floor_ms(args.moves))
    print(f"floor: three-line app, protocol rerun median {floor:.1f} ms ({load()})")
    cases = {
        "playground": (
            "?model=banking77&text=I+still+have+not+received+my+new+card",
            "Reject threshold",
        ),
        "tuning": ("thresholds?model=goemotions", "Threshold for"),
    }
    failed = False
    with start_app() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        for name, (path, label) in cases.items():
            if name not in args.cases:
                continue
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_init_script(PROBE)
            page = context.new_page()
            page.goto(f"{server.url}/{path}")
            wait_idle(page, timeout=600_000)  # a fresh split is scored once (minutes)
            times, sizes, last_message, cpu = slider_moves(page, label, args.moves)
            median = statistics.median(times)
            p90 = sorted(times)[int(0.9 * (len(times) - 1))]
            goal = GOALS_MS[name]
            verdict = "ok" if median <= goal else "OVER GOAL"
            failed |= median > goal
            print(
                f"{name:<10} input → settled median {median:6.1f} ms (p90 {p90:.1f}; "
                f"{median / floor:4.1f}x the floor; goal <= {goal:.0f} ms: {verdict}); "
                f"sent per rerun median {statistics.median(sizes) / 1024:.1f} KiB "
                f"(max {max(sizes) / 1024:.1f} KiB)"
            )
            # where the time goes: until the server's last message (key handling, the
            # rerun, the transfer), then the browser drawing what arrived
            server_done = statistics.median(last_message)
            print(
                f"{'':<10} last message at {server_done:6.1f} ms, then "
                f"{median - server_done:6.1f} ms of drawing in the browser (medians); the "
                f"page's main thread used {statistics.median(cpu):.0f} ms of CPU a move"
            )
            context.close()
        browser.close()
    print(load())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
