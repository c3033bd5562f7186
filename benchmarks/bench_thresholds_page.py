"""Server-side cost of the threshold-tuning page's reruns, measured on the real app.

Starts ``streamlit run app.py``, opens ``/thresholds`` on a bundled split (scored once,
then cached on disk) and drives one session through Streamlit's own WebSocket protocol
(see ``_st_client.py``):

- **baseline**: a full rerun with nothing changed (every cache hit): the floor the others
  are compared with, measured in this same process.
- **threshold**: moving the inspected class's threshold slider, which the browser sends as
  a rerun of the ``st.fragment`` the slider sits in; its callback then reruns only the
  fragments that show thresholds (``st.rerun([keys])``). Goal ≤ 60 ms (issue 15). The
  messages and bytes such a move sends are printed too.
- **reject** (multi-class): moving the reject-threshold slider. Goal ≤ 60 ms.
- **objective**: changing the optimiser's objective (F-beta ↔ cost), a rerun of the
  fragment the objective box sits in. Goal ≤ 60 ms.
- **cold move**: the very first threshold move after the data was loaded (nothing warmed
  by earlier moves), reported apart.

Latency is send → ``script_finished`` over loopback. Run:
``.venv/bin/python benchmarks/bench_thresholds_page.py [--rounds N] [--cases goemotions:dev]``.
Needs the bundled datasets (``CLS_DATA_DIR`` or ``../shared/data``); the first run scores
the split with the model (about a minute) and caches the scores on disk.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _st_client import RunResult, StreamlitSession, start_app

GOAL_MS = 60.0


def load() -> str:
    return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())


class PageSession(StreamlitSession):
    """A session that asks for one page of the app (``page_name`` = its URL path)."""

    def __init__(self, ws_url: str, *, page: str, timeout: float = 60.0) -> None:
        super().__init__(ws_url, timeout=timeout)
        self.page = page
        self.sent = (0, 0)  # (messages, bytes) received since the last reset

    def _receive(self) -> Any:
        fwd = super()._receive()
        self.sent = (self.sent[0] + 1, self.sent[1] + fwd.ByteSize())
        return fwd

    def _send(self, msg: Any) -> None:
        if msg.HasField("rerun_script") and not msg.rerun_script.fragment_id:
            msg.rerun_script.page_name = self.page
        super()._send(msg)


def _key(result: RunResult, suffix: str) -> str | None:
    return next((k for k in result.widgets if k.startswith("tune.") and suffix in k), None)


def _checked(result: RunResult, what: str) -> RunResult:
    if result.errors():
        raise SystemExit(f"{what} failed: {result.errors()}")
    return result


def measure(model: str, rounds: int) -> dict[str, list[float]]:
    """Latencies (seconds) of the page's full and fragment reruns for ``model``'s default split."""
    times: dict[str, list[float]] = {
        "baseline": [],
        "threshold": [],
        "reject": [],
        "objective": [],
        "cold": [],
        "messages": [],
        "bytes": [],
    }
    with start_app() as server, PageSession(server.ws_url, page="thresholds", timeout=600) as s:
        first = _checked(s.run(f"model={model}"), "the first run")
        slider, kind = _key(first, ".one."), _key(first, ".kind")
        reject = _key(first, ".reject")
        if slider is None or kind is None:
            raise SystemExit(
                f"no threshold slider / objective box; widgets: {sorted(first.widgets)}"
            )
        frag = {k: first.fragment_ids.get(k, "") for k in (slider, kind, reject) if k}
        if not all(frag.values()):
            raise SystemExit(f"widgets outside any fragment: {frag}")
        objectives = [s.option_for(kind, "cost"), s.option_for(kind, "F-beta")]
        for i in range(rounds + 2):  # the first two rounds warm every path
            record = i >= 2
            base = _checked(s.run(), "a full rerun")
            s.set_slider(slider, (i % 9 + 1) / 10)
            s.sent = (0, 0)
            moved = _checked(s.run(fragment_id=frag[slider]), "a threshold move")
            times["messages"].append(s.sent[0])
            times["bytes"].append(s.sent[1])
            if i == 0:
                times["cold"].append(moved.latency)
            s.set_option(kind, objectives[i % 2])
            changed = _checked(s.run(fragment_id=frag[kind]), "an objective change")
            if record:
                times["baseline"].append(base.latency)
                times["threshold"].append(moved.latency)
                times["objective"].append(changed.latency)
            if reject:
                s.set_slider(reject, (i % 5) / 10)
                rejected = _checked(s.run(fragment_id=frag[reject]), "a reject move")
                if record:
                    times["reject"].append(rejected.latency)
    return {k: v for k, v in times.items() if v}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--models", nargs="+", default=["goemotions", "banking77"])
    args = parser.parse_args(argv)
    failed = False
    for model in args.models:
        times = measure(model, args.rounds)
        base = statistics.median(times["baseline"]) * 1000
        print(f"{model}: median over {args.rounds} rounds (baseline = unchanged full rerun)")
        print(f"  baseline  full rerun      {base:7.1f} ms  1.00x")
        for kind in ("threshold", "reject", "objective"):
            if kind not in times:
                continue
            ms = statistics.median(times[kind]) * 1000
            p90 = sorted(times[kind])[int(0.9 * (len(times[kind]) - 1))] * 1000
            verdict = "ok" if ms <= GOAL_MS else "OVER GOAL"
            failed |= ms > GOAL_MS
            print(
                f"  {kind:<9} fragment rerun {ms:7.1f} ms  {ms / base:4.2f}x  (p90 {p90:.1f} ms; "
                f"goal <= {GOAL_MS:.0f} ms: {verdict})"
            )
        cold = times["cold"][0] * 1000
        print(f"  cold move (first after loading) {cold:7.1f} ms  {cold / base:4.2f}x")
        print(
            f"  a threshold move sends {statistics.median(times['messages']):.0f} messages, "
            f"{statistics.median(times['bytes']) / 1024:.1f} KiB (medians)"
        )
        print(f"  {load()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
