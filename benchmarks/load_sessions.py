"""Concurrent-sessions load and isolation test of the running app.

Starts ``streamlit run app.py`` on 127.0.0.1 (free port) and drives N sessions at once
through Streamlit's own WebSocket protocol (``benchmarks/_st_client.py``). Each session
is one user with a plan of its own: a deep link with a model and a text, then for each
round (``--rounds``) possibly a model switch, then a new text carrying a marker word
unique to that session and round (``zq07r2``) and its own thresholds (multi-class: a
reject threshold; multi-label: a threshold for every class). Sessions wait a random think
time between requests (uniform in ``[0, 2 * --think]`` seconds).

Every response is checked:

- errors: exception elements, ``st.error`` alerts, timeouts, closed sockets, a missing
  headline or JSON record;
- isolation (leaks): the Playground's JSON record (its tab is opened first) must hold this
  session's model, text and thresholds; no other session's marker may appear anywhere in
  the run's markdown or code; the headline must agree with the record's labels; and after
  the concurrent phase a single fresh session replays every request one at a time, with
  the caches cleared, and must see the same headline, labels and scores.

Prints p50/p95 rerun latency (request sent → ``script_finished``; the deep-link first load
is reported apart), errors, leaks, and the server's peak memory (``VmHWM``). Before the
concurrent phase, one session alone runs the same kind of plan: its median rerun latency is
the baseline the concurrent p95 is compared with (same server, same process). Exit status 1
when there was any error or leak. Goal (issue 15): 50 sessions, zero errors, zero leaks,
p95 ≤ 1 s on a 2-core machine.

``--processes N`` (N > 1) serves the app the way a room is served, ``cls-explorer serve
--processes N``: N Streamlit processes behind HAProxy with cookie affinity. Each process is
warmed up through its own port; CPU and peak memory are summed over them.

Usage: ``python benchmarks/load_sessions.py [--sessions 50] [--rounds 5] [--think 1.0]
[--processes 1]``.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import statistics
import sys
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._st_client import (
    ProtocolError,
    RunResult,
    StreamlitSession,
    peak_rss_mib,
    start_app,
    start_served,
)
from cls_core.modelio.registry import list_models

__all__ = ["LoadReport", "Observation", "Step", "check_run", "plan_session", "replay", "run_load"]

P95_GOAL_SECONDS = 1.0

BANKING_TEXTS = (
    "I ordered my new card two weeks ago and it still hasn't arrived.",
    "Why was I charged a fee for withdrawing cash at the ATM?",
    "My top-up didn't go through, what happened?",
    "I think someone has stolen my card and is using it.",
    "How do I change the PIN on my card?",
    "What exchange rate do you use when I pay in euros?",
    "I want to close my account.",
    "My card payment was declined at the shop.",
    "Can I get a refund for this purchase?",
    "The ATM swallowed my card.",
    "How long does a bank transfer take to arrive?",
    "Is there a limit on how much I can top up?",
)
EMOTION_TEXTS = (
    "Thank you so much, this is exactly what I needed today!",
    "I can't believe they cancelled the show again. This is so frustrating.",
    "Wow, I had no idea octopuses have three hearts!",
    "I'm really nervous about my exam tomorrow.",
    "I miss my grandmother every single day.",
    "Congratulations on the new job, I'm so proud of you!",
    "The meeting has been moved to 3pm on Thursday.",
    "That smell in the fridge is absolutely revolting.",
    "Haha that is the funniest thing I have seen all week.",
    "Why would anyone think that is a good idea?",
    "I'm so sorry for your loss.",
    "This is the best day of my life, I love you all!",
)
REJECT_VALUES = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95)
LABEL_THRESHOLD_VALUES = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7)
_MARKER_RE = re.compile(r"zq\d{2,}r\d+")


@dataclass(frozen=True, kw_only=True)
class Step:
    """One request a session makes: the model, text and thresholds it should then see.

    ``reject`` is set for multi-class models (0 = never abstain); ``threshold`` (every
    class) for multi-label ones. ``switch`` marks a request that only changes the model
    (the text must survive it; thresholds are the new model's defaults, not checked).
    """

    model: str
    text: str
    reject: float | None = None
    threshold: float | None = None
    switch: bool = False


@dataclass
class Observation:
    """What one session saw for one step (kept for the replay comparison)."""

    session: int
    step: Step
    headline: str
    labels: list[str]
    scores: dict[str, float]


@dataclass
class LoadReport:
    """Totals of a load run."""

    sessions: int
    rounds: int
    latencies: list[float] = field(default_factory=list)
    first_load: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    peak_rss_mib: float = math.nan
    wall_seconds: float = 0.0
    models: tuple[str, ...] = ()
    #: one session alone, before the concurrent phase: its rerun latencies
    baseline: list[float] = field(default_factory=list)
    #: CPU seconds the server process and this load generator used in the concurrent phase
    server_cpu_seconds: float = math.nan
    client_cpu_seconds: float = math.nan
    #: Streamlit processes serving (more than one: ``cls-explorer serve`` with HAProxy)
    processes: int = 1
    #: CPU seconds of each Streamlit process in the concurrent phase
    process_cpu: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100) of rerun latency, nearest-rank."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(q / 100.0 * len(ordered)))
        return ordered[rank - 1]

    def summary(self) -> str:
        """Human-readable lines for the terminal."""
        p50, p95 = self.percentile(50), self.percentile(95)
        runs = len(self.latencies) + len(self.first_load)
        lines = [
            f"sessions {self.sessions}, rounds {self.rounds}, models {', '.join(self.models)}; "
            + (
                "one Streamlit process"
                if self.processes == 1
                else f"{self.processes} Streamlit processes behind HAProxy (cls-explorer serve)"
            ),
            f"reruns {len(self.latencies)} in {self.wall_seconds:.1f} s; "
            f"rerun latency p50 {p50:.3f} s, p95 {p95:.3f} s, max "
            f"{max(self.latencies, default=math.nan):.3f} s "
            f"(goal p95 ≤ {P95_GOAL_SECONDS:.1f} s: {'met' if p95 <= P95_GOAL_SECONDS else 'NOT met'})",
            f"baseline (one session alone) rerun p50 "
            f"{statistics.median(self.baseline or [math.nan]):.3f} s; concurrent p95 / baseline "
            f"{p95 / statistics.median(self.baseline or [math.nan]):.1f}x",
            f"first load (deep link) p50 {statistics.median(self.first_load or [math.nan]):.3f} s, "
            f"max {max(self.first_load, default=math.nan):.3f} s",
            f"errors {len(self.errors)}, leaks {len(self.leaks)}",
            f"CPU in the concurrent phase: server {self.server_cpu_seconds:.1f} s "
            + ("(all processes) " if self.processes > 1 else "")
            + f"({1000 * self.server_cpu_seconds / max(1, runs):.0f} ms per run, "
            f"{self.server_cpu_seconds / max(self.wall_seconds, 1e-9):.2f} cores), "
            f"this load generator {self.client_cpu_seconds:.1f} s (same 2 cores)",
            f"server peak RSS (VmHWM) {self.peak_rss_mib:.0f} MiB"
            + (
                f"; CPU per process {', '.join(f'{c:.1f}' for c in self.process_cpu)} s"
                if self.processes > 1
                else ""
            )
            + (" (sum over the processes)" if self.processes > 1 else ""),
        ]
        lines += [f"  error: {e}" for e in self.errors[:20]]
        lines += [f"  leak: {e}" for e in self.leaks[:20]]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Plans


def plan_session(
    index: int, *, rounds: int, models: Sequence[tuple[str, str]], default_model: str
) -> tuple[str, list[Step]]:
    """The deep link's query string and the steps of session ``index``.

    ``models`` holds ``(name, task)`` pairs; ``default_model`` is the one the app shows
    first. The deep link carries only the text: the session then picks its model in the
    sidebar, as a user would. The session starts on model
    ``index mod len(models)`` and moves to the next one every second round.
    """
    steps: list[Step] = []
    first_text = f"{BANKING_TEXTS[index % len(BANKING_TEXTS)]} (ref zq{index:02d}r0) first load"
    current = default_model
    last_text = first_text
    for r in range(rounds):
        name, task = models[(index + r // 2) % len(models)]
        pool = BANKING_TEXTS if task == "multi-class" else EMOTION_TEXTS
        marker = f"zq{index:02d}r{r}"
        text = f"{pool[(3 * index + r) % len(pool)]} (ref {marker})"
        if name != current:
            steps.append(Step(model=name, text=last_text, switch=True))
        current = name
        last_text = text
        if task == "multi-class":
            reject = REJECT_VALUES[(index + 2 * r) % len(REJECT_VALUES)]
            steps.append(Step(model=name, text=text, reject=reject))
        else:
            threshold = LABEL_THRESHOLD_VALUES[(index + r) % len(LABEL_THRESHOLD_VALUES)]
            steps.append(Step(model=name, text=text, threshold=threshold))
    return urllib.parse.urlencode({"text": first_text}), steps


def _apply(session: StreamlitSession, step: Step) -> None:
    if step.switch:
        session.set_option("model", session.option_for("model", step.model))
        return
    session.set_text("text", step.text)
    if step.reject is not None:
        session.set_slider(f"reject.{step.model}", step.reject)
    if step.threshold is not None:
        prefix = f"t.{step.model}."
        for key in [k for k in session.widgets if k.startswith(prefix)]:
            session.set_slider(key, step.threshold)


def check_run(result: RunResult, step: Step, *, own_marker: str) -> tuple[list[str], list[str]]:
    """Errors and leaks in one run's output, given the step that produced it."""
    errors = list(result.errors())
    leaks: list[str] = []
    if result.headline is None:
        errors.append("no decision headline")
    records = [r for r in result.json_blocks() if isinstance(r, dict) and "text" in r]
    if not records:
        errors.append("no JSON record (the JSON tab did not render)")
        return errors, leaks
    record = records[0]
    if record.get("model") != step.model:
        leaks.append(f"model {record.get('model')!r}, expected {step.model!r}")
    if record.get("text") != step.text:
        leaks.append(f"text {record.get('text')!r:.80}, expected {step.text!r:.80}")
    if not step.switch:
        if step.reject is not None:
            got = record.get("reject_threshold")
            want = step.reject or None
            if not (
                got == want or (got is not None and want is not None and abs(got - want) < 1e-9)
            ):
                leaks.append(f"reject threshold {got!r}, expected {want!r}")
        if step.threshold is not None:
            got_th = set((record.get("thresholds") or {}).values())
            if not got_th or any(abs(t - step.threshold) > 1e-9 for t in got_th):
                leaks.append(f"thresholds {sorted(got_th)}, expected all {step.threshold}")
    everything = " ".join(result.markdown) + " ".join(text for _, text in result.code)
    foreign = sorted({m for m in _MARKER_RE.findall(everything) if not m.startswith(own_marker)})
    if foreign:
        leaks.append(f"other sessions' markers in the output: {foreign}")
    if result.headline is not None:
        labels = record.get("labels") or []
        if labels and not all(label in result.headline for label in labels):
            leaks.append(f"headline {result.headline!r} disagrees with record labels {labels}")
    return errors, leaks


def _observation(index: int, step: Step, result: RunResult) -> Observation | None:
    records = [r for r in result.json_blocks() if isinstance(r, dict) and "scores" in r]
    if not records or result.headline is None:
        return None
    record = records[0]
    return Observation(
        session=index,
        step=step,
        headline=result.headline,
        labels=list(record.get("labels") or []),
        scores={s["label"]: float(s["score"]) for s in record["scores"]},
    )


# --------------------------------------------------------------------------------------
# Driving


def _drive(
    ws_url: str,
    index: int,
    query: str,
    steps: list[Step],
    *,
    think: float,
    timeout: float,
    start: threading.Barrier,
    report: LoadReport,
    lock: threading.Lock,
) -> None:
    rng = random.Random(index)
    own = f"zq{index:02d}r"
    errors: list[str] = []
    leaks: list[str] = []
    latencies: list[float] = []
    observations: list[Observation] = []
    first_load = math.nan
    try:
        start.wait()
        with StreamlitSession(ws_url, timeout=timeout) as session:
            first = session.run(query)
            first_load = first.latency
            errors += [f"session {index} first load: {e}" for e in first.errors()]
            if first.headline is None:
                errors.append(f"session {index} first load: no headline")
            session.set_option("tab", "JSON")
            for n, step in enumerate(steps):
                time.sleep(rng.uniform(0.0, 2.0 * think))
                _apply(session, step)
                result = session.run()
                latencies.append(result.latency)
                run_errors, run_leaks = check_run(result, step, own_marker=own)
                errors += [f"session {index} step {n}: {e}" for e in run_errors]
                leaks += [f"session {index} step {n}: {e}" for e in run_leaks]
                obs = _observation(index, step, result)
                if obs is not None and not step.switch:
                    observations.append(obs)
    except (ProtocolError, OSError, KeyError, threading.BrokenBarrierError) as exc:
        errors.append(f"session {index}: {type(exc).__name__}: {exc}")
    with lock:
        report.errors += errors
        report.leaks += leaks
        report.latencies += latencies
        report.observations += observations
        if not math.isnan(first_load):
            report.first_load.append(first_load)


def warm_up(ws_url: str, models: Sequence[str], *, timeout: float) -> None:
    """One session that scores a text with every model (fills the model cache)."""
    with StreamlitSession(ws_url, timeout=timeout) as session:
        session.run("text=warm+up")
        for name in models:
            _apply(session, Step(model=name, text="warm up", switch=True))
            session.run()


def replay(ws_url: str, observations: Sequence[Observation], *, timeout: float) -> list[str]:
    """Replay each observed step alone in one fresh session, caches cleared; list mismatches."""
    leaks: list[str] = []
    with StreamlitSession(ws_url, timeout=timeout) as session:
        session.run("", clear_cache=True)
        session.set_option("tab", "JSON")
        session.run()
        current = None
        for obs in sorted(observations, key=lambda o: (o.step.model, o.session)):
            step = obs.step
            if step.model != current:
                _apply(session, Step(model=step.model, text=step.text, switch=True))
                session.run()
                current = step.model
            _apply(session, step)
            result = session.run()
            ref = _observation(obs.session, step, result)
            where = f"session {obs.session} text {step.text!r:.60}"
            if ref is None:
                leaks.append(f"replay of {where} rendered no headline/record")
                continue
            if ref.headline != obs.headline or ref.labels != obs.labels:
                leaks.append(
                    f"{where}: saw {obs.headline!r} {obs.labels}, alone {ref.headline!r} {ref.labels}"
                )
            elif any(abs(ref.scores[k] - v) > 1e-5 for k, v in obs.scores.items()):
                leaks.append(f"{where}: scores differ from the replay")
    return leaks


def run_load(
    *,
    sessions: int = 50,
    rounds: int = 5,
    think: float = 1.0,
    timeout: float = 60.0,
    verify_replay: bool = True,
    env: dict[str, str] | None = None,
    processes: int = 1,
) -> LoadReport:
    """Start the app, drive ``sessions`` concurrent sessions, replay, and measure.

    Parameters
    ----------
    sessions : int
        Concurrent users (threads, one WebSocket each).
    rounds : int
        Rounds per user (each: maybe a model switch, then a new text and thresholds).
    think : float
        Mean think time between a user's requests, seconds (uniform in ``[0, 2 think]``).
    timeout : float
        Seconds without a message before a run counts as timed out.
    verify_replay : bool
        Replay every observation alone afterwards and compare (the cross-session check
        on labels and scores).
    env : dict, optional
        Extra environment for the server (e.g. ``CLS_MODEL_DIRS``).
    processes : int
        1: ``streamlit run app.py``; more: ``cls-explorer serve --processes N`` (that many
        Streamlit processes behind HAProxy; needs ``haproxy`` on PATH).

    Returns
    -------
    LoadReport
    """
    if sessions < 1 or rounds < 1:
        raise ValueError(f"`sessions` and `rounds` must be >= 1; got {sessions} and {rounds}")
    if think < 0:
        raise ValueError(f"`think` must be >= 0 seconds; got {think}")
    listing = list_models()
    models = [(c.name, c.task) for c in listing.cards]
    if not models:
        raise RuntimeError("no usable model under the model roots; nothing to load-test")
    # banking77 first so that small runs always exercise it
    models.sort(key=lambda m: (m[0] != "banking77", m[0]))
    report = LoadReport(
        sessions=sessions,
        rounds=rounds,
        models=tuple(m for m, _ in models),
        processes=processes,
    )
    default_model = listing.names[0]
    launch = start_app(env=env) if processes == 1 else start_served(processes, env=env)
    with launch as server:
        # A demo server has been up for a while: load every model once before measuring
        # (a model's first use costs seconds, which would otherwise dominate the p95), in
        # each Streamlit process (through its own port).
        for url in server.worker_urls:
            ws = url.replace("http://", "ws://", 1) + "/_stcore/stream"
            warm_up(ws, [m for m, _ in models], timeout=max(timeout, 120.0))
        # baseline: one session alone (index 99: its own markers), same kind of plan
        alone = LoadReport(sessions=1, rounds=rounds)
        query, steps = plan_session(99, rounds=rounds, models=models, default_model=default_model)
        _drive(
            server.ws_url,
            99,
            query,
            steps,
            think=min(think, 0.2),
            timeout=timeout,
            start=threading.Barrier(1),
            report=alone,
            lock=threading.Lock(),
        )
        report.baseline = alone.latencies
        report.errors += [f"baseline: {e}" for e in alone.errors]
        report.leaks += [f"baseline: {e}" for e in alone.leaks]
        start = threading.Barrier(sessions)
        lock = threading.Lock()
        threads = []
        began = time.perf_counter()
        for i in range(sessions):
            query, steps = plan_session(
                i, rounds=rounds, models=models, default_model=default_model
            )
            threads.append(
                threading.Thread(
                    target=_drive,
                    args=(server.ws_url, i, query, steps),
                    kwargs={
                        "think": think,
                        "timeout": timeout,
                        "start": start,
                        "report": report,
                        "lock": lock,
                    },
                    name=f"session-{i}",
                )
            )
        before = [process_cpu_seconds(p) for p in server.workers]
        client_cpu = time.process_time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report.wall_seconds = time.perf_counter() - began
        report.process_cpu = [
            process_cpu_seconds(p) - b for p, b in zip(server.workers, before, strict=True)
        ]
        report.server_cpu_seconds = sum(report.process_cpu)
        report.client_cpu_seconds = time.process_time() - client_cpu
        report.peak_rss_mib = sum(peak_rss_mib(p) for p in server.workers)
        if verify_replay and report.observations:
            try:
                report.leaks += replay(server.ws_url, report.observations, timeout=timeout)
            except (ProtocolError, OSError, KeyError) as exc:
                report.errors.append(f"replay: {type(exc).__name__}: {exc}")
    return report


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (``/proc/<pid>/stat``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50, help="concurrent sessions (50)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per session (5)")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean think time between requests, s (1.0)"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="per-message timeout, s")
    parser.add_argument(
        "--no-replay", action="store_true", help="skip the one-at-a-time replay check"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="Streamlit processes: 1 (streamlit run app.py) or more (cls-explorer serve "
        "--processes N: behind HAProxy, which must be installed)",
    )
    args = parser.parse_args(argv)
    report = run_load(
        sessions=args.sessions,
        rounds=args.rounds,
        think=args.think,
        timeout=args.timeout,
        verify_replay=not args.no_replay,
        processes=args.processes,
    )
    print(report.summary())
    return 1 if report.errors or report.leaks else 0


if __name__ == "__main__":
    sys.exit(main())
