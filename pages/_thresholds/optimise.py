"""Section 6 · optimise: objective, Optimise button, cost curve, bootstrap intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from cls_core.evaluation import tuning_session as ts
from cls_core.evaluation.guarantees import guaranteed_thresholds
from cls_core.evaluation.multilabel_rules import (
    micro_f1_thresholds,
    pcut_thresholds,
    rcut_predictions,
)
from cls_core.evaluation.thresholds import bootstrap_intervals, cost_curve, parse_objective, tune
from cls_core.views import charts
from cls_core.views.formatting import count_noun, escape_markdown, threshold_text
from pages._thresholds.session import Tuning, chart_block, mark_changed, operating_threshold


def _optimise(state: dict[str, Any], evaluation: Any, objective: str, min_tp: int = 0) -> None:
    result = tune(evaluation, objective, min_tp=min_tp)
    state["min_tp"] = min_tp
    state["thr_before"] = np.asarray(state["thr"], dtype=np.float64).copy()
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
            min_tp=int(state.get("min_tp", 0)) if objective.per_class else 0,
        )
    state["rerun_all"] = True


def _use_guaranteed(state: dict[str, Any], thresholds: Any, objective: str) -> None:
    state["thr"] = np.asarray(thresholds, dtype=np.float64).copy()
    mark_changed(state, objective=objective)
    state["selection"] = None
    state["rerun_all"] = True


def _guarantee(t: Tuning, target: str, level: float) -> None:
    """Precision/recall targets met with a finite-sample guarantee (Learn-then-Test)."""
    ns = t.ns
    on = st.toggle(
        f"With confidence 1 − δ: promise {target} ≥ {level:g} on new data, not just on this data",
        key=f"{ns}.guar",
        help="Clopper–Pearson bounds with Learn-then-Test on a fixed grid of thresholds "
        "(0, 0.001, …, 1). Valid when these rows are a fair sample of the traffic the "
        "thresholds will serve, and were not used to train the model or choose anything else.",
    )
    if not on:
        return
    if not 0 < level < 1:
        st.error("The target must be between 0 and 1 (exclusive) for a guarantee.")
        return
    delta = st.select_slider(
        "δ (the chance the promise fails)", [0.01, 0.05, 0.1, 0.2], value=0.1, key=f"{ns}.delta"
    )
    rows = guaranteed_thresholds(t.ev, target=target, level=level, delta=float(delta))  # type: ignore[arg-type]
    frame = pd.DataFrame(
        {
            "class": [g.label for g in rows],
            "threshold": [g.threshold for g in rows],
            f"{target} (this data)": [g.point for g in rows],
            f"guaranteed {target} ≥": [g.bound for g in rows],
            "precision" if target == "recall" else "recall": [
                g.precision if target == "recall" else g.recall for g in rows
            ],
            "support": [g.support for g in rows],
        }
    )
    missing = [g for g in rows if g.threshold is None]
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(format="%.3f")
            for c in frame.columns
            if c not in ("class", "support")
        },
        key=f"{ns}.guar.table",
    )
    st.caption(
        f"With probability at least {1 - float(delta):.2f} over the draw of these rows, each "
        f"listed threshold's {target} on new data is at least its guaranteed value "
        f"(≥ {level:g}). The point estimate on this data is higher: that gap is the price "
        "of the promise."
    )
    if missing:
        best = ", ".join(
            f"{escape_markdown(g.label)} (best bound {g.best_bound:.3f})" for g in missing[:12]
        )
        st.warning(
            f"{count_noun(len(missing), 'class', 'classes')} cannot be promised {target} ≥ "
            f"{level:g} with this data: {best}{'…' if len(missing) > 12 else ''}. "
            "They keep their current thresholds below."
        )
    chosen = np.array(
        [t.thr[i] if g.threshold is None else g.threshold for i, g in enumerate(rows)],
        dtype=np.float64,
    )
    st.button(
        "Use the guaranteed thresholds",
        icon=":material/verified:",
        on_click=_use_guaranteed,
        args=(t.state, chosen, f"{target}>={level:g} (guaranteed, delta={float(delta):g})"),
        key=f"{ns}.guar.use",
    )


_MULTILABEL_RULES = {
    "micro-F1 (exact, classes coupled)": "micro-f1",
    "PCut (each class at its frequency)": "pcut",
    "RCut (top k labels per text)": "rcut",
}


def _multilabel_rule(t: Tuning, kind: str, column: Any) -> None:
    """Yang's PCut and RCut, and the exact micro-F1 optimum (multi-label only)."""
    state, ns, ev = t.state, t.ns, t.ev
    rule = _MULTILABEL_RULES[kind]
    if rule == "micro-f1":
        st.caption(
            "Per-class F1 thresholds maximise each class's F1 (and so macro-F1); micro-F1 "
            "counts every label decision together, so its best thresholds depend on each "
            "other. Dinkelbach's method finds the exact optimum over all per-class "
            "threshold combinations."
        )
        optimum = micro_f1_thresholds(ev)
        st.button(
            f"Optimise: micro-F1 (exact) → {optimum.micro_f1:.4f}",
            type="primary",
            icon=":material/tune:",
            on_click=_use_guaranteed,
            args=(state, optimum.thresholds, "micro-f1 (exact)"),
            key=f"{ns}.run.microf1",
        )
        return
    if rule == "pcut":
        st.caption(
            "PCut (Yang 2001): each class fires on its share of the texts. The share is "
            "its frequency in this data's truth (the training frequency in the original "
            "rule; a held-out split of the same data has nearly the same)."
        )
        st.button(
            "Optimise: PCut",
            type="primary",
            icon=":material/tune:",
            on_click=_use_guaranteed,
            args=(state, pcut_thresholds(ev), "pcut"),
            key=f"{ns}.run.pcut",
        )
        return
    mean_true = float(ev.truth.sum(axis=1).mean())
    k = int(
        column.number_input("k", 1, len(t.labels), max(1, round(mean_true)), 1, key=f"{ns}.rcut.k")
    )
    fired = rcut_predictions(ev, k)
    truth = ev.truth
    tp, fp, fn = ((fired & truth).sum(0), (fired & ~truth).sum(0), (~fired & truth).sum(0))
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)
    current = ev.metrics_at(t.thr)
    st.markdown(
        f"RCut with k = {k}: every text gets exactly {k} label{'s' if k > 1 else ''}. "
        f"Micro F1 **{micro:.4f}**, macro F1 **{f1.mean():.4f}** (current thresholds: "
        f"{current.micro.f1:.4f} and {current.macro.f1:.4f}; the texts have "
        f"{mean_true:.2f} true labels on average)."
    )
    st.caption(
        "A top-k rule is not a set of per-class thresholds, so it cannot be written to "
        "thresholds.json or baked into an exported model; it is here to compare against."
    )


def _apply_unreachable(state: dict[str, Any], key: str, classes: list[int]) -> None:
    edits = st.session_state[key].get("edited_rows", {})
    chosen = {
        i: edits.get(row, {}).get("what to do") or "best effort" for row, i in enumerate(classes)
    }
    state["thr"] = ts.apply_unreachable_choices(state["thr"], state.get("thr_before"), chosen)
    state["unreachable_done"] = state["ver"] + 1
    mark_changed(state, objective=state["objective"])
    state["rerun_all"] = True


def _unreachable(t: Tuning, selection: Any) -> None:
    """Targets that cannot be met are said, never silently exported: choose per class."""
    state, ns = t.state, t.ns
    bad = [(i, c) for i, c in enumerate(selection.choices) if not c.feasible and c.support > 0]
    if not bad or state.get("unreachable_done") == state["ver"]:
        return
    objective = selection.objective
    st.warning(
        f"{count_noun(len(bad), 'class', 'classes')} cannot reach {objective}. For each, "
        "choose: **best effort** (the threshold closest to the target, now applied), "
        "**keep previous** (the threshold before this run) or **switch off** (the class "
        "never fires; thresholds.json writes it as null under switched_off, and the "
        "Playground and exported models honour it)."
    )
    frame = pd.DataFrame(
        {
            "class": [c.label for _, c in bad],
            "precision (best effort)": [c.precision for _, c in bad],
            "recall (best effort)": [c.recall for _, c in bad],
            "support": [c.support for _, c in bad],
            "what to do": ["best effort"] * len(bad),
        }
    )
    key = f"{ns}.unreach.{state['ver']}"
    st.data_editor(
        frame,
        key=key,
        hide_index=True,
        width="stretch",
        disabled=["class", "precision (best effort)", "recall (best effort)", "support"],
        column_config={
            "precision (best effort)": st.column_config.NumberColumn(format="%.3f"),
            "recall (best effort)": st.column_config.NumberColumn(format="%.3f"),
            "what to do": st.column_config.SelectboxColumn(
                options=list(ts.UNREACHABLE_CHOICES), required=True
            ),
        },
    )
    st.button(
        "Apply these choices",
        icon=":material/done_all:",
        on_click=_apply_unreachable,
        args=(state, key, [i for i, _ in bad]),
        key=f"{ns}.unreach.apply",
    )


def optimise_section(t: Tuning, focus: int) -> None:
    """Section 6 (below its title): objective, Optimise, cost curve, bootstrap."""
    state, ns, ev = t.state, t.ns, t.ev
    kinds = ["F-beta", "precision ≥ p", "recall ≥ r", "cost"]
    kinds += ["coverage ≥ c", "accuracy ≥ a"] if t.multi_class else list(_MULTILABEL_RULES)
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox("Objective", kinds, key=f"{ns}.kind")
    if kind in _MULTILABEL_RULES:
        _multilabel_rule(t, kind, c2)
        return
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
    min_tp = 0
    if not kind.startswith(("coverage", "accuracy")):
        m1, m2 = st.columns([3, 1], vertical_alignment="bottom")
        if m1.toggle(
            "Minimum support: only thresholds with at least this many true positives",
            value=True,
            key=f"{ns}.minsup",
            help="So that a threshold resting on one or two examples is not chosen. Classes "
            "with fewer positives than this are optimised without it (and named).",
        ):
            min_tp = int(m2.number_input("true positives", 1, 1000, 5, 1, key=f"{ns}.mintp"))
    st.button(
        f"Optimise: {objective}" + (f" (≥ {min_tp} TP)" if min_tp else ""),
        type="primary",
        icon=":material/tune:",
        on_click=_optimise,
        args=(state, ev, objective, min_tp),
        key=f"{ns}.run",
    )
    selection = state["selection"]
    if selection is not None and state["objective"] != "manual":
        _unreachable(t, selection)
    if kind in ("precision ≥ p", "recall ≥ r"):
        _guarantee(t, "precision" if kind.startswith("precision") else "recall", params["target"])
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
            f"{cc.best_cost:.4f} at {threshold_text(min(cc.best_threshold, 1.0))}. For calibrated "
            f"probabilities the Bayes-optimal threshold is c_FP/(c_FP+c_FN) = "
            f"{threshold_text(cc.bayes_threshold)} (see section 7 for how calibrated these scores are)."
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
