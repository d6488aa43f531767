"""Connecting to a virtual board's ROM: the harness against its floor, and esptool's chip-id for reference.

A connect is what the flasher does before anything else: the board's port opened,
esptool's reset into the bootloader, the ROM's answer (`detect_chip`), the port closed.

Its floor over RFC 2217, which no client beats on this path:
- esptool's own reset delays (EN held low 0.1 s, GPIO0 held low 0.05 s after): a bench board
  pays them too;
- pyserial's pace: each DTR/RTS change waits for the rack host's answer, polled every 50 ms.
  An auto-reset board behind RFC 2217 needs that pace to catch GPIO0 low (docs/virtual-rom.md,
  "Connecting"). Counted as sent, the open's included;
- the bytes both ways at 115200 (bench/wire.py).
A bench board on a local UART has no pace: that floor is printed for reference.

esptool's `chip-id` (which uploads the stub) is timed as a user types it (its own port:
pyserial's RFC 2217 client renegotiates the line whenever the timeout changes) and on the
harness's port, against a bench board's 1-2 s (issue 17), for reference.

Goal (issue 17): the harness's connect at most 1.3x its floor over RFC 2217.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import time

import esptool
from esptool import cmds
from esptool.logger import log
from esptool.reset import DEFAULT_RESET_DELAY
from serial.rfc2217 import SET_CONTROL_DTR_OFF, SET_CONTROL_DTR_ON, SET_CONTROL_RTS_OFF, SET_CONTROL_RTS_ON

from rounds import REFERENCE, Goal, interleaved, median, ratio, spread, timed
from wire import Counting

from esp_hil.board import Board
from esp_hil.transport.serial import Rfc2217Port, open_port
from esp_hil.virtual.rack import VirtualRack, specs_for

ROUNDS = 3
ROM_BAUD = 115200
RESET_DELAYS = 0.1 + DEFAULT_RESET_DELAY  # esptool's classic reset: EN held low, then GPIO0 held after EN
PACE = 0.05  # pyserial's RFC 2217 client polls for the answer to each DTR/RTS change this often
LINE_CHANGES = {SET_CONTROL_DTR_ON, SET_CONTROL_DTR_OFF, SET_CONTROL_RTS_ON, SET_CONTROL_RTS_OFF}
BENCH_BOARD = 2.0  # seconds: the top of a bench board's `esptool chip-id` (issue 17)


class LineChanges:
    """Counts the DTR/RTS changes the harness's port sends (its open's included) while installed."""

    def __init__(self) -> None:
        self.sent = 0
        self._send = Rfc2217Port.rfc2217_set_control

    def __enter__(self) -> "LineChanges":
        send = self._send

        def counted(port: Rfc2217Port, value: bytes) -> None:
            if value in LINE_CHANGES:
                self.sent += 1
            send(port, value)
        Rfc2217Port.rfc2217_set_control = counted
        return self

    def __exit__(self, *exc: object) -> None:
        Rfc2217Port.rfc2217_set_control = self._send


def _connect(spec, floors: list[tuple[float, float]], lines: LineChanges) -> float:
    """One connect as the flasher makes it; appends its floor (over RFC 2217, on a local UART)."""
    lines.sent = 0
    start = time.perf_counter()
    board = Board.connect(spec)
    try:
        port = Counting(board.port.unrecorded)
        cmds.detect_chip(port, ROM_BAUD, spec.reset.connect_mode, connect_attempts=3)
        changes = lines.sent
    finally:
        board.close()
    elapsed = time.perf_counter() - start
    local = RESET_DELAYS + port.wire
    floors.append((local + PACE * changes, local))
    return elapsed


def _chip_id_ours(url: str) -> float:
    """esptool's chip-id on the harness's port (timeouts stay local), as bench/rom_read.py drives esptool."""
    start = time.perf_counter()
    port = open_port(url, ROM_BAUD)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            esptool.main(["chip-id"], esp=cmds.detect_chip(port, ROM_BAUD, "default-reset"))
    finally:
        port.close()
    return time.perf_counter() - start


def _chip_id_cli(url: str) -> float:
    """`esptool --port URL chip-id` as a user types it: esptool opens the URL with pyserial's client."""
    return timed(lambda: subprocess.run([sys.executable, "-m", "esptool", "--port", url, "chip-id"],
                                        check=True, capture_output=True))


def main() -> int:
    log.set_verbosity("silent")
    rack = VirtualRack([*specs_for("esp32", 1), *specs_for("esp8266", 1)])
    specs = rack.start().boards
    floors: dict[str, list[tuple[float, float]]] = {spec.chip: [] for spec in specs}
    try:
        with LineChanges() as lines:
            contenders = {}
            for spec in specs:
                contenders[f"connect {spec.chip}"] = lambda spec=spec: _connect(spec, floors[spec.chip], lines)
                contenders[f"chip-id on our port {spec.chip}"] = lambda spec=spec: _chip_id_ours(spec.url)
            contenders["chip-id, esptool's own port, esp32"] = lambda: _chip_id_cli(specs[0].url)
            figures = interleaved(contenders, ROUNDS, progress=lambda line: print(line, flush=True))
    finally:
        rack.close()
    m = {name: median(values) for name, values in figures.items()}
    print(f"\nconnecting to a virtual board's ROM, median of {ROUNDS} interleaved rounds:")
    for name, values in figures.items():
        print(spread(name, values))
    for spec in specs:
        chip = spec.chip
        over_rfc2217 = median([floor for floor, _ in floors[chip]])
        local = median([floor for _, floor in floors[chip]])
        print(ratio(f"{chip}: connect / its floor over RFC 2217", m[f"connect {chip}"], over_rfc2217, Goal(at_most=1.3)))
        print(ratio(f"{chip}: connect / a bench board's floor (local UART, no pace)", m[f"connect {chip}"], local,
                    REFERENCE))
        print(ratio(f"{chip}: esptool chip-id on our port / a bench board's {BENCH_BOARD:g} s",
                    m[f"chip-id on our port {chip}"], BENCH_BOARD, REFERENCE))
    print(ratio("esp32: esptool chip-id, esptool's own port / ours", m["chip-id, esptool's own port, esp32"],
                m["chip-id on our port esp32"], REFERENCE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
