"""A timestamped record of every byte each way between the host and one board.

Kept in memory as chunks (consecutive bytes in one direction are merged), rendered
as text on demand with every secret redacted: the transcript is what a failed test
attaches to its report, and what the results store keeps.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from harness.secrets import redact

TX = "tx"   # host to board
RX = "rx"   # board to host
NOTE = "--"  # the harness's own remarks (reset, recovery step, test start)

_MERGE_GAP = 0.05


@dataclass
class Chunk:
    t: float
    direction: str
    data: bytearray


class Transcript:
    """Append-only, thread-safe; `mark()` gives a position to render from."""

    def __init__(self, board_id: str):
        self.board_id = board_id
        self._t0 = time.monotonic()
        self._chunks: list[Chunk] = []
        self._lock = threading.Lock()

    def add(self, direction: str, data: bytes) -> None:
        if not data:
            return
        now = time.monotonic() - self._t0
        with self._lock:
            last = self._chunks[-1] if self._chunks else None
            if last and last.direction == direction != NOTE and now - last.t < _MERGE_GAP:
                last.data += data
            else:
                self._chunks.append(Chunk(now, direction, bytearray(data)))

    def note(self, text: str) -> None:
        self.add(NOTE, text.encode())

    def mark(self) -> int:
        with self._lock:
            return len(self._chunks)

    def render(self, since: int = 0) -> str:
        """One line per chunk: time, direction, the bytes as an escaped string."""
        with self._lock:
            chunks = list(self._chunks[since:])
        lines = []
        for c in chunks:
            body = c.data.decode("utf-8", "replace") if c.direction == NOTE else _escape(bytes(c.data))
            lines.append(f"[{c.t:9.3f}] {c.direction} {body}")
        return redact("\n".join(lines))

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.render().splitlines()[-lines:])


def _escape(data: bytes) -> str:
    return repr(data)[2:-1]
