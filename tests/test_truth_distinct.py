"""parse_truth's distinct-cell path (long string columns) equals the row-by-row pass exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cls_core.evaluation import evaldata
from cls_core.evaluation.evaldata import EvalDataError, TruthColumn, parse_truth

LABELS = ["joy", "anger", "fear", "7", "3"]
CELLS = st.one_of(
    st.sampled_from(LABELS),
    st.sampled_from(["joy;anger", "fear; joy", " 7 ", "3;7", "0", "4", "12", "", "  ", "nope"]),
    st.sampled_from(["joy;nope", "anger;;fear", "surprise"]),
    st.none(),
    st.text(alphabet="abc;7 ", max_size=6),
)


def _same(a: TruthColumn, b: TruthColumn) -> None:
    for f in dataclasses.fields(TruthColumn):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f.name)
            assert x.dtype == y.dtype, f.name
        else:
            assert x == y, (f.name, x, y)


@settings(max_examples=25, deadline=None)
@given(
    pool=st.lists(CELLS, min_size=1, max_size=12),
    seed=st.integers(0, 2**16),
    task=st.sampled_from([None, "multi-label", "multi-class"]),
    arrow=st.booleans(),
)
def test_distinct_path_equals_row_by_row(
    pool: list[str | None], seed: int, task: str | None, arrow: bool
) -> None:
    rng = np.random.default_rng(seed)
    cells = [pool[i] for i in rng.integers(0, len(pool), size=3000)]
    series = pd.Series(cells, dtype="str" if arrow else object)
    try:
        expected = evaldata._parse_rows(series, LABELS, task)  # type: ignore[arg-type]
    except EvalDataError as exc:
        with pytest.raises(EvalDataError, match="^" + __import__("re").escape(str(exc)) + "$"):
            parse_truth(series, LABELS, task=task)  # type: ignore[arg-type]
        return
    if any(isinstance(c, str) for c in cells):  # all-missing columns keep the row pass
        assert evaldata._parse_distinct(series, LABELS, task) is not None  # type: ignore[arg-type]
    _same(parse_truth(series, LABELS, task=task), expected)  # type: ignore[arg-type]


def test_distinct_path_leaves_mixed_and_unique_columns_to_the_row_pass() -> None:
    mixed = pd.Series(["joy", 1, 1.0, True] * 1000, dtype=object)  # 1 == 1.0 == True
    assert evaldata._parse_distinct(mixed, LABELS, None) is None
    unique = pd.Series([f"x{i}" for i in range(3000)], dtype=object)
    assert evaldata._parse_distinct(unique, LABELS, None) is None
    lists = pd.Series([["joy"], ["anger", "fear"]] * 1500, dtype=object)
    assert evaldata._parse_distinct(lists, LABELS, None) is None
