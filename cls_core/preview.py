"""Short previews of user data for messages: never echo a whole cell, label or value.

A message that quotes what the user sent (a bad score cell, a truth label, a column name)
must stay short whatever the user sent: a 64 MB cell quoted whole made a 268 MB error line
on the command line and a message the browser could not render. :func:`preview` is the one
place that decides how much of a value a message shows.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["PREVIEW_CHARS", "preview", "preview_list"]

PREVIEW_CHARS = 40


def preview(value: object, *, limit: int = PREVIEW_CHARS, quote: bool = True) -> str:
    """``repr(value)``, cut to about ``limit`` characters, with the full length when cut.

    Strings are measured in characters before quoting, other values by their ``repr``.

    Parameters
    ----------
    value : object
        What the user sent (a cell, a label, a column name, a JSON value).
    limit : int, default 40
        Characters of the value kept before the cut.
    quote : bool, default True
        Strings in ``repr`` quotes; False shows them bare (inside a message's own brackets).

    Returns
    -------
    str
        ``'abc'`` for short values; ``'xxxx…' (1,000,000 characters)`` for long ones.

    Examples
    --------
    >>> preview("joy")
    "'joy'"
    >>> preview("x" * 100, limit=5)
    "'xxxxx…' (100 characters)"
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value) if quote else value
        cut = value[:limit] + "…"
        return f"{repr(cut) if quote else cut} ({len(value):,} characters)"
    if isinstance(value, bytes | bytearray):
        if len(value) <= limit:
            return repr(bytes(value))
        return f"{bytes(value[:limit])!r}… ({len(value):,} bytes)"
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not break the message
        return f"<{type(value).__name__}>"
    if len(text) <= limit + 2:
        return text
    return f"{text[:limit]}… ({type(value).__name__}, {len(text):,} characters)"


def preview_list(values: Iterable[object], *, limit: int = PREVIEW_CHARS, items: int = 20) -> str:
    """``a, b, c`` previews of the first ``items`` values, ``… (N in all)`` when cut.

    Parameters
    ----------
    values : iterable
        Names or values to list.
    limit : int, default 40
        Characters kept of each value (see :func:`preview`).
    items : int, default 20
        How many values are listed.
    """
    seq = list(values)
    shown = ", ".join(preview(v, limit=limit) for v in seq[:items])
    return shown if len(seq) <= items else f"{shown}, … ({len(seq):,} in all)"
