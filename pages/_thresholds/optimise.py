"""Section 6 · optimise: objective, Optimise button, cost curve, bootstrap intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from cls_core.evaluation import tuning_session as ts
from cls_core.evaluation.thresholds import bootstrap_intervals, cost_curve, parse_objective, tune
from cls_core.views import charts
from cls_core.views.formatting import escape_markdown
from pages._thresholds.session import Tuning, chart_block, mark_changed, operating_threshold


def _optimise(state: dict[str, Any], evaluation: Any, objective: str) -> None:
    result = tune(evaluation, objective)
    if result.selection is not None:
        state["thr"] = np.asarray(result.selection.thresholds, dtype=np.float64).copy()
    if result.reject is not None:
        state["reject"] = float(result.reject.threshold)
        state["reject_widget_reset"] = True
    mark_changed(state, objective=objective)
    state["selection"] = result.selection
    state["rerun_all"] = True  # the thresholds changed: every section must redraw


def _parsed(objective: str) -> Any:
    """The Objective for a text, or None ("manual", or an imported file's unknown objective)."""
    try:
        return parse_objective(objective)
    except ValueError:
        return None


def _bootstrap(state: dict[str, Any], evaluation: Any, n_resamples: int, seed: int) -> None:
    objective = _parsed(state["objective"])
    if objective is None:
        return
    with st.spinner(f"Bootstrapping {objective} ({n_resamples} resamples)…"):
        state["boot"] = bootstrap_intervals(
            evaluation,
            objective,
            thresholds=state["thr"] if objective.per_class else None,
            reject_threshold=state["reject"] if evaluation.task == "multi-class" else None,
            n_resamples=n_resamples,
            seed=seed,
        )
    state["rerun_all"] = True


def optimise_section(t: Tuning, focus: int) -> None:
    """Section 6 (below its title): objective, Optimise, cost curve, bootstrap."""
    state, ns, ev = t.state, t.ns, t.ev
    kinds = ["F-beta", "precision ≥ p", "recall ≥ r", "cost"]
    kinds += ["coverage ≥ c", "accuracy ≥ a"] if t.multi_class else []
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox("Objective", kinds, key=f"{ns}.kind")
    params: dict[str, Any] = {"kind": kind}
    if kind == "F-beta":
        params["beta"] = c2.number_input(
            "β (β > 1 favours recall)", 0.1, 10.0, 1.0, 0.1, key=f"{ns}.beta"
        )
    elif kind == "cost":
        params["cost_fp"] = c2.number_input(
            "Cost of a false positive", 0.0, 1e6, 1.0, key=f"{ns}.cfp"
        )
        params["cost_fn"] = c3.number_input(
            "Cost of a false negative", 0.0, 1e6, 5.0, key=f"{ns}.cfn"
        )
    else:
        params["target"] = c2.number_input("Target", 0.0, 1.0, 0.9, 0.01, key=f"{ns}.target")
    try:
        objective = ts.objective_text(params)
        parse_objective(objective)
    except ValueError as exc:
        st.error(escape_markdown(str(exc)))
        return
    st.button(
        f"Optimise: {objective}",
        type="primary",
        icon=":material/tune:",
        on_click=_optimise,
        args=(state, ev, objective),
        key=f"{ns}.run",
    )
    selection = state["selection"]
    if selection is not None and state["objective"] != "manual":
        bad = [c.label for c in selection.choices if not c.feasible]
        if bad:
            st.warning(
                f"{len(bad)} classes cannot reach the target; they got their best reachable "
                f"value: {escape_markdown(', '.join(bad[:15]))}{'…' if len(bad) > 15 else ''}"
            )
    if kind == "cost":
        label = t.labels[focus]
        cc = cost_curve(
            ev.sweep.curves[focus], cost_fp=params["cost_fp"], cost_fn=params["cost_fn"]
        )
        chart_block(
            charts.cost_curve_spec(cc, threshold=operating_threshold(t, focus)),
            f"cost-{label}",
            key=f"{ns}.cost",
        )
        st.caption(
            f"Expected cost per example for {escape_markdown(label)}: minimum "
            f"{cc.best_cost:.4f} at {min(cc.best_threshold, 1.0):.3f}. For calibrated "
            f"probabilities the Bayes-optimal threshold is c_FP/(c_FP+c_FN) = "
            f"{cc.bayes_threshold:.3f} (see section 7 for how calibrated these scores are)."
        )
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    n_boot = c1.number_input("Resamples", 200, 2000, 200, 100, key=f"{ns}.nboot")
    seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key=f"{ns}.seed")
    c3.button(
        "Bootstrap intervals",
        icon=":material/stacked_line_chart:",
        disabled=_parsed(state["objective"]) is None,
        help="Re-runs the last optimiser on resampled rows: intervals for each chosen "
        "threshold and its metrics. Needs an optimiser run first.",
        key=f"{ns}.boot",
        on_click=_bootstrap,
        args=(state, ev, int(n_boot), int(seed)),
    )
