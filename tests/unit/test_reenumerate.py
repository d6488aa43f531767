"""A board on its own USB drops off the bus when reset: the session waits for its by-id path, then reopens.

The USB device is faked here (a by-id symlink that vanishes and comes back, a handle
that dies with it), to time each step; a virtual ESP32-S3 re-enumerates for real in
tests/system/test_usb_reenumerate.py.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from esp_hil import board as board_module
from esp_hil.board import Board
from esp_hil.errors import HilError
from esp_hil.inventory import BoardSpec
from esp_hil.reset import USB_JTAG
from esp_hil.transport.waits import Deadlines


class UsbDevice:
    """A by-id path to a USB device that re-enumerates `after` seconds after a reset (None: never)."""

    def __init__(self, folder: Path, after: float | None):
        self.path = folder / "usb-Espressif_USB_JTAG_serial_debug_unit_AA:BB-if00"
        self.path.touch()
        self.after = after
        self.opened: list[Handle] = []

    def open(self, url: str, *_args) -> "Transport":
        assert url == str(self.path) and self.path.exists(), "opened while the device was gone"
        handle = Handle(self)
        self.opened.append(handle)
        return Transport(handle)

    def reset(self) -> None:
        self.path.unlink()
        for handle in self.opened:
            handle.dead = True
        if self.after is not None:
            threading.Timer(self.after, self.path.touch).start()


class Handle:
    """The open port: a USB-Serial/JTAG peripheral resets the chip (and itself) on RTS."""

    def __init__(self, device: UsbDevice):
        self._device = device
        self.dead = False
        self.dtr = self.rts = True
        self.reads_after_death = 0

    def __setattr__(self, name: str, value) -> None:
        if name in ("dtr", "rts") and getattr(self, "dead", False):
            raise OSError(5, "Input/output error")  # Linux's hung-up tty: the modem-line ioctls fail too
        object.__setattr__(self, name, value)
        if name == "rts" and value and not self.dtr:
            self._device.reset()

    @property
    def in_waiting(self) -> int:
        return self._read()

    def read(self, size: int = 1) -> bytes:
        self._read()
        return b""

    def _read(self) -> int:
        if self.dead:
            self.reads_after_death += 1
            raise OSError(5, "Input/output error")
        return 0

    def write(self, data: bytes) -> int:
        return len(data)


class Transport(Deadlines):  # the harness's overall deadlines on a fake port
    def __init__(self, handle: Handle):
        self.serial = handle
        self.in_raw_repl = False
        self.closed = False

    def enter_raw_repl(self, soft_reset: bool, timeout_overall: float) -> None:
        if self.serial.dead:
            raise OSError(5, "Input/output error")
        self.in_raw_repl = True

    def read_until(self, *args, **kwargs) -> bytes:
        self.serial.read()
        return b""

    def close(self) -> None:
        self.closed = True


def _board(tmp_path, monkeypatch, after: float | None) -> tuple[Board, UsbDevice]:
    device = UsbDevice(tmp_path, after)
    monkeypatch.setattr(board_module, "open_serial", device.open)
    spec = BoardSpec(id="c3-a", chip="esp32c3", port=str(device.path), reset=USB_JTAG)
    return Board.connect(spec), device


def test_hard_reset_waits_for_the_path_and_reopens(tmp_path, monkeypatch):
    board, device = _board(tmp_path, monkeypatch, after=0.5)
    old, board.ip = board.port, "192.168.4.17"
    assert board.hard_reset(timeout=5) == ""  # the boot log went by while the device was away
    assert len(device.opened) == 2 and board.port is device.opened[1] and board.transport.in_raw_repl
    assert old.reads_after_death == 0  # nothing read from the dead handle
    assert board.ip is None  # the chip's Wi-Fi went down with it
    assert "reopen" in board.transcript.render()


def test_a_device_that_never_comes_back_is_named(tmp_path, monkeypatch):
    board, _ = _board(tmp_path, monkeypatch, after=None)
    with pytest.raises(HilError, match=r"board 'c3-a'.*did not come back within 1s"):
        board.hard_reset(timeout=1)

