"""Plain-text helpers for showing untrusted strings (user text, label names, URL values).

Streamlit escapes HTML in Markdown, but Markdown itself (links, emphasis, code spans) still
applies. Anything a user typed or a file named is passed through :func:`escape_markdown`
before it is interpolated into Markdown, so it shows exactly as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "THRESHOLD_D3_FORMAT",
    "THRESHOLD_FORMAT",
    "code_span",
    "count_noun",
    "escape_markdown",
    "join_labels",
    "plain_code",
    "shorten",
    "threshold_text",
    "visible",
]

# One rule for showing a threshold everywhere (tables, editors, sliders, captions, chart
# tooltips): rounded (never truncated) to 4 decimals, so the same threshold reads the same
# in every place. Streamlit's number columns with a `step` truncate to the step's decimals
# (0.5139 shows as 0.513 there and 0.514 in a read-only table): threshold editors set none.
THRESHOLD_FORMAT = "%.4f"  # printf style: Streamlit number columns and sliders
THRESHOLD_D3_FORMAT = ".4f"  # d3 style: Vega-Lite tooltips and labels


def threshold_text(value: float) -> str:
    """A threshold as text, by the one rule (4 decimals, rounded): ``0.5139`` → ``"0.5139"``."""
    return f"{float(value):.4f}"


def count_noun(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun in the right number: ``1 class``, ``3 classes``, ``0 labels``.

    >>> count_noun(1, "class", "classes"), count_noun(2, "label")
    ('1 class', '2 labels')
    """
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"


def plain_code(text: str) -> str:
    """Our messages mark names as Markdown code (`x`); where they are shown as plain text
    (a table cell), show them in quotes instead of literal backticks.

    >>> plain_code("exactly one input, keyed `inputs`")
    'exactly one input, keyed “inputs”'
    """
    return re.sub(r"`([^`]*)`", r"“\1”", text)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=\"'&])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape_markdown(text: str) -> str:
    """Backslash-escape every Markdown/HTML-significant character and drop control characters.

    >>> escape_markdown("[x](javascript:alert(1))")
    '\\\\[x\\\\]\\\\(javascript\\\\:alert\\\\(1\\\\)\\\\)'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _CONTROL.sub("", text)).replace("\n", " ")


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def join_labels(labels: Sequence[str]) -> str:
    """``a, b and c`` (labels Markdown-escaped and in bold)."""
    parts = [f"**{escape_markdown(label)}**" for label in labels]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def code_span(text: str) -> str:
    """``text`` as a Markdown code span (shown literally; backticks and newlines removed).

    Backslash escapes do not work inside code spans, so this is the way to show an
    identifier such as ``serving_default`` verbatim.
    """
    return "`" + _CONTROL.sub("", text).replace("`", "'").replace("\n", " ") + "`"


def visible(text: str) -> str:
    """``text`` with control and invisible format characters shown as escapes (``\\x00``).

    For echoing a value back to the user: ``"banking77\\x00"`` must not look like
    ``"banking77"``.
    """
    import unicodedata

    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in ("Cc", "Cf")
        else ch
        for ch in text
    )
