"""An ESP8266's boot ROM talks at 74880 baud: garbage on a port at 115200, where MicroPython talks.

A board with no firmware says nothing else, so the harness must read the ROM at its own
baud before it calls such a board wedged.
"""

from __future__ import annotations

import time

import pytest
import serial

from esp_hil.board import Board
from esp_hil.errors import HilError
from esp_hil.virtual.rack import VirtualRack, specs_for

ROM_LINE = b"ets Jan  8 2013,rst cause:2, boot mode:(3,6)"


@pytest.fixture
def blank(tmp_path):
    rack = VirtualRack(specs_for("esp8266", 1), workdir=tmp_path / "rack", blank=True)
    spec = rack.start().boards[0]
    yield spec
    rack.close()


def _boot_log_at(url: str, baud: int) -> bytes:
    """Reset the board (the classic circuit: RTS holds EN low) with the port at `baud`; what it prints."""
    port = serial.serial_for_url(url, baudrate=baud, timeout=0.5)
    try:
        port.dtr, port.rts = False, True
        time.sleep(0.1)
        port.reset_input_buffer()
        port.rts = False
        return port.read(4096)
    finally:
        port.close()


def test_the_rom_is_readable_only_at_74880(blank):
    at_rom_baud = _boot_log_at(blank.url, 74880)
    assert ROM_LINE in at_rom_baud and b"ets_main.c" in at_rom_baud
    at_repl_baud = _boot_log_at(blank.url, 115200)
    assert at_repl_baud and ROM_LINE not in at_repl_baud and b"ets_main.c" not in at_repl_baud


def test_a_blank_esp8266_is_no_firmware_with_the_fix_named(blank):
    with pytest.raises(HilError) as info:
        Board.open(blank)
    assert str(info.value) == ("board 'virtual-esp8266-1': no firmware: the boot ROM found no valid image in flash "
                               "(flash firmware: hil flash --board virtual-esp8266-1 --firmware NAME)")


def test_an_esp8266_with_firmware_opens_and_resets_at_115200(tmp_path):
    rack = VirtualRack(specs_for("esp8266", 1), workdir=tmp_path / "rack")
    board = Board.open(rack.start().boards[0])
    try:
        board.hard_reset()
        assert board.exec("print(6 * 7)") == "42\n"
        assert board.port.baudrate == 115200
    finally:
        board.close()
        rack.close()
