"""Where esptool finds a board's boot ROM: on the board's own port, or on the ROM's own USB device.

Most boards have one port for both: the ROM answers on the same UART bridge (or
USB-Serial/JTAG device) as the firmware, and esptool's reset takes the chip there.
An ESP32-S2/S3 running MicroPython does not: the firmware's port is TinyUSB CDC, and
the ROM's download mode enumerates as another USB device with a by-id path of its
own (S3: the USB-Serial/JTAG peripheral, which ``machine.bootloader()`` hands the
PHY to; S2: the ROM's USB-OTG CDC). esptool only reopens the path it was given, so
the inventory names that device as ``download_port`` (a device path on the host the
board is plugged into), and here the session asks the
firmware into download mode, lets go of its own port and opens the ROM's.

No virtual board has such a ROM device: this path is checked on a rack as
``esp_hil.reset`` describes for usb-cdc.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esp_hil.board import Board
from esp_hil.errors import HilError
from esp_hil.reset import UsbCdc
from esp_hil.transport.serial import open_port

ROM_BAUD = 115200
ENUMERATION_WAIT = 10.0  # the firmware restarts into the ROM, whose device enumerates (boards take about 1 s)


@dataclass(frozen=True)
class RomLink:
    """The pyserial object esptool drives, and how esptool gets the chip into its loader on it."""

    port: Any
    connect_mode: str


@contextmanager
def rom_link(board: Board) -> Iterator[RomLink]:
    """The link to the board's ROM for one esptool job; the board's own port is left as esptool leaves it."""
    spec = board.spec
    if not spec.download_port:
        yield RomLink(board.port.unrecorded, spec.reset.connect_mode)
        return
    method = spec.reset
    assert isinstance(method, UsbCdc), "inventory: download_port only with reset = usb-cdc"
    if not Path(spec.download_port).exists():  # else the chip already waits there (BOOT held at reset)
        if not board.port.is_open:  # an earlier attempt left through the ROM: the firmware's port is back
            board.reopen(wait=ENUMERATION_WAIT)
        board.transcript.note(f"into download mode (machine.bootloader()), then {spec.download_port}")
        method.enter_download(board.port)
        board.close()
        _wait_for(spec.download_port, board.id)
    port = open_port(spec.download_port, ROM_BAUD)
    try:
        yield RomLink(port, "no-reset")  # the chip is in its loader already
    finally:
        port.close()


def _wait_for(path: str, board_id: str) -> None:
    deadline = time.monotonic() + ENUMERATION_WAIT
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise HilError(f"the ROM's download port {path} did not appear within {ENUMERATION_WAIT:.0f}s",
                           board=board_id,
                           hint="check download_port in the inventory (ls /dev/serial/by-id/ while the board "
                                "is in download mode), or hold BOOT and tap RESET")
        time.sleep(0.1)
