"""Short texts for messages: capped lists of ids and one-line length limits.

Every message that lists ids, columns or values goes through :func:`capped`, so an error about a
table with 64,102 columns is one short line ("A1BG, A1CF, A2M, A2ML1 … and 64,098 more"), never a
megabyte.
"""

from __future__ import annotations

from collections.abc import Iterable

#: items shown before "… and N more"
DEFAULT_SHOWN = 4
#: a message longer than this is cut (a last safety net; lists are capped long before)
MAX_MESSAGE_CHARS = 600
_ITEM_CHARS = 60


def _short(text: str) -> str:
    return text if len(text) <= _ITEM_CHARS else text[: _ITEM_CHARS - 1] + "…"


def capped(items: Iterable[object], shown: int = DEFAULT_SHOWN, quote: bool = False,
           total: int | None = None) -> str:
    """``"a, b, c, d … and 64,098 more"``: at most ``shown`` items, each at most 60 characters.

    Parameters
    ----------
    items
        Ids, column names or values (anything with ``str``); only the first ``shown`` are read
        when ``total`` is given, so a generator over millions of ids is cheap.
    shown
        How many items to print.
    quote
        Print items as ``repr`` of their text (``'TP53'``), as in "did you mean" messages.
    total
        Number of items when ``items`` is a lazy iterator (default: counted).

    Returns
    -------
    str
        ``"(none)"`` for no items.
    """
    head: list[str] = []
    count = 0
    for item in items:
        if count < shown:
            text = _short(str(item))
            head.append(repr(text) if quote else text)
        count += 1
        if total is not None and count >= shown:
            break
    n = total if total is not None else count
    if n == 0:
        return "(none)"
    rest = n - len(head)
    return ", ".join(head) + (f" … and {rest:,} more" if rest > 0 else "")


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Whitespace collapsed to single spaces and cut to ``limit`` characters (with "…")."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
