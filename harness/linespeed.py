"""Is the board's line as fast as its baud? A slow one slows every test on it, without a word.

Measured once, when the run opens the board: the board prints a short line, and we
time it. A line is "much slower" when that takes over a second where its baud says
a few milliseconds (a bad cable or hub, a rack host's serial server set to 9600, a
USB-serial chip that falls back): then the run says so once, in its summary.
"""

from __future__ import annotations

import time

from esp_hil.board import Board

PRINTED = 64       # bytes the board prints to be timed (and a newline)
BITS = (PRINTED + 1) * 10
SLOW_SECONDS = 1.0  # below this, round trips and a busy host explain any delay


def slow_line(board: Board) -> str | None:
    """One line saying how slow the board's line is, or None when it keeps up with its baud."""
    elapsed = _measure(board)
    if elapsed <= max(SLOW_SECONDS, 8 * BITS / board.spec.baud):
        return None
    return (f"the line runs at about {BITS / elapsed:.0f} baud, not {board.spec.baud}: "
            "every test on this board is slower (check the cable, hub or serial server)")


def _measure(board: Board) -> float:
    """The faster of two timings when the first looks slow: one stall of a busy host is not a slow line."""
    first = _time_print(board)
    return first if first <= SLOW_SECONDS else min(first, _time_print(board))


def _time_print(board: Board) -> float:
    start = time.monotonic()
    board.exec(f"print('U' * {PRINTED})", timeout=30)
    return time.monotonic() - start
