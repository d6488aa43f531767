"""A board's own USB: a by-id path that leaves when the chip resets and comes back when its firmware does.

An ESP32-S3 running MicroPython talks over TinyUSB CDC, a USB device its firmware
starts. A reset of the chip takes the device off the bus: the host's open handle
dies (reads and writes fail), udev removes the `/dev/serial/by-id/` link, and once
the new firmware has started TinyUSB the device enumerates again, as a new tty
behind the same by-id link. This module models exactly that with a pty per
enumeration and a symlink in a `by-id` folder of the rack's own:

- `detach()`: the link goes, the pty's master closes (a client's reads and writes
  fail with EIO, as on a device that left);
- `attach_later()`: after `ENUMERATION_DELAY` a new pty comes up and the link
  points to it.

What it cannot carry: modem lines. A pty has no DTR/RTS (setting them fails with
ENOTTY), so TinyUSB's one line gesture (RTS on DTR off, then DTR on RTS off: into
the bootloader) and USB-Serial/JTAG's RTS reset (ESP32-C3/C6) cannot reach the
board through this path; the USB-CDC reset, `machine.reset()` at the REPL, can.
Output while no program holds the port is dropped: TinyUSB discards it when the
host has the port closed (`mp_usbd_cdc.c`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from esp_hil.errors import HilError
from esp_hil.reset import USB_CDC, ResetMethod
from esp_hil.virtual.ptyport import PtyPort
from esp_hil.virtual.runmode import HARD_RESET_SIGNAL

# From the firmware's start to the by-id link being back: TinyUSB's enumeration, then
# udev's rules. Boards take a few hundred ms to over a second; the session waits for the
# path (Board.after_reset) whatever it is.
ENUMERATION_DELAY = 0.5
# The unix port's machine has no reset(); the firmware's restarts the chip at once, so nothing
# after it runs or prints (a SystemExit would: the raw REPL's end markers). This one has the
# interpreter (the shell's parent) killed by the signal the run mode reads as "reset the chip".
MACHINE_MODULE = f'''"""machine as the firmware has it, plus reset(): the virtual board reboots the chip (esp-hil)."""
from umachine import *


def reset():
    import os
    os.system("kill -{int(HARD_RESET_SIGNAL)} $PPID")
    raise OSError("esp-hil virtual board: machine.reset() did not reset")
'''


def firmware_modules(folder: Path) -> Path:
    """A folder with the board's built-in `machine` (with reset()), for the interpreter's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "machine.py").write_text(MACHINE_MODULE)
    return folder


@dataclass(frozen=True)
class UsbPersonality:
    """How a chip's firmware shows up on USB: the names udev puts in its by-id link, and its reset."""

    vendor: str
    product: str
    reset: ResetMethod

    def by_id_name(self, serial: str) -> str:
        """udev's `usb-<vendor>_<product>_<serial>-if00`, spaces as underscores."""
        return f"usb-{self.vendor}_{self.product}_{serial}-if00".replace(" ", "_")


# MicroPython's ESP32 port (ports/esp32/mpconfigport.h): TinyUSB with Espressif's strings,
# the factory MAC as the serial number (ports/esp32/usb.c).
PERSONALITIES: dict[str, UsbPersonality] = {
    "esp32s3": UsbPersonality("Espressif Systems", "Espressif Device", USB_CDC),
}


def usb_serial(seed: str) -> str:
    """A stable serial number per board, in the firmware's format (8 bytes as lowercase hex)."""
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


class UsbDevice:
    """The CDC device of one board, its by-id link in `folder`; bytes the host writes go to `on_input`."""

    def __init__(self, folder: Path, personality: UsbPersonality, serial: str, on_input: Callable[[bytes], None],
                 delay: float = ENUMERATION_DELAY):
        folder.mkdir(parents=True, exist_ok=True)
        self.personality = personality
        self.path = folder / personality.by_id_name(serial)
        self._on_input = on_input
        self._delay = delay
        self._lock = threading.Lock()
        self._pty: PtyPort | None = None
        self._timer: threading.Timer | None = None
        self._up = threading.Event()
        self.enumerations = 0  # how often the device came on the bus

    @property
    def attached(self) -> bool:
        return self._pty is not None

    def send(self, data: bytes) -> None:
        """The firmware's output, to the host while the device is on the bus."""
        with self._lock:
            pty = self._pty
        if pty is not None:
            pty.send(data)

    def attach_later(self) -> None:
        """The firmware started TinyUSB: the device enumerates after the delay."""
        with self._lock:
            self._cancel()
            self._timer = threading.Timer(self._delay, self._attach)
            self._timer.daemon = True
            self._timer.start()

    def _attach(self) -> None:
        with self._lock:
            if self._timer is None or self._pty is not None:
                return  # detached again meanwhile, or already there
            self._timer = None
            self._pty = PtyPort(self._on_input)
            link = self.path.with_name(self.path.name + ".new")
            link.unlink(missing_ok=True)
            link.symlink_to(self._pty.path)
            os.replace(link, self.path)  # the link appears whole, as udev's does
            self.enumerations += 1
            self._up.set()

    def wait_attached(self, timeout: float = 10.0) -> None:
        """Until the device is on the bus (the rack serves a board once it is there)."""
        if not self._up.wait(timeout):
            raise HilError(f"virtual USB device {self.path.name} did not enumerate within {timeout:.0f}s")

    def detach(self) -> None:
        """The chip reset: the device leaves the bus, its link goes, an open handle dies."""
        with self._lock:
            self._cancel()
            pty, self._pty = self._pty, None
            self._up.clear()
            self.path.unlink(missing_ok=True)
        if pty is not None:
            pty.close()

    def close(self) -> None:
        self.detach()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
