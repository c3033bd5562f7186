"""Section 10 · Slices: do the metrics hold for short texts, a keyword, a column of the file?

Slices are length bins (a preset), a keyword or a regular expression (run under RE2, so a
pattern never backtracks; see ``cls_core.evaluation.slices``), or an extra column of an
uploaded file. Each slice gets support, precision, recall and F1 at the current thresholds
with bootstrap intervals, a chart against the overall value, and its own optimal thresholds.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from cls_core.evaluation.slices import (
    LENGTH_EDGES,
    column_slices,
    length_slices,
    pattern_slices,
    slice_metrics,
    slice_thresholds,
)
from cls_core.views import charts
from cls_core.views.formatting import escape_markdown
from pages._thresholds.session import Tuning, chart_block


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


def slices_view(t: Tuning, focus: int, texts: Any) -> None:
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
