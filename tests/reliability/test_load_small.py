"""Eight concurrent sessions over Streamlit's WebSocket protocol: zero errors, zero leaks.

A small run of ``benchmarks/load_sessions.py`` (no timing asserts: CI machines vary), plus
checks that the verifier itself flags a leak when it sees one.
"""

from __future__ import annotations

import pytest

from benchmarks._st_client import RunResult
from benchmarks.load_sessions import Step, check_run, plan_session, run_load
from tests.reliability.conftest import needs_banking77


def _result(
    record: dict[str, object], headline: str = "### Predicted class: card_arrival"
) -> RunResult:
    import json

    return RunResult(markdown=[headline], code=[("json", json.dumps(record))])


STEP = Step(model="banking77", text="where is my card (ref zq03r1)", reject=0.5)
GOOD = {
    "model": "banking77",
    "text": "where is my card (ref zq03r1)",
    "labels": ["card_arrival"],
    "reject_threshold": 0.5,
    "scores": [{"label": "card_arrival", "score": 0.9}],
}


def test_verifier_accepts_a_correct_response() -> None:
    assert check_run(_result(GOOD), STEP, own_marker="zq03r") == ([], [])


@pytest.mark.parametrize(
    ("change", "leak"),
    [
        ({"model": "goemotions"}, "model 'goemotions', expected 'banking77'"),
        ({"text": "where is my card (ref zq04r1)"}, "text"),
        ({"reject_threshold": 0.2}, "reject threshold 0.2, expected 0.5"),
        ({"labels": ["refund"]}, "disagrees with record labels"),
    ],
)
def test_verifier_flags_leaks(change: dict[str, object], leak: str) -> None:
    errors, leaks = check_run(_result({**GOOD, **change}), STEP, own_marker="zq03r")
    assert errors == []
    assert any(leak in entry for entry in leaks), leaks


def test_verifier_flags_a_foreign_marker_anywhere() -> None:
    result = _result(GOOD)
    result.markdown.append("someone else's text (ref zq11r0)")
    _, leaks = check_run(result, STEP, own_marker="zq03r")
    assert leaks == ["other sessions' markers in the output: ['zq11r0']"]


def test_verifier_counts_exceptions_and_missing_output() -> None:
    errors, _ = check_run(RunResult(exceptions=["ValueError: boom"]), STEP, own_marker="zq03r")
    assert errors == [
        "exception ValueError: boom",
        "no decision headline",
        "no JSON record (the JSON tab did not render)",
    ]


def test_plans_differ_per_session_and_switch_models() -> None:
    models = [("banking77", "multi-class"), ("goemotions", "multi-label")]
    _, a = plan_session(0, rounds=4, models=models, default_model="banking77")
    _, b = plan_session(1, rounds=4, models=models, default_model="banking77")
    assert {s.text for s in a}.isdisjoint({s.text for s in b if not s.switch})
    assert any(s.switch for s in a) and any(s.switch for s in b)
    assert all("zq00r" in s.text for s in a if not s.switch)


@pytest.mark.slow
@needs_banking77
def test_eight_concurrent_sessions_no_errors_no_leaks() -> None:
    report = run_load(sessions=8, rounds=3, think=0.2, timeout=120.0)
    assert report.errors == []
    assert report.leaks == []
    assert len(report.latencies) >= 8 * 3
    assert len(report.observations) == 8 * 3
    assert report.peak_rss_mib > 0


@pytest.mark.slow
@needs_banking77
def test_eight_sessions_through_serve_two_processes_no_errors_no_leaks() -> None:
    """The same through ``cls-explorer serve --processes 2``: HAProxy in front, sessions
    spread over two Streamlit processes, each session's requests on its own process."""
    from cls_core.cli.serve import find_haproxy

    if find_haproxy() is None:
        pytest.fail("HAProxy is missing: run `make test` (it installs Debian's haproxy)")
    report = run_load(sessions=8, rounds=3, think=0.2, timeout=120.0, processes=2)
    assert report.errors == []
    assert report.leaks == []
    assert report.processes == 2
    assert len(report.process_cpu) == 2
    assert min(report.process_cpu) > 0.2, report.process_cpu  # both processes served sessions
    assert len(report.observations) == 8 * 3
    assert report.peak_rss_mib > 0
