"""`hil virtual --pty`: a board's UART as a device path, for tools that take no URL (upstream's pyboard.py)."""

from __future__ import annotations

import time

import serial

from esp_hil import inventory
from esp_hil.inventory import to_toml
from esp_hil.virtual.rack import VirtualRack, specs_for


def _answer(port: serial.Serial, line: bytes, until: bytes, timeout: float = 10) -> bytes:
    port.write(line)
    got, deadline = b"", time.monotonic() + timeout
    while until not in got and time.monotonic() < deadline:
        got += port.read(256)
    return got


def test_a_board_answers_on_its_pty_and_the_inventory_names_it(tmp_path):
    rack = VirtualRack(specs_for("esp32", 1), workdir=tmp_path / "rack", pty=True)
    try:
        spec = rack.start().boards[0]
        (tmp_path / "live.toml").write_text(to_toml(rack.inventory()))
        assert inventory.load(tmp_path / "live.toml").boards[0].pty == spec.pty != ""
        port = serial.Serial(spec.pty, 115200, timeout=0.2)
        try:
            assert b">>> " in _answer(port, b"\r", b">>> ")  # up (a Ctrl-C while it boots is another matter)
            assert b"42\r\n" in _answer(port, b"print(6 * 7)\r", b"42\r\n")
        finally:
            port.close()
    finally:
        rack.close()
