"""esptool without the hex dumps of a trace that is off, while the harness drives it.

esptool 5 builds its trace lines as f-strings around `HexFormatter`, meant to be lazy:
the f-string formats the whole payload as a hex dump before `trace()` checks whether
tracing is on. That is twice per command (the command, then its SLIP frame): about
50 ms of CPU for each 16 KiB block of a write, spent before the block goes out, so a
1 MiB write waits 1.5-3 s longer than its bytes need on the line. The harness never
turns esptool's trace on; while it runs esptool, the dump is a placeholder. Outside
(a user's `esptool --trace` in the same process) esptool's own formatter is back.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import esptool.loader

_ESPTOOLS_OWN = esptool.loader.HexFormatter
PLACEHOLDER = "(not formatted: esptool's trace is off while esp-hil drives it)"


class _Unformatted(_ESPTOOLS_OWN):
    def __format__(self, spec: str) -> str:
        return PLACEHOLDER


_lock = threading.Lock()
_users = 0  # flashers running side by side, each in its own thread


@contextlib.contextmanager
def untraced() -> Iterator[None]:
    """esptool's trace lines formatted without their payload, for as long as any caller is inside."""
    global _users
    with _lock:
        _users += 1
        esptool.loader.HexFormatter = _Unformatted
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if not _users:
                esptool.loader.HexFormatter = _ESPTOOLS_OWN
