"""A TinyUSB CDC board's ROM is another USB device: the session asks the firmware there, then opens it.

No virtual board has such a ROM device (esp_hil.romport says so), so the two USB
devices are faked: the firmware's port records what the session writes, and the
ROM's by-id path appears once `machine.bootloader()` went out on it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from esp_hil import romport
from esp_hil.errors import HilError
from esp_hil.inventory import BoardSpec, parse
from esp_hil.reset import USB_CDC
from esp_hil.transcript import Transcript


class FirmwarePort:
    """MicroPython's CDC port: what reaches it is kept; `machine.bootloader()` brings up the ROM's device."""

    def __init__(self, rom_path: Path | None):
        self.rom_path = rom_path
        self.written = b""
        self.is_open = True
        self.unrecorded = self

    def write(self, data: bytes) -> int:
        self.written += data
        if b"machine.bootloader()" in data and self.rom_path is not None:
            threading.Timer(0.2, self.rom_path.touch).start()  # enumeration takes a moment
        return len(data)


class FakeBoard:
    def __init__(self, spec: BoardSpec, port: FirmwarePort):
        self.spec, self.port, self.id = spec, port, spec.id
        self.transcript = Transcript(spec.id)
        self.reopened = 0

    def close(self) -> None:
        self.port.is_open = False

    def reopen(self, wait: float) -> None:
        self.reopened += 1
        self.port.is_open = True


class RomPort:
    def __init__(self, url: str):
        self.url, self.closed = url, False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def opened(monkeypatch) -> list[RomPort]:
    ports: list[RomPort] = []
    monkeypatch.setattr(romport, "open_port", lambda url, baud: ports.append(RomPort(url)) or ports[-1])
    monkeypatch.setattr(romport, "ENUMERATION_WAIT", 2.0)
    return ports


def _board(tmp_path: Path, appears: bool = True) -> FakeBoard:
    rom = tmp_path / "usb-Espressif_USB_JTAG_serial_debug_unit_AA:BB-if00"
    spec = BoardSpec(id="s3-a", chip="esp32s3", port=str(tmp_path / "usb-MicroPython_Board-if00"),
                     reset=USB_CDC, download_port=str(rom))
    return FakeBoard(spec, FirmwarePort(rom if appears else None))


def test_the_firmware_is_asked_into_download_mode_and_the_roms_device_opened(tmp_path, opened):
    board = _board(tmp_path)
    with romport.rom_link(board) as link:
        assert board.port.written.endswith(b"import machine; machine.bootloader()\r")
        assert not board.port.is_open, "the firmware's port is let go: its device has left USB"
        assert link.port is opened[0] and opened[0].url == board.spec.download_port
        assert link.connect_mode == "no-reset"  # the chip waits in its loader already
    assert opened[0].closed


def test_a_board_already_in_download_mode_is_not_asked_again(tmp_path, opened):
    board = _board(tmp_path)
    Path(board.spec.download_port).touch()  # BOOT held at reset: only the ROM's device is there
    with romport.rom_link(board):
        assert board.port.written == b""


def test_a_retry_reopens_the_firmwares_port_first(tmp_path, opened):
    board = _board(tmp_path)
    board.port.is_open = False  # the first attempt ended with esptool's reset out of the ROM
    with romport.rom_link(board):
        assert board.reopened == 1 and b"machine.bootloader()" in board.port.written


def test_a_rom_device_that_never_appears_is_one_line_with_the_fix(tmp_path, opened):
    board = _board(tmp_path, appears=False)
    with pytest.raises(HilError) as info:
        with romport.rom_link(board):
            pass
    text = str(info.value)
    assert "s3-a" in text and "did not appear" in text and "download_port" in text
    assert not opened


def test_boards_with_one_port_give_esptool_their_own(tmp_path, opened):
    board = _board(tmp_path)
    board.spec = BoardSpec(id="esp32-a", chip="esp32", port="/dev/ttyUSB0")
    with romport.rom_link(board) as link:
        assert link.port is board.port and link.connect_mode == "default-reset"
    assert not opened and board.port.written == b""


@pytest.mark.parametrize("entry, wanted", [
    ({"chip": "esp32", "reset": "classic", "download_port": "/dev/ttyACM1"}, 'reset = "usb-cdc"'),
    ({"chip": "esp32s3", "reset": "usb-cdc", "download_port": "rfc2217://rack:4001"}, "not a device path"),
])
def test_a_download_port_that_cannot_work_is_one_line(entry, wanted):
    with pytest.raises(HilError) as info:
        parse({"board": [{"id": "b", "port": "/dev/ttyACM0", **entry}]}, source="rack.toml")
    assert wanted in str(info.value) and "'b'" in str(info.value)
