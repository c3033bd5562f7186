"""cls_core.views.links and formatting.visible: what a shared link carried that cannot apply."""

from __future__ import annotations

import numpy as np
import pytest

from cls_core.views.formatting import visible
from cls_core.views.links import link_problems, winner_thresholds_from_params

LABELS = ("joy", "love")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"model": "m", "text": "hi", "t.m.joy": "0.3", "reject.m": "0.5"}, []),
        (
            {"text": "x" * 11},
            ["The text in the link has 11 characters; the text box keeps the first 10."],
        ),
        ({"reject.m": "5"}, ["`reject.m=5` is outside [0, 1], where thresholds live."]),
        ({"tg.m": "-0.1"}, ["`tg.m=-0.1` is outside [0, 1], where thresholds live."]),
        ({"t.m.joy": "nan"}, ["`t.m.joy=nan` is outside [0, 1], where thresholds live."]),
        (
            {"t.m.joy": "abc"},
            ["`t.m.joy=abc` is not a number; thresholds are numbers in [0, 1] such as 0.5."],
        ),
        # float() reads "0_5" as 5: it is a typo for 0.5, not a value outside [0, 1]
        (
            {"reject.m": "0_5"},
            ["`reject.m=0_5` is not a number; thresholds are numbers in [0, 1] such as 0.5."],
        ),
        (
            {"t.m.joy": "0_0"},
            ["`t.m.joy=0_0` is not a number; thresholds are numbers in [0, 1] such as 0.5."],
        ),
        ({"t.m.hate": "0.2"}, ["`t.m.hate` names no class of m; it was ignored."]),
        ({"t.other.joy": "7", "reject.other": "x"}, []),  # other models' parameters
        ({"reject.m": "1e309"}, ["`reject.m=1e309` is outside [0, 1], where thresholds live."]),
    ],
)
def test_link_problems(params: dict[str, str], expected: list[str]) -> None:
    assert link_problems(params, model="m", labels=LABELS, text_limit=10) == expected


def test_visible_shows_invisible_characters() -> None:
    assert visible("banking77\x00") == "banking77\\x00"
    assert visible("a\u200bb\u202e") == "a\\u200bb\\u202e"
    assert visible("héllo 👋") == "héllo 👋"


def test_winner_thresholds_from_params() -> None:
    params = {"t.m.love": "0.4", "t.m.joy": "nan", "t.m.x": "0.3", "t.other.joy": "0.9"}
    np.testing.assert_array_equal(
        winner_thresholds_from_params(params, model="m", labels=LABELS), [0.0, 0.4]
    )
    assert winner_thresholds_from_params({"model": "m"}, model="m", labels=LABELS) is None


def test_underscore_grouped_thresholds_are_not_applied() -> None:
    params = {"t.m.joy": "0_5", "t.m.love": "0.25"}
    np.testing.assert_array_equal(
        winner_thresholds_from_params(params, model="m", labels=LABELS), [0.0, 0.25]
    )


def test_link_limits_match_streamlit() -> None:
    from streamlit.runtime.state import query_params

    from cls_core.views.links import MAX_LINK_CHARS, MAX_LINK_PARAMETERS

    assert query_params.CLIENT_STATE_QUERY_STRING_MAX_FIELDS == MAX_LINK_PARAMETERS
    assert query_params.CLIENT_STATE_QUERY_STRING_MAX_LENGTH == MAX_LINK_CHARS


def test_dropped_link_message_names_the_limit() -> None:
    from cls_core.views.links import dropped_link_message

    assert dropped_link_message(1001, 9000) == (
        "The link you opened has 1,001 parameters; the app reads links with at most 1,000, "
        "so none of it was applied (model, text and thresholds are the defaults). Share a "
        "shorter link: fewer per-class thresholds, or a thresholds file instead."
    )
    assert "is 600,000 characters long; the app reads links of at most 524,288" in (
        dropped_link_message(3, 600_000)
    )
