"""Hostile secret values, and the forms of them that issue 14 found leaking (written out by hand, not by the
code under test)."""

from __future__ import annotations

import html
import json

HOSTILE = ["Grüße\\\"'x9", "pa\"ss\\wörd", "naïve'quote"]


def leaked_forms(value: str) -> list[str]:
    """The value as typed, `repr`- and byte-escaped, its UTF-8 bytes read as Latin-1, JSON- and HTML-escaped."""
    utf8, latin1 = value.encode(), value.encode("latin-1")
    return [value, repr(value)[1:-1], ascii(value)[1:-1], repr(utf8)[2:-1], repr(latin1)[2:-1],
            utf8.decode("latin-1"), json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
            html.escape(value), html.escape(repr(value)[1:-1])]
