"""A timestamped record of every byte each way between the host and one board.

Written as it grows, one line per chunk (consecutive bytes in one direction are
merged), to an unnamed temporary file: a board that runs all night keeps one
chunk in memory, not the night. Secrets are masked as the bytes arrive, per
direction, so one echoed a byte at a time is masked too; what reaches the file is
what a failed test attaches to its report and what the results store keeps.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass

from esp_hil.outbound import StreamRedactor, clean

TX = "tx"   # host to board
RX = "rx"   # board to host
NOTE = "--"  # the harness's own remarks (reset, recovery step, test start)

_MERGE_GAP = 0.05
_TAIL_BYTES = 64 * 1024


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
        self._open: Chunk | None = None  # the chunk still taking bytes
        self._redactors = {TX: StreamRedactor(), RX: StreamRedactor()}
        self._file = tempfile.TemporaryFile()
        weakref.finalize(self, self._file.close)
        self._lock = threading.Lock()

    def add(self, direction: str, data: bytes) -> None:
        if direction == NOTE:
            self.note(data.decode("utf-8", "replace"))
            return
        now = time.monotonic() - self._t0
        with self._lock:
            data = self._redactors[direction].feed(bytes(data))
            if not data:
                return
            last = self._open
            if last and last.direction == direction and now - last.t < _MERGE_GAP:
                last.data += data
                return
            self._close_chunk()
            self._open = Chunk(now, direction, bytearray(data))

    def note(self, text: str) -> None:
        with self._lock:
            self._close_chunk()
            self._write(time.monotonic() - self._t0, NOTE, clean(text))

    def mark(self) -> int:
        with self._lock:
            self._close_chunk()
            return self._file.seek(0, os.SEEK_END)

    def render(self, since: int = 0) -> str:
        """One line per chunk: time, direction, the bytes as an escaped string."""
        with self._lock:
            self._close_chunk()
            self._file.seek(since)
            return self._file.read().decode("utf-8").rstrip("\n")

    def tail(self, lines: int = 20) -> str:
        with self._lock:
            self._close_chunk()
            end = self._file.seek(0, os.SEEK_END)
            self._file.seek(max(0, end - _TAIL_BYTES))
            text = self._file.read().decode("utf-8", "replace")
        return "\n".join(text.rstrip("\n").splitlines()[-lines:])

    def _close_chunk(self) -> None:
        if self._open is not None:
            self._write(self._open.t, self._open.direction, _escape(bytes(self._open.data)))
            self._open = None

    def _write(self, t: float, direction: str, body: str) -> None:
        self._file.seek(0, os.SEEK_END)
        self._file.write(f"[{t:9.3f}] {direction} {body}\n".encode())


def _escape(data: bytes) -> str:
    return repr(data)[2:-1]
