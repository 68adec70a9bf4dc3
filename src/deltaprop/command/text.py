"""Text from the user's files on the user's terminal: control characters escaped, markup off.

A column name, a category, a model file's data name, stop reason or version is data, never a
terminal instruction (an ANSI escape sequence) nor rich markup (``[/bold]``).  Every line the
command prints with such text passes it through :func:`printable`.  Imports nothing heavy.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

#: C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object, markup: bool = False) -> str:
    """``str(value)`` with every control character written as an escape (``\\x1b``); with
    ``markup``, also escaped for a line that rich reads as markup."""
    text = _CONTROL.sub(_escape, str(value))
    if markup:
        from rich.markup import escape

        text = escape(text)
    return text
