"""Section 10 · examples behind the numbers: rows by class and outcome, label issues, slices.

Nothing here is computed until the analyst opens one of the three views (a segmented
control with no default), and then only the open view reruns on a threshold move.
Filtering, sorting and paging happen in ``cls_core.evaluation.examples``; only one page of
rows is ever sent to the browser. Texts are shown by ``st.dataframe`` as plain text.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from cls_core.errors import ModelLoadError
from cls_core.evaluation import tuning_session as ts
from cls_core.evaluation.compare import System, compare_systems
from cls_core.evaluation.demo_data import DEMO_MODELS
from cls_core.evaluation.examples import (
    SORTS,
    ExampleQuery,
    examples_frame,
    fired_labels,
    select_examples,
)
from cls_core.evaluation.label_issues import MAX_ROWS, find_label_issues
from cls_core.evaluation.metrics import build_evaluation
from cls_core.evaluation.score_cache import score_texts_cached
from cls_core.evaluation.slices import (
    LENGTH_EDGES,
    column_slices,
    length_slices,
    pattern_slices,
    slice_metrics,
    slice_thresholds,
)
from cls_core.evaluation.thresholds import read_thresholds_json
from cls_core.modelio.datasets import bundled_eval_splits
from cls_core.views import charts
from cls_core.views.formatting import code_span, escape_markdown
from pages._thresholds.session import Tuning, chart_block

VIEWS = ("Examples", "Suspected label errors", "Slices", "Compare", "Another split")
PAGE_SIZE = 25
_OUTCOME_NAMES = {
    "tp": "TP · fired, true",
    "fp": "FP · fired, not true",
    "fn": "FN · true, not fired",
    "tn": "TN · neither",
}


def examples_section(t: Tuning, focus: int) -> None:
    """Section 10 (below its title)."""
    texts = t.evs.texts
    view = st.segmented_control(
        "Open a view", VIEWS, key=f"{t.ns}.exview", label_visibility="collapsed"
    )
    if view is None:
        st.caption(
            "Open **Examples** to list the rows behind a number (filter by class and "
            "outcome, search, sort), **Suspected label errors** to rank rows whose label the "
            "model disputes, **Slices** to see whether the metrics hold for short texts, "
            "a keyword or a column of the file, **Compare** to set the current thresholds "
            "against the starting ones or a thresholds.json (or the model against another "
            "with the same labels), and **Another split** to measure the thresholds tuned "
            "here on other data. Nothing is computed until a view is open."
        )
        return
    if texts is None:
        st.info(
            "This data set has no texts (a scores file without a `text` column): rows are "
            "shown by number only, and slicing by text is not available."
        )
    if view == "Examples":
        _examples(t, focus, texts)
    elif view == "Suspected label errors":
        _label_issues(t, texts)
    elif view == "Slices":
        _slices(t, focus, texts)
    elif view == "Compare":
        _compare(t, texts)
    else:
        _another_split(t)


# --------------------------------------------------------------------------- examples


def _links(t: Tuning, frame: pd.DataFrame) -> pd.DataFrame:
    """Playground and Signature-inspector links per row (same model and thresholds)."""
    card, labels = t.card, t.labels
    if tuple(labels) != card.labels or not t.evs.texts:
        return frame
    base = ts.playground_query_params(
        card.name, labels, t.thr, task=t.ev.task, reject_threshold=t.reject
    )
    frame = frame.copy()
    frame["Playground"] = [
        "./?" + urllib.parse.urlencode({**base, "text": text}) for text in frame["text"]
    ]
    frame["Signature"] = [
        "./signature?" + urllib.parse.urlencode({"model": card.name, "text": text})
        for text in frame["text"]
    ]
    return frame


def _show_rows(t: Tuning, frame: pd.DataFrame, *, key: str, height: int = 460) -> None:
    shown = _links(t, frame)
    if not t.evs.texts:
        shown = shown.drop(columns=["text"], errors="ignore")
    config: dict[str, Any] = {
        "row": st.column_config.NumberColumn("row", help="0-based row of the kept data"),
        "text": st.column_config.TextColumn("text", width="large"),
        "score": st.column_config.NumberColumn(format="%.4f"),
        "threshold": st.column_config.NumberColumn(format="%.4f"),
        "score - threshold": st.column_config.NumberColumn(
            format="%+.4f", help="margin to the threshold (≥ 0: the class fires)"
        ),
        "score - best other": st.column_config.NumberColumn(
            format="%+.4f", help="lead over the best other class (> 0: it wins the arg-max)"
        ),
        "Playground": st.column_config.LinkColumn(display_text="open"),
        "Signature": st.column_config.LinkColumn(display_text="open"),
    }
    st.dataframe(
        shown, hide_index=True, width="stretch", height=height, column_config=config, key=key
    )


def _examples(t: Tuning, focus: int, texts: Any) -> None:
    ns, labels = t.ns, t.labels
    c1, c2, c3 = st.columns([2, 3, 2])
    class_index = c1.selectbox(
        "Class",
        range(len(labels)),
        index=focus,
        format_func=lambda i: labels[i],
        key=f"{ns}.ex.class",
    )
    cell: tuple[int, int] | None = None
    chosen: list[str] = []
    if t.multi_class and c2.toggle("Pick a confusion-matrix cell", key=f"{ns}.ex.usecell"):
        a, b = c2.columns(2)
        truth_id = a.selectbox(
            "True", range(len(labels)), index=class_index, format_func=lambda i: labels[i],
            key=f"{ns}.ex.celltrue",
        )  # fmt: skip
        answer_id = b.selectbox(
            "Answered",
            [*range(len(labels)), -1],
            format_func=lambda i: "(abstain)" if i < 0 else labels[i],
            key=f"{ns}.ex.cellans",
        )
        cell = (int(truth_id), int(answer_id))
    else:
        chosen = c2.multiselect(
            "Outcome for the class",
            list(_OUTCOME_NAMES),
            default=["fp"],
            format_func=_OUTCOME_NAMES.__getitem__,
            key=f"{ns}.ex.outcomes",
        )
    sort = c3.selectbox("Sort by", list(SORTS), format_func=SORTS.__getitem__, key=f"{ns}.ex.sort")
    only_issues = st.toggle(
        "Only suspected label errors (cleanlab; the scores must be out-of-sample)",
        key=f"{ns}.ex.issues",
        disabled=t.ev.n_examples > MAX_ROWS,
    )
    issues = None
    if only_issues:
        try:
            issues = _issues(t.ns, t.ev)
        except ValueError as exc:
            st.error(escape_markdown(str(exc)))
    search = st.text_input(
        "Search the texts",
        key=f"{ns}.ex.search",
        max_chars=200,
        disabled=texts is None,
        placeholder="a word or phrase (case-insensitive)",
    )
    query = ExampleQuery(
        class_index=int(class_index),
        outcomes=tuple(chosen),  # type: ignore[arg-type]
        cell=cell,
        search=search or "",
        rows=None if issues is None else issues.rows,
        sort=sort,
    )
    page_key = f"{ns}.ex.page"
    signature = (query.class_index, query.outcomes, cell, query.search, sort, only_issues)
    if st.session_state.get(f"{page_key}.sig") != signature:
        st.session_state[f"{page_key}.sig"] = signature
        st.session_state[page_key] = 1
    page_no = int(st.session_state.get(page_key, 1))
    result = select_examples(
        t.ev,
        query,
        texts=texts,
        thresholds=t.thr,
        reject_threshold=t.reject,
        page=page_no - 1,
        page_size=PAGE_SIZE,
    )
    counts = " · ".join(f"{k.upper()} {v:,}" for k, v in result.counts.items())
    st.caption(
        f"{code_span(labels[class_index])} at threshold "
        f"{_threshold_text(t, int(class_index))}: {counts}. "
        f"**{result.n_matching:,} matching rows**"
        + (f", page {result.page + 1} of {result.n_pages}." if result.n_matching else ".")
    )
    if result.n_matching == 0:
        st.info("No row matches: change the outcome, the class or the search.")
        return
    frame = result.frame
    if issues is not None:  # the reason each row is suspected, next to its text
        reason = dict(zip(issues.rows.tolist(), issues.reasons, strict=True))
        frame = frame.assign(**{"label issue": [reason.get(int(r), "") for r in frame["row"]]})
    _show_rows(t, frame, key=f"{ns}.ex.table")
    if result.n_pages > 1:
        st.number_input(
            f"Page (of {result.n_pages})",
            min_value=1,
            max_value=result.n_pages,
            step=1,
            key=page_key,
        )


def _threshold_text(t: Tuning, c: int) -> str:
    value = float(t.ev.effective_thresholds(t.thr, reject_threshold=t.reject)[c])
    return "none (arg-max)" if not np.isfinite(value) else f"{value:.4f}"


# --------------------------------------------------------------------------- label issues


@st.cache_resource(max_entries=8, show_spinner="Looking for suspected label errors (cleanlab)…")
def _issues(key: str, _evaluation: Any) -> Any:
    return find_label_issues(_evaluation)


def _label_issues(t: Tuning, texts: Any) -> None:
    st.caption(
        "Rows whose given label the model disputes confidently, found with cleanlab's "
        "confident learning and ranked most suspicious first. **The scores must be "
        "out-of-sample** (from a model that did not train on these rows: a held-out split or "
        "cross-validation); on training rows the model has learnt the given labels and "
        "almost nothing is flagged. The bundled dev and test splits are held out."
    )
    if t.ev.n_examples > MAX_ROWS:
        st.warning(
            f"Label-issue search runs on at most {MAX_ROWS:,} rows; this set has "
            f"{t.ev.n_examples:,}."
        )
        return
    try:
        issues = _issues(t.ns, t.ev)
    except ValueError as exc:
        st.error(escape_markdown(str(exc)))
        return
    total = len(issues.rows)
    st.markdown(
        f"**{total:,} suspected label errors** in {issues.n_examples:,} rows "
        f"({100 * total / max(issues.n_examples, 1):.1f} %)."
    )
    if total == 0:
        return
    per_class = pd.DataFrame(
        {"class": list(issues.per_class), "flagged": list(issues.per_class.values())}
    ).sort_values("flagged", ascending=False, kind="stable")
    left, right = st.columns([1, 3])
    with left:
        st.dataframe(per_class, hide_index=True, height=300, key=f"{t.ns}.li.per")
    with right:
        frame = issues.to_frame(texts)
        search = st.text_input("Search the flagged texts", key=f"{t.ns}.li.search", max_chars=200)
        shown = frame
        if search and texts is not None:
            shown = frame[frame["text"].str.contains(search, case=False, regex=False)]
        st.caption(f"{len(shown):,} rows; the first 200 are shown, the download has all.")
        _show_rows(t, shown.head(200), key=f"{t.ns}.li.table", height=300)
    st.download_button(
        "Download the suspected label errors (CSV)",
        frame.to_csv(index=False).encode("utf-8"),
        file_name="label_issues.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"{t.ns}.li.csv",
        on_click="ignore",
    )


# --------------------------------------------------------------------------- slices


def _slicing(t: Tuning, texts: Any) -> Any:
    ns = t.ns
    kinds = ["Text length", "Keyword", "Regular expression", "A column of the file"]
    if texts is None:
        kinds = kinds[3:]
    columns = t.evs.columns
    if columns is None or columns.shape[1] == 0:
        kinds = [k for k in kinds if k != "A column of the file"]
    if not kinds:
        st.info("Slicing needs texts or extra columns; this data set has neither.")
        return None
    kind = st.radio("Slice by", kinds, horizontal=True, key=f"{ns}.sl.kind")
    try:
        if kind == "Text length":
            edges = ", ".join(str(e) for e in LENGTH_EDGES)
            st.caption(f"Word-count bins with edges {edges}.")
            return _lengths(ns, t.evs.sha256, texts)
        if kind in ("Keyword", "Regular expression"):
            pattern = st.text_input(
                "Keyword" if kind == "Keyword" else "Regular expression (case-insensitive)",
                key=f"{ns}.sl.pattern.{kind}",
                max_chars=200,
                placeholder="refund" if kind == "Keyword" else r"\b(card|cards)\b",
                help=None
                if kind == "Keyword"
                else (
                    "RE2 syntax (Python's `re` without lookaround and backreferences), "
                    "matched in time linear in each text, so no pattern can hang the page."
                ),
            )
            if not pattern:
                st.caption("Type a pattern to compare the rows that match with the rest.")
                return None
            return _pattern(
                ns, t.evs.sha256, pattern, "keyword" if kind == "Keyword" else "regex", texts
            )
        assert columns is not None
        name = st.selectbox("Column", list(columns.columns), key=f"{ns}.sl.column")
        return column_slices(columns[name], name=str(name))
    except ValueError as exc:
        st.error(escape_markdown(str(exc)), icon=":material/error:")
        return None


@st.cache_resource(max_entries=8, show_spinner="Counting words…")
def _lengths(ns: str, sha: str, _texts: Any) -> Any:
    """Word-count bins once per data set (not on every threshold move)."""
    return length_slices(_texts)


@st.cache_resource(max_entries=16, show_spinner="Matching the pattern…")
def _pattern(ns: str, sha: str, pattern: str, kind: str, _texts: Any) -> Any:
    return pattern_slices(_texts, pattern, kind=kind)  # type: ignore[arg-type]


def _slices(t: Tuning, focus: int, texts: Any) -> None:
    slicing = _slicing(t, texts)
    if slicing is None:
        return
    labels = t.labels
    c1, c2 = st.columns([2, 1])
    scope = c1.selectbox(
        "Metrics for",
        [-1, *range(len(labels))],
        format_func=lambda i: "all classes (micro-averaged)" if i < 0 else labels[i],
        key=f"{t.ns}.sl.class",
    )
    boot = c2.selectbox("Bootstrap resamples", [200, 500, 1000], key=f"{t.ns}.sl.boot")
    class_index = None if scope < 0 else int(scope)
    table = slice_metrics(
        t.ev,
        slicing,
        thresholds=t.thr,
        reject_threshold=t.reject,
        class_index=class_index,
        bootstrap=int(boot),
    )
    st.caption(
        f"{escape_markdown(slicing.name)} · at the current thresholds · 95 % percentile "
        "bootstrap intervals (rows resampled within each slice)"
        + (
            " · multi-class: precision = correct ÷ answered, recall = correct ÷ rows"
            if t.multi_class and class_index is None
            else ""
        )
    )
    chart_block(charts.slice_metrics_spec(table), "slices", key=f"{t.ns}.sl.chart")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(format="%.3f")
            for c in table.columns
            if c not in ("slice", "support")
        },
        key=f"{t.ns}.sl.table",
    )
    small = table[(table["support"] < 30) & (table["slice"] != "overall")]
    if len(small):
        st.caption(
            f"{len(small)} slice(s) have fewer than 30 rows: their intervals are wide; "
            "read them as a hint, not a finding."
        )
    if st.toggle("Each slice's own F1-optimal thresholds", key=f"{t.ns}.sl.own"):
        own = slice_thresholds(t.ev, slicing)
        st.dataframe(
            own,
            hide_index=True,
            width="stretch",
            column_config={
                c: st.column_config.NumberColumn(format="%.3f") for c in own.columns if c != "class"
            },
            key=f"{t.ns}.sl.own.table",
        )
        st.caption(
            "“global” is the F1-optimal threshold on all rows; each slice column is the "
            "one chosen on that slice alone (empty: the slice has no positive of the class; "
            "slices under 20 rows are left out)."
        )


# --------------------------------------------------------------------------- compare


def _same_label_models(t: Tuning) -> list[Any]:
    from cls_core.modelio.registry import list_models

    return [
        c
        for c in list_models().cards
        if c.name != t.card.name and tuple(c.labels) == tuple(t.labels) and c.task == t.ev.task
    ]


def _compare(t: Tuning, texts: Any) -> None:
    ns, card = t.ns, t.card
    options = ["The thresholds this page started with", "An imported thresholds.json"]
    others = _same_label_models(t) if t.evs.texts and t.evs.source != "scores" else []
    if others:
        options.append("Another model with the same labels")
    choice = st.radio("Compare the current thresholds (B) with (A)", options, key=f"{ns}.cmp.kind")
    a: System | None = None
    if choice == options[0]:
        start = ts.initial_thresholds(
            t.evs, card_labels=card.labels, card_thresholds=card.thresholds
        )
        start_reject = (
            ts.initial_reject_threshold(
                t.evs, card_labels=card.labels, card_reject=card.reject_threshold
            )
            if t.multi_class
            else None
        )
        a = System(name="start", evaluation=t.ev, thresholds=start, reject_threshold=start_reject)
    elif choice == options[1]:
        upload = st.file_uploader("thresholds.json for A", type=["json"], key=f"{ns}.cmp.file")
        if upload is None:
            st.caption("Upload a thresholds.json with this data set's labels.")
            return
        try:
            document = read_thresholds_json(upload.getvalue(), labels=t.labels, task=t.ev.task)
            thr, file_reject = ts.imported_thresholds(document, t.labels)
        except ValueError as exc:
            st.error(escape_markdown(str(exc)), icon=":material/error:")
            return
        a = System(name="file", evaluation=t.ev, thresholds=thr, reject_threshold=file_reject)
    else:
        other = st.selectbox("Model A", others, format_func=lambda c: c.name, key=f"{ns}.cmp.model")
        other_set = _rescored(t, other)
        if other_set is None:
            return
        a = System(
            name=other.name,
            evaluation=other_set.evaluation,
            thresholds=ts.initial_thresholds(
                other_set, card_labels=other.labels, card_thresholds=other.thresholds
            ),
            reject_threshold=ts.initial_reject_threshold(
                other_set, card_labels=other.labels, card_reject=other.reject_threshold
            )
            if t.multi_class
            else None,
        )
        st.caption(
            f"A: {code_span(other.name)} at its card's thresholds; B: {code_span(card.name)} "
            "at the current thresholds; the same texts and truth."
        )
    b = System(name="current", evaluation=t.ev, thresholds=t.thr, reject_threshold=t.reject)
    try:
        result = compare_systems(a, b, bootstrap=500)
    except ValueError as exc:
        st.error(escape_markdown(str(exc)), icon=":material/error:")
        return
    micro = result.table.iloc[-1]
    st.markdown(
        f"**{len(result.changed_rows):,} rows change decision**: {result.improved:,} become "
        f"right, {result.worsened:,} become wrong. Micro F1 {micro[f'f1 {a.name}']:.3f} → "
        f"{micro['f1 current']:.3f} (Δ {micro['Δ f1']:+.3f}, 95 % paired bootstrap "
        f"[{micro['Δ f1 low']:+.3f}, {micro['Δ f1 high']:+.3f}])."
    )
    st.dataframe(
        result.table,
        hide_index=True,
        width="stretch",
        height=360,
        column_config={
            c: st.column_config.NumberColumn(format="%+.3f" if c.startswith("Δ") else "%.3f")
            for c in result.table.columns
            if c not in ("class", "support")
        },
        key=f"{ns}.cmp.table",
    )
    st.caption(
        "Δ = B − A. Intervals: 500 paired bootstrap resamples (both systems measured on the "
        "same resampled rows), so an interval that excludes 0 is a difference the data "
        "supports."
    )
    if len(result.changed_rows):
        shown = result.changed_rows[:200]
        fired_a = fired_labels(
            a.evaluation, shown, thresholds=a.thresholds, reject_threshold=a.reject_threshold
        )
        fired_b = fired_labels(t.ev, shown, thresholds=t.thr, reject_threshold=t.reject)
        frame = pd.DataFrame(
            {
                "row": shown,
                "text": [texts[int(i)] for i in shown] if texts is not None else "",
                "true": examples_frame(t.ev, shown, 0, thresholds=t.thr, reject_threshold=t.reject)[
                    "true"
                ],
                f"{a.name}": ["; ".join(x) for x in fired_a],
                "current": ["; ".join(x) for x in fired_b],
            }
        )
        st.caption(f"The rows that changed decision (first {len(shown):,}):")
        st.dataframe(frame, hide_index=True, width="stretch", height=300, key=f"{ns}.cmp.rows")


def _rescored(t: Tuning, other: Any) -> Any:
    """The same texts and truth, scored by another model (cached on disk like any scoring)."""
    from pages._shared import loaded_model
    from pages._thresholds.loaders import model_stamp

    try:
        model = loaded_model(other)
    except ModelLoadError as exc:
        st.error(f"Model {code_span(other.name)} cannot be used: {escape_markdown(str(exc))}")
        return None
    with st.spinner(f"Scoring {t.ev.n_examples:,} texts with {other.name}…"):
        scored = score_texts_cached(
            list(t.evs.texts),
            model.predict,
            model=other.name,
            stamp=model_stamp(other),
            labels=other.labels,
            variant="compare",
        )
    truth: Any = t.ev.truth_ids if t.multi_class else t.ev.truth
    evaluation = build_evaluation(scored.scores, truth, labels=t.labels, task=t.ev.task)
    return replace(t.evs, evaluation=evaluation, model=other.name, logits=scored.logits)


# --------------------------------------------------------------------------- another split


def _another_split(t: Tuning) -> None:
    from pages._thresholds import data as data_section

    card = t.card
    sources = []
    if card.name in DEMO_MODELS:
        sources = [f"bundled:{s}" for s in bundled_eval_splits(card.name)] + ["demo"]
    sources = [s for s in sources if not _is_current(t, s)]
    if not sources:
        st.info(
            "Measuring on another split needs a second data set of this model: the bundled "
            "dev/test splits and the demo set exist for the bundled models."
        )
        return
    source = st.radio(
        "Measure the current thresholds on",
        sources,
        format_func=lambda s: (
            data_section.SOURCE_NAMES.get(s) or f"Bundled {s.split(':')[1]} split"
        ),
        horizontal=True,
        key=f"{t.ns}.other.source",
    )
    memo = st.session_state.get("_tune_scored")
    try:
        other = data_section.bundled_eval_set(card, source, drop_unknown=True)
    finally:  # keep the main data set's scoring memo: threshold moves must stay cheap
        if memo is not None:
            st.session_state["_tune_scored"] = memo
    if tuple(other.labels) != tuple(t.labels) or other.task != t.ev.task:
        st.error("That data set has other labels or another task.")
        return
    here = t.ev.metrics_at(t.thr, reject_threshold=t.reject)
    there = other.evaluation.metrics_at(t.thr, reject_threshold=t.reject)
    rows = [("micro", here.micro, there.micro), ("macro", here.macro, there.macro)]
    table = pd.DataFrame(
        {
            "class": [*t.labels, *(r[0] for r in rows)],
            "support here": [
                *here.support.tolist(),
                int(here.support.sum()),
                int(here.support.sum()),
            ],
            "support there": [
                *there.support.tolist(),
                int(there.support.sum()),
                int(there.support.sum()),
            ],
            "precision here": [*here.precision, *(r[1].precision for r in rows)],
            "precision there": [*there.precision, *(r[2].precision for r in rows)],
            "recall here": [*here.recall, *(r[1].recall for r in rows)],
            "recall there": [*there.recall, *(r[2].recall for r in rows)],
            "f1 here": [*here.f1, *(r[1].f1 for r in rows)],
            "f1 there": [*there.f1, *(r[2].f1 for r in rows)],
        }
    )
    table["Δ f1 (there − here)"] = table["f1 there"] - table["f1 here"]
    st.markdown(
        f"Tuned on **{escape_markdown(t.evs.name)}**, measured on **{escape_markdown(other.name)}**: "
        f"micro F1 {here.micro.f1:.3f} here, {there.micro.f1:.3f} there; macro F1 "
        f"{here.macro.f1:.3f} here, {there.macro.f1:.3f} there."
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=360,
        column_config={
            c: st.column_config.NumberColumn(format="%.3f")
            for c in table.columns
            if c != "class" and not c.startswith("support")
        },
        key=f"{t.ns}.other.table",
    )
    st.caption(
        "The thresholds chosen on this page's data, applied unchanged to the other set: "
        "the honest estimate of what they will do on data they were not tuned on. "
        "Same as `cls-explorer tune … --eval-on OTHER`."
    )


def _is_current(t: Tuning, source: str) -> bool:
    if source == "demo":
        return bool(t.evs.source == "demo")
    split = source.split(":")[-1]
    return bool(t.evs.source == "bundled" and t.evs.name.endswith(f" {split} split"))
