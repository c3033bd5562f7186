"""Section 10 · examples behind the numbers: rows by class and outcome, and label issues.

Nothing here is computed until the analyst opens one of the five views (a segmented
control with no default), and then only the open view reruns on a threshold move.
Filtering, sorting and paging happen in ``cls_core.evaluation.examples``; only one page of
rows is ever sent to the browser. Texts are shown by ``st.dataframe`` as plain text.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from cls_core.evaluation import tuning_session as ts
from cls_core.evaluation.examples import (
    SORTS,
    ExampleQuery,
    select_examples,
)
from cls_core.evaluation.label_issues import MAX_ROWS, find_label_issues
from cls_core.views.formatting import code_span, escape_markdown
from pages._thresholds.compare import another_split_view, compare_view
from pages._thresholds.session import Tuning
from pages._thresholds.slices import slices_view

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
        slices_view(t, focus, texts)
    elif view == "Compare":
        compare_view(t, texts)
    else:
        another_split_view(t)


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
