"""Read back the Playground's decision trace, drawn as a fixed-width text table."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

_RULE = re.compile(r"─+")


def parse_trace(body: str) -> pd.DataFrame:
    """The table :func:`cls_core.views.score_view.trace_text` wrote.

    Columns are cut where the rule line's dashes are; a name over two header lines is
    joined again (``score −`` + ``runner-up`` → ``score − runner-up``). Numbers come back
    as floats (``—`` as NaN), ``yes``/``no`` as bools, the rest as text.
    """
    lines = body.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("─"))
    spans = [m.span() for m in _RULE.finditer(lines[at])]

    def cells(line: str) -> list[str]:
        return [line[a:b].strip() for a, b in spans]

    heads = [cells(line) for line in lines[:at]]
    names = [" ".join(part for part in parts if part) for parts in zip(*heads, strict=True)]
    frame = pd.DataFrame([cells(line) for line in lines[at + 1 :]], columns=names)
    for name in names:
        values = frame[name].tolist()
        if set(values) <= {"yes", "no"}:
            frame[name] = [value == "yes" for value in values]
            continue
        try:
            frame[name] = [float("nan") if v == "—" else float(v) for v in values]
        except ValueError:
            continue  # a text column
    return frame


def trace_of(at: Any) -> pd.DataFrame:
    """The decision trace on an AppTest page (the code block holding a ``label`` column)."""
    body = next(c.value for c in at.code if c.language != "json" and "label" in c.value[:200])
    return parse_trace(body)
