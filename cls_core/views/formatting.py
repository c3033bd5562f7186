"""Plain-text helpers for showing untrusted strings (user text, label names, URL values).

Streamlit escapes HTML in Markdown, but Markdown itself (links, emphasis, code spans) still
applies. Anything a user typed or a file named is passed through :func:`escape_markdown`
before it is interpolated into Markdown, so it shows exactly as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["code_span", "escape_markdown", "join_labels", "shorten", "visible"]

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
