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
        ({"t.m.joy": "abc"}, ["`t.m.joy=abc` is not a number; thresholds are numbers in [0, 1]."]),
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
