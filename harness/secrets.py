"""Secrets come from the environment only, and are redacted from everything we write.

Every variable named ``HIL_*_PASSWORD`` (Wi-Fi, WebREPL, ...) is a secret. Its value is
replaced by ``***`` in transcripts, reports, logs and exception texts before they are
written or shown.
"""

from __future__ import annotations

import os
import re

MASK = "***"
_SECRET_NAME = re.compile(r"^HIL_\w*PASSWORD$")


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """The secret values in force, longest first (so overlapping ones mask fully)."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if _SECRET_NAME.match(k) and v}
    return sorted(values, key=len, reverse=True)


def get(name: str) -> str | None:
    """Read one secret from the environment; `None` when unset or empty."""
    return os.environ.get(name) or None


def redact(text: str, environ: dict[str, str] | None = None) -> str:
    """Return `text` with every secret value masked."""
    for value in secret_values(environ):
        text = text.replace(value, MASK)
    return text


def redact_bytes(data: bytes, environ: dict[str, str] | None = None) -> bytes:
    """Bytes flavour of `redact`, for raw transcripts."""
    for value in secret_values(environ):
        data = data.replace(value.encode(), MASK.encode())
    return data
