"""Secrets come from the environment only, and no form of them leaves the process.

Every variable named ``HIL_*_PASSWORD`` (Wi-Fi, WebREPL, ...) is a secret. A value
does not stay as typed on its way out: a board echoes its UTF-8 or Latin-1 bytes,
Python and MicroPython write it `repr`-escaped, a transcript writes bytes escaped,
JSON and HTML escape it again. Each of those forms is masked as ``***``: in text
(`redact`) and in a byte stream that may split a form over several reads
(`StreamRedactor`, for transcripts).
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Mapping
from functools import lru_cache

MASK = "***"
_SECRET_NAME = re.compile(r"^HIL_\w*PASSWORD$")
_BYTE_ESCAPES = {ord("\\"): "\\\\", ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r"}


def secret_values(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The secret values in force, longest first (so overlapping ones mask fully)."""
    return _scan(environ) if environ is not None else _in_force.values()


def _scan(env: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(sorted({v for k, v in env.items() if _SECRET_NAME.match(k) and v}, key=len, reverse=True))


class _InForce:
    """The process environment's secrets, scanned again only once the environment has changed.

    Every byte a transcript takes and every report field is masked against them, and
    scanning `os.environ` decodes each variable (55 us a look: a fifth of a worker's CPU
    in the behaviour suite, measured with py-spy). The raw table CPython's `os.environ`
    keeps (`_data`) compares with a copy of itself in under a microsecond while nothing
    changed; a test that sets or changes a secret mid-run changes it, and the next look
    scans. Without that table (another Python), every look scans.
    """

    def __init__(self) -> None:
        self._seen: tuple[dict | None, tuple[str, ...]] = (None, ())

    def values(self) -> tuple[str, ...]:
        raw = getattr(os.environ, "_data", None)
        if raw is None:
            return _scan(os.environ)
        seen, values = self._seen
        if raw != seen:
            copy = dict(raw)  # copied before the scan: a change in between is seen at the next look
            values = _scan(os.environ)
            self._seen = (copy, values)
        return values


_in_force = _InForce()


def get(name: str) -> str | None:
    """Read one secret from the environment; `None` when unset or empty."""
    return os.environ.get(name) or None


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Return `text` with every form of every secret value masked."""
    for form in _text_forms(secret_values(environ)):
        text = text.replace(form, MASK)
    return text


class StreamRedactor:
    """Masks secrets in a byte stream read piecewise: a board may echo a password one byte at a time.

    `feed` returns what is safe to pass on; the bytes that could be the start of
    a secret are held until the next call tells.
    """

    def __init__(self) -> None:
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        forms, starts = _byte_forms(secret_values())
        data = self._held + data
        for form in forms:
            data = data.replace(form, MASK.encode())
        longest = len(forms[0]) - 1 if forms else 0
        keep = next((n for n in range(min(len(data), longest), 0, -1) if data[-n:] in starts), 0)
        self._held = data[len(data) - keep:]
        return data[:len(data) - keep]


def forms(value: str) -> set[str]:
    """How `value` can look once it has been through a board, Python, a transcript, JSON or HTML."""
    encoded = _encodings(value)
    texts = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    for quote in ("", "'", '"'):
        texts |= {_escape_text(value, quote, repr), _escape_text(value, quote, ascii)}
        texts |= {_escape_bytes(data, quote) for data in encoded}
    for data in encoded:
        texts |= {data.decode("latin-1"), data.decode("utf-8", "replace")}
    texts |= {html.escape(t, quote=q) for t in texts for q in (True, False)}
    texts |= {t.replace("|", "\\|") for t in texts}  # a Markdown table cell
    return {t for t in texts if t}


@lru_cache(maxsize=8)
def _text_forms(values: tuple[str, ...]) -> list[str]:
    return sorted({f for v in values for f in forms(v)}, key=len, reverse=True)


@lru_cache(maxsize=8)
def _byte_forms(values: tuple[str, ...]) -> tuple[list[bytes], frozenset[bytes]]:
    """Every form as bytes (and each raw encoding), longest first; and every proper prefix of one."""
    found = {f.encode("utf-8") for f in _text_forms(values)} | {e for v in values for e in _encodings(v)}
    ordered = sorted(found, key=len, reverse=True)
    return ordered, frozenset(f[:n] for f in ordered for n in range(1, len(f)))


def _encodings(value: str) -> list[bytes]:
    """The bytes a board sends for `value`: UTF-8 (MicroPython's), and Latin-1 where it can hold it."""
    return [value.encode("utf-8")] + ([value.encode("latin-1")] if max(map(ord, value)) < 256 else [])


def _escape_text(value: str, quote: str, escape) -> str:
    """`value` as `repr` (or `ascii`) writes it inside a string literal delimited by `quote`."""
    return "".join("\\" + c if c == quote else c if c in "'\"" else escape(c)[1:-1] for c in value)


def _escape_bytes(data: bytes, quote: str) -> str:
    """`data` as a bytes literal writes it inside `quote` (what a transcript line shows)."""
    out = []
    for b in data:
        if b in _BYTE_ESCAPES:
            out.append(_BYTE_ESCAPES[b])
        elif quote and b == ord(quote):
            out.append("\\" + quote)
        elif b < 0x20 or b >= 0x7F:
            out.append(f"\\x{b:02x}")
        else:
            out.append(chr(b))
    return "".join(out)
