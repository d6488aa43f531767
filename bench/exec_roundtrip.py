"""Exec round trips on one virtual board: the harness against mpremote, and against the wire.

The same code, `x = 1 + 1`, run PER_ROUND times in a row by each contender in every
round, rounds interleaved (bench/rounds.py). mpremote is its own SerialTransport as
`mpremote exec` opens it; the harness is esp_hil.board (recording, deadlines, reset
detection). The wire is the bytes an exec moves both ways (counted on mpremote's port)
at the board's baud: no implementation can be faster on a real UART.

Goal (issue 17): the harness at most 0.5x mpremote's round trip.
"""

from __future__ import annotations

import sys

from mpremote.transport_serial import SerialTransport

from rounds import REFERENCE, Goal, interleaved, median, ratio, spread, timed
from wire import Counting, seconds

from esp_hil.board import Board
from esp_hil.virtual.rack import VirtualRack, specs_for

ROUNDS = 9
PER_ROUND = 100
CODE = "x = 1 + 1"


def main() -> int:
    rack = VirtualRack(specs_for("esp32", 1))
    spec = rack.start().boards[0]
    try:
        def harness() -> float:
            board = Board.open(spec)
            try:
                return timed(lambda: board.exec(CODE), PER_ROUND)
            finally:
                board.close()

        def mpremote() -> float:
            bare = SerialTransport(spec.url, baudrate=spec.baud)
            try:
                bare.enter_raw_repl(soft_reset=False)
                return timed(lambda: bare.exec(CODE), PER_ROUND)
            finally:
                bare.close()

        figures = interleaved({"harness": harness, "mpremote": mpremote}, ROUNDS)
        wire = _wire_time(spec)
    finally:
        rack.close()
    ours, theirs = median(figures["harness"]), median(figures["mpremote"])
    print(f"exec round trip of {CODE!r}, {PER_ROUND} in a row per round, median of {ROUNDS} interleaved rounds:")
    for name, values in figures.items():
        print(spread(name, values))
    print(ratio("harness / mpremote", ours, theirs, Goal(at_most=0.5)))
    print(ratio("harness / wire", ours, wire, REFERENCE, per=f" ({spec.baud} baud)"))
    print(ratio("mpremote / wire", theirs, wire, REFERENCE))
    return 0


def _wire_time(spec) -> float:
    """Seconds the bytes of one exec take on the line at the board's baud (10 bits a byte)."""
    bare = SerialTransport(spec.url, baudrate=spec.baud)
    try:
        bare.enter_raw_repl(soft_reset=False)
        bare.exec(CODE)
        bare.serial = Counting(bare.serial)
        for _ in range(PER_ROUND):
            bare.exec(CODE)
        moved = bare.serial.moved / PER_ROUND
        bare.serial = bare.serial.inner
    finally:
        bare.close()
    return seconds(moved, spec.baud)


if __name__ == "__main__":
    sys.exit(main())
