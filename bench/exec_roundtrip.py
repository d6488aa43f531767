"""Exec round trips: esp_hil.board against bare mpremote SerialTransport, one virtual board.

The harness adds a recording proxy, an overall deadline and a job object per exec;
this measures what that costs per round trip, against mpremote in the same process
on the same board, alternating so drift hits both sides alike. Target: ratio <= 1.10.
"""

from __future__ import annotations

import statistics
import sys
import time

from mpremote.transport_serial import SerialTransport

from esp_hil.board import Board
from esp_hil.virtual.rack import VirtualRack, specs_for

ROUNDS = 5
PER_ROUND = 100
CODE = "x = 1 + 1"


def _time(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> int:
    rack = VirtualRack(specs_for("esp32", 1))
    spec = rack.start().boards[0]
    try:
        bare = SerialTransport(spec.url, baudrate=spec.baud)
        bare.enter_raw_repl(soft_reset=False)
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(ROUNDS):
            theirs.append(_time(lambda: bare.exec(CODE), PER_ROUND))
            bare.exit_raw_repl()
            bare.close()
            board = Board.open(spec)
            ours.append(_time(lambda: board.exec(CODE), PER_ROUND))
            board.close()
            bare = SerialTransport(spec.url, baudrate=spec.baud)
            bare.enter_raw_repl(soft_reset=False)
        bare.close()
    finally:
        rack.close()
    mine, base = statistics.median(ours), statistics.median(theirs)
    ratio = mine / base
    print(f"exec round trip: harness {mine * 1000:.2f} ms, mpremote {base * 1000:.2f} ms, "
          f"ratio {ratio:.3f} (target <= 1.10) {'OK' if ratio <= 1.10 else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
