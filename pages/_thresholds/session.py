"""Tuning session state shared by the sections: thresholds, reject, objective, intervals.

Also the pieces every section draws with: the cached ranking summary, the chart block
(Vega-Lite dict + PNG/SVG downloads) and the inspected class's operating threshold.
"""

from __future__ import annotations

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


def chart_block(spec: dict[str, Any], name: str, *, key: str) -> None:
    """Draw a Vega-Lite dict with PNG/SVG download buttons (rendered only when clicked)."""
    from pages._shared import show_chart

    show_chart(spec)
    row = st.container(horizontal=True)
    for fmt, mime in (("png", "image/png"), ("svg", "image/svg+xml")):
        row.download_button(
            fmt.upper(),
            lambda fmt=fmt: charts.chart_image(spec, fmt=fmt),
            file_name=f"{name}.{fmt}",
            mime=mime,
            icon=":material/download:",
            key=f"{key}.{fmt}",
            on_click="ignore",
        )


def operating_threshold(t: Tuning, focus: int) -> float:
    """The inspected class's effective threshold (multi-class: at least the reject threshold)."""
    return float(t.ev.effective_thresholds(t.thr, reject_threshold=t.reject)[focus])
