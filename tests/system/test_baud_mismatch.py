"""A port at another baud than the board's UART reads garbage, and the board reads garbage from it.

The flasher leaves the port at the flash baud after esptool's `change_baud`; it
must set it back before it reads the boot log, or every flash ends "wedged".
"""

from __future__ import annotations

import time

import serial

from esp_hil.board import Board
from esp_hil.flash import Flasher
from tests.system.test_flash import _firmware, chip_rack  # noqa: F401 - the fixture, both chips


def _read(port: serial.Serial, seconds: float) -> bytes:
    got, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        got += port.read(256)
    return got


def test_a_port_at_the_flash_baud_garbles_both_ways(spec):
    port = serial.serial_for_url(spec.url, baudrate=115200, timeout=0.2)
    try:
        port.write(b"\x03\x02import time; time.sleep(1); print('x' * 40)\r")
        time.sleep(0.5)
        port.baudrate = 460800
        heard = _read(port, 1.5)
        assert heard and b"xxxx" not in heard  # the board's output: garbage, not silence
        port.write(b"print(6 * 7)\r")
        time.sleep(0.5)
        port.baudrate = 115200
        port.write(b"\r")
        assert b"42" not in _read(port, 1.5)  # the board's input: the line never reached the REPL whole
        port.write(b"\x03print(6 * 7)\r")
        assert b"42" in _read(port, 1.5)  # at the board's baud, the same line works
    finally:
        port.close()


def test_a_board_flashed_at_speed_answers_after(chip_rack, tmp_path):  # noqa: F811
    chip, _rack, spec = chip_rack
    fw, data, _ = _firmware(tmp_path, chip)
    outcome = Flasher(spec).flash(fw, data, force=True)
    assert outcome.written and outcome.baud == spec.flash_baud != spec.baud
    board = Board.open(spec)
    try:
        assert board.eval("6 * 7") == 42
    finally:
        board.close()
