"""Text that leaves the process: secrets masked, a board's control bytes made visible. Done here, once.

What a board sends is data: an ESC, BEL or NUL it prints must not drive the
terminal of the person reading a failure, nor hide in a database or a report. It
is shown as `\\x1b` (C1 controls as `\\u009b`, which JSON reads back too). Tabs and
line ends stay as they are.

Where text leaves the process, each cleans it once, here:
- a board's transcript (`esp_hil.transcript`), a file as it grows: bytes masked as they
  arrive (`StreamRedactor`: a secret may come one byte a read), its own notes cleaned;
- pytest's report objects (the plugin's `clean_reports`), which the terminal, JUnit XML,
  captured output, the summary and a result's row and transcript file are made from;
- the results store, for what it is given from outside a report (`esp_hil.results`);
- `hil report`'s output (`esp_hil.cli.report`): it may read a database from another host.
"""

from __future__ import annotations

import re

from esp_hil.secrets import StreamRedactor, redact

__all__ = ["StreamRedactor", "clean", "visible"]

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
