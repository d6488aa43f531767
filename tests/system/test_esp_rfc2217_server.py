"""A rack host serving its boards with esptool's esp_rfc2217_server: opening must not reset them.

That server takes DTR on as "reset into the bootloader" (pyserial's client sends it as
it opens a port) and RTS off as "hard reset". A virtual board declared with
``port_server = "esp_rfc2217_server"`` is served that way (esp_hil.virtual.server).
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
import serial

from esp_hil.board import Board
from esp_hil.firmware import Catalog
from esp_hil.flash import Flasher
from esp_hil.inventory import PortServer
from esp_hil.recoveries import Step
from esp_hil.recovery import recover
from esp_hil.virtual import faults, server
from esp_hil.virtual.rack import VirtualRack, specs_for
from esp_hil.virtual.testimage import build
from tests.support.waits import use_short_ladder


@pytest.fixture
def served(tmp_path):
    specs = [replace(s, port_server=PortServer.ESP_RFC2217_SERVER) for s in specs_for("esp32", 1)]
    rack = VirtualRack(specs, workdir=tmp_path / "rack")
    spec = rack.start().boards[0]
    yield spec, rack.boards[0]
    rack.close()


def _mode_after(vboard, seconds: float = 1.0) -> str:
    time.sleep(seconds)  # the server's reset runs in a thread of its own, then the chip boots
    return vboard.mode


def test_pyserials_own_open_resets_the_board_into_its_bootloader(served):
    """The fault as a rack shows it: the URL the server prints, opened as pyserial opens it."""
    spec, vboard = served
    assert spec.url.endswith("?ign_set_control")
    port = serial.serial_for_url(spec.url, baudrate=115200, timeout=1)
    try:
        assert _mode_after(vboard) == "rom"
    finally:
        port.close()


@pytest.fixture
def server_resets(monkeypatch) -> list[str]:
    """The resets the rack host's server runs, by name."""
    ran: list[str] = []
    for name in ("bootloader_reset", "hard_reset"):
        reset = getattr(server, name)
        monkeypatch.setattr(server, name, lambda port, reset=reset, name=name: (ran.append(name), reset(port)))
    return ran


def test_the_board_session_opens_and_closes_without_resetting_the_board(served, server_resets):
    spec, vboard = served
    pid = vboard.run.pid
    board = Board.open(spec)
    try:
        assert board.exec("print('up')") == "up\n"
        assert vboard.run.pid == pid  # the same interpreter: no reset of any kind
    finally:
        board.close()  # mpremote's close sends RTS off, then DTR off: a hard reset there, or not, by a race
    assert _mode_after(vboard, 0.3) == "run"
    assert server_resets == []


def test_a_hard_reset_goes_through_the_server(served):
    spec, vboard = served
    board = Board.open(spec)
    try:
        pid = vboard.run.pid
        board.hard_reset()
        assert vboard.run.pid != pid
        assert board.exec("print(1 + 1)") == "2\n"
    finally:
        board.close()


def test_the_ladders_reopen_brings_the_board_back(served):
    spec, vboard = served
    board = Board.open(spec)
    try:
        faults.inject(vboard, "drop")
        time.sleep(0.2)
        assert recover(board).step is Step.REOPEN
        assert board.exec("print(3)") == "3\n"
    finally:
        board.close()


def test_the_ladders_reflash_brings_the_board_back(served, tmp_path, monkeypatch):
    spec, vboard = served
    image = tmp_path / "esp32.bin"
    image.write_bytes(build("esp32", b"MicroPython v1.24.1 on 2024-11-29" + bytes(range(256)) * 16))
    catalog = Catalog(tmp_path / "firmware" / "manifest.toml")
    catalog.add(image, "esp32-test")
    fw, data = catalog.checked("esp32-test")
    board = Board.open(spec)
    try:
        faults.inject(vboard, "brownout")  # the image's first sector is gone: "no firmware" until a reflash
        use_short_ladder(monkeypatch)
        recovery = recover(board, lambda: Flasher(spec).flash(fw, data, force=True))
        assert recovery.step is Step.REFLASH
        assert board.exec("print(4)") == "4\n"
    finally:
        board.close()
