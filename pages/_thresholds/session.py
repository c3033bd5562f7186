"""Tuning session state shared by the sections: thresholds, reject, objective, intervals.

Also the pieces every section draws with: the cached ranking summary, the chart block
(Vega-Lite dict + PNG/SVG downloads) and the inspected class's operating threshold, and
the keys of the page's fragments with the rule of which ones a threshold move reruns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from cls_core.evaluation import tuning_session as ts
from cls_core.modelio.registry import ModelCard
from cls_core.views import charts


@dataclass(frozen=True, kw_only=True)
class Tuning:
    """One data set's tuning session: the card, the EvalSet and its mutable state dict.

    ``state`` holds ``thr`` (per-class thresholds), ``reject``, ``objective``, ``boot``
    (bootstrap intervals), ``selection`` (last optimiser result) and widget versions.
    """

    card: ModelCard
    evs: Any
    ns: str
    state: dict[str, Any]

    @property
    def ev(self) -> Any:
        return self.evs.evaluation

    @property
    def labels(self) -> list[str]:
        return list(self.ev.labels)

    @property
    def multi_class(self) -> bool:
        return bool(self.ev.task == "multi-class")

    @property
    def thr(self) -> np.ndarray:
        return self.state["thr"]

    @property
    def reject(self) -> float | None:
        return float(self.state["reject"]) if self.multi_class else None


#: Keys of the per-class page's fragments (``pages/thresholds.py``, one per section or part
#: of one). A threshold move reruns only those that show a threshold or a number that
#: depends on one (:func:`rerun_after_move`); the data, the section titles, the class
#: picker and the calibration stay as they are in the browser.
EDITOR = "tune.editor"
SET_ALL = "tune.set_all"
INSPECT = "tune.inspect"
TILES = "tune.tiles"
CURVES = "tune.curves"
CURVE_DOWNLOADS = "tune.curve_downloads"
COVERAGE = "tune.coverage"
COVERAGE_DOWNLOADS = "tune.coverage_downloads"
METRICS = "tune.metrics"
METRICS_DOWNLOADS = "tune.metrics_downloads"
OPTIMISE = "tune.optimise"
CONFUSION = "tune.confusion"
CALIBRATION = "tune.calibration"
EXPORT = "tune.export"
IMPORT = "tune.import"
LINK = "tune.link"
SAVEDMODEL = "tune.savedmodel"
EXAMPLES = "tune.examples"

#: Always rerun when the thresholds change: each shows them or numbers computed from them.
#: (The thresholds.json download writes its file when clicked: its part reruns only while
#: its preview is open.)
FOLLOW_THRESHOLDS = (EDITOR, TILES, CURVES, METRICS, CONFUSION, LINK)


def tuning_for(card: ModelCard, evs: Any) -> Tuning:
    """The tuning session of ``evs`` (created with the starting thresholds on first use)."""
    ev = evs.evaluation
    ns = f"tune.{card.name}.{evs.sha256[:16]}.{ev.task}.{len(ev.labels)}"
    if ns not in st.session_state:
        st.session_state[ns] = {
            "thr": ts.initial_thresholds(
                evs, card_labels=card.labels, card_thresholds=card.thresholds
            ),
            "reject": ts.initial_reject_threshold(
                evs, card_labels=card.labels, card_reject=card.reject_threshold
            ),
            "ver": 0,
            "objective": "manual",
            "boot": None,
            "selection": None,
            "imported": None,
        }
    return Tuning(card=card, evs=evs, ns=ns, state=st.session_state[ns])


def focus_of(t: Tuning) -> int:
    """The inspected class (section 3's "Inspect class"; before it is drawn: the class with
    the most positives, its first option)."""
    value = st.session_state.get(f"{t.ns}.focus")
    if value is None:
        return int(np.argmax(t.ev.support))  # argmax keeps the first of equal supports
    return int(value)


def current_metrics(t: Tuning) -> Any:
    """Metrics at the current thresholds, computed once per threshold state and shared by
    the fragments of one rerun (tiles, table, confusion, export)."""
    key = (t.thr.tobytes(), t.state["reject"])
    memo = t.state.get("_metrics")
    if memo is None or memo[0] != key:
        memo = (key, t.ev.metrics_at(t.thr, reject_threshold=t.reject))
        t.state["_metrics"] = memo
    return memo[1]


def rerun_after_move(
    t: Tuning, previous_objective: str, *, reject: bool = False, also: Sequence[str] = ()
) -> None:
    """From a widget callback: rerun the fragments that follow the thresholds, and no others.

    ``reject``: the reject threshold moved (multi-class), so the coverage chart too. The
    optimiser's section reruns when it shows the threshold (the cost curve of the
    inspected class) or when the move ended an optimiser's selection (its "unreachable
    targets" panel and the bootstrap button follow ``objective``); the examples section
    when one of its views is open; the thresholds.json part when its preview is open.
    ``also`` adds fragments (e.g. the class picker, whose slider must be recreated after
    an edit).
    """
    keys = [*FOLLOW_THRESHOLDS, *also]
    if reject and t.multi_class:
        keys.append(COVERAGE)
    if previous_objective != "manual":  # intervals may have gone: the chart's caption
        keys.append(METRICS_DOWNLOADS)
    if previous_objective != "manual" or st.session_state.get(f"{t.ns}.kind") == "cost":
        keys.append(OPTIMISE)
    if st.session_state.get(f"{t.ns}.exview") is not None:
        keys.append(EXAMPLES)
    if st.session_state.get(f"{t.ns}.json_preview"):
        keys.append(EXPORT)
    st.rerun(list(dict.fromkeys(keys)))


def rerun_everything_but_calibration(t: Tuning) -> None:
    """From a widget callback that replaced the thresholds (edit, Apply to all, Reset, an
    import): every fragment that shows them, the class picker's slider and the optimiser."""
    rerun_after_move(t, "changed", reject=True, also=(INSPECT, OPTIMISE, EXAMPLES, IMPORT))


def mark_changed(state: dict[str, Any], *, objective: str = "manual") -> None:
    state["ver"] += 1
    state["objective"] = objective
    state["boot"] = None


def rerun_all_if_needed(t: Tuning) -> None:
    """After an optimiser/bootstrap click inside a nested fragment, redraw the whole page."""
    if t.state.pop("rerun_all", False):
        st.rerun(scope="app")


@st.cache_resource(max_entries=8, show_spinner="Ranking the scores per class (AP, ROC-AUC)…")
def ranking(key: str, _evaluation: Any) -> ts.RankingSummary:
    """AP and ROC-AUC per class and averaged (once per data set)."""
    return ts.ranking_summary(_evaluation)


def chart_block(spec: dict[str, Any], name: str, *, key: str, downloads: bool = True) -> None:
    """Draw a Vega-Lite dict with PNG/SVG download buttons (rendered only when clicked).

    ``downloads=False``: the chart alone; its buttons come from :func:`download_row` in a
    fragment that a threshold move does not rerun.
    """
    from pages._shared import show_chart

    show_chart(on_canvas(spec))
    if downloads:
        download_row(lambda: spec, name, key=key)


def section_title(text: str, *, level: str = "subheader") -> None:
    """A heading with a fixed anchor (``3 · Thresholds`` → ``#3-thresholds``).

    Without one, Streamlit's browser side derives the anchor from the heading's text
    (a slugify with a large transliteration table) after every redraw of the page, and a
    threshold move redraws the whole page 15-20 times: some 20 ms a move for this page's
    dozen headings. The anchor is the one the browser derived (ASCII letters and digits).
    """
    anchor = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    (st.title if level == "title" else st.subheader)(text, anchor=anchor)


def on_canvas(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` drawn by Vega's canvas renderer in the browser (Streamlit's default is SVG).

    A threshold move updates the data of up to five charts in place; with SVG, Vega
    rewrites the attributes of every mark's DOM node (some 3,900 attribute changes a move
    on goemotions, the 28-class 2x2 grid most of them), with canvas it repaints a bitmap:
    50 ms less main-thread time per move in Chromium (A/B, same run). Streamlit reads the
    renderer from ``usermeta.embedOptions``; the PNG/SVG buttons render on the server.
    """
    usermeta = dict(spec.get("usermeta") or {})
    usermeta["embedOptions"] = {**(usermeta.get("embedOptions") or {}), "renderer": "canvas"}
    return {**spec, "usermeta": usermeta}


def download_row(spec: Callable[[], dict[str, Any]], name: str, *, key: str) -> None:
    """PNG and SVG download buttons of a chart whose spec ``spec()`` builds when clicked.

    Given a builder that reads the thresholds from the session state when called, the
    buttons need no redraw when the thresholds move (nothing in them shows a threshold).
    """
    row = st.container(horizontal=True)
    for fmt, mime in (("png", "image/png"), ("svg", "image/svg+xml")):
        row.download_button(
            fmt.upper(),
            lambda fmt=fmt: charts.chart_image(spec(), fmt=fmt),
            file_name=f"{name}.{fmt}",
            mime=mime,
            icon=":material/download:",
            key=f"{key}.{fmt}",
            on_click="ignore",
        )


def operating_threshold(t: Tuning, focus: int) -> float:
    """The inspected class's effective threshold (multi-class: at least the reject threshold)."""
    return float(t.ev.effective_thresholds(t.thr, reject_threshold=t.reject)[focus])
