"""Text that leaves the process: secrets masked, a board's control bytes made visible. Done here, once.

What a board sends is data: an ESC, BEL or NUL it prints must not drive the
terminal of the person reading a failure, nor hide in a database or a report. It
is shown as `\\x1b` (C1 controls as `\\u009b`, which JSON reads back too). Tabs and
line ends stay as they are.

Where text leaves: transcript files (`esp_hil.transcript`), pytest's report objects
(`esp_hil.clean_reports`), the results store and `hil report`'s output.
"""

from __future__ import annotations

import re

from esp_hil.secrets import redact

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


def visible(text: str) -> str:
    """Control characters (but tab, newline and CR-LF) as escapes."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x7F else f"\\u{code:04x}"


def clean(text: str) -> str:
    """What may be shown or written: every secret masked, then control characters made visible."""
    return visible(redact(text))
