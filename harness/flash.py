"""Flashing on esptool 5's Python API: detect, check, skip what is there, write, confirm.

The order matters to a rack owner reflashing forty boards a night: everything that
can refuse (the image's checksum, its chip against the inventory and against the
detected chip) refuses before a byte is written; a board that already holds the
image (the flash MD5 of its region) is left alone; a write that fails at the fast
baud is retried lower; afterwards the board is reset into the firmware and asked
what it runs.

On hardware: the classic auto-reset circuit needs esptool's default reset; boards
with native USB (ESP32-C3/S3 USB-Serial/JTAG) need "usb-reset" and may re-enumerate
after the hard reset (the port path comes back after a moment); a board without
reset wiring needs a person to hold BOOT and tap RESET. Over RFC 2217 the reset
arrives with network delays between the line changes, which real auto-reset
circuits can miss (esptool issue 383): flash remote boards through esptool's
esp_rfc2217_server on the rack host, which replays the reset with local timing.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Callable

import serial
from esptool import cmds
from esptool.loader import DEFAULT_TIMEOUT
from esptool.util import FatalError
from serial import SerialException

from harness.errors import HilError
from harness.firmware import Firmware
from harness.inventory import BoardSpec

ROM_BAUD = 115200
CONNECT_MODE = {"classic": "default-reset", "usb-jtag": "usb-reset", "none": "no-reset"}
MAX_ATTEMPTS = 3
Progress = Callable[[str], None]


@dataclass(frozen=True)
class FlashOutcome:
    board_id: str
    chip: str
    written: bool      # False: the board already held the image
    baud: int          # the baud the write (or check) ran at
    running: str       # what the board says it runs after the reset
    seconds: float


def _open_port(url: str) -> serial.Serial:
    """The port as esptool opens it, but with esptool's default command timeout already set.

    esptool sets each command's timeout on the port and restores it afterwards. On
    an RFC 2217 link every change renegotiates the line settings, which pyserial's
    client waits for in 50 ms polls: opened with no timeout, each command costs two
    of them. Opened with the default, commands that use it change nothing. Local
    ports (termios) are unaffected either way.
    """
    port = serial.serial_for_url(url, do_not_open=True, exclusive=True)
    port.timeout = DEFAULT_TIMEOUT
    port.open()
    return port


def _chip_name(esp) -> str:
    return esp.CHIP_NAME.lower().replace("-", "")


class Flasher:
    """Flashes one board of the inventory."""

    def __init__(self, spec: BoardSpec, progress: Progress = print):
        self.spec = spec
        self.say = lambda text: progress(f"[{spec.id}] {text}")

    def flash(self, fw: Firmware, data: bytes, *, force: bool = False, erase: bool = False) -> FlashOutcome:
        start = time.monotonic()
        if fw.chip != self.spec.chip:
            raise HilError(f"firmware {fw.name!r} is for {fw.chip}, the inventory says this board is {self.spec.chip}",
                           board=self.spec.id, hint="pick the image built for this board")
        md5 = hashlib.md5(data).hexdigest()
        bauds = self._bauds()
        for attempt, baud in enumerate(bauds, 1):
            try:
                written = self._attempt(fw, data, md5, baud, force=force, erase=erase)
                break
            except (FatalError, SerialException, OSError) as exc:
                if attempt == len(bauds):
                    raise HilError(f"flashing failed at {baud} baud after {attempt} attempts: {exc}",
                                   board=self.spec.id, hint="check the cable, the port and the boot wiring") from None
                self.say(f"attempt {attempt} at {baud} baud failed ({str(exc).splitlines()[0]}); retrying lower")
        running = self._confirm(fw)
        return FlashOutcome(self.spec.id, fw.chip, written, baud, running, time.monotonic() - start)

    def _bauds(self) -> list[int]:
        """The flash baud, then halves down to the ROM's own speed: a bounded ladder."""
        bauds = [self.spec.flash_baud]
        while len(bauds) < MAX_ATTEMPTS and bauds[-1] // 2 >= ROM_BAUD:
            bauds.append(bauds[-1] // 2)
        if bauds[-1] != ROM_BAUD and len(bauds) < MAX_ATTEMPTS:
            bauds.append(ROM_BAUD)
        return bauds

    def _attempt(self, fw: Firmware, data: bytes, md5: str, baud: int, *, force: bool, erase: bool) -> bool:
        if self.spec.reset == "none":
            self.say("no reset wiring: hold BOOT (GPIO0) and tap RESET now")
        self.say(f"connecting ({CONNECT_MODE[self.spec.reset]})")
        esp = cmds.detect_chip(_open_port(self.spec.url), ROM_BAUD, CONNECT_MODE[self.spec.reset], connect_attempts=3)
        try:
            detected = _chip_name(esp)
            if detected != fw.chip:
                raise HilError(f"the board is an {detected.upper()}, firmware {fw.name!r} is for {fw.chip.upper()}",
                               board=self.spec.id, hint="fix the board's chip in the inventory or pick another image")
            esp = cmds.run_stub(esp)
            if baud != ROM_BAUD:
                esp.change_baud(baud)
            cmds.attach_flash(esp)
            if erase:
                self.say("erasing the whole flash")
                cmds.erase_flash(esp)
            elif not force and esp.flash_md5sum(fw.offset, len(data)) == md5:
                self.say(f"already holds {fw.name} (flash MD5 matches at 0x{fw.offset:x}): write skipped")
                return False
            self.say(f"writing {fw.name} ({len(data)} bytes) at 0x{fw.offset:x}, {baud} baud")
            cmds.write_flash(esp, [(fw.offset, data)], compress=True)
            return True
        finally:
            if self.spec.reset == "usb-jtag":
                cmds.reset_chip(esp, "hard-reset")  # esptool's USB reset; the port re-enumerates after it
            esp._port.close()

    def _confirm(self, fw: Firmware) -> str:
        """Reset into the firmware (one reset, with the harness's own session) and read what it runs."""
        from harness.board import Board

        if self.spec.reset == "usb-jtag":
            time.sleep(2.0)  # the USB device comes back after esptool's reset
            board, log = Board.open(self.spec), ""
        else:
            board = Board.connect(self.spec)
        try:
            if self.spec.reset == "classic":
                log = board.hard_reset()
            elif self.spec.reset == "none":
                self.say("tap RESET on the board now")
                log = board.await_boot(timeout=90, first_byte=60)
            caps = board.capabilities
        finally:
            board.close()
        marker = "virtual-board: image sha256="
        if marker in log:  # a virtual board names what its flash holds
            sha = log.split(marker, 1)[1].split()[0]
            if sha != fw.sha256:
                raise HilError(f"after flashing, the board runs image {sha[:12]}, not {fw.name} ({fw.sha256[:12]})",
                               board=self.spec.id, hint="flash again with --force")
            running = f"image sha256 {sha}"
        else:
            running = f"MicroPython {caps.version} ({caps.platform})"
        self.say(f"running: {running}")
        return running


def flash_boards(specs: list[BoardSpec], fw: Firmware, data: bytes, mode: str,
                 progress: Progress = print) -> dict[str, FlashOutcome]:
    """Flash the boards of a run before its tests: mode auto (skip what holds it), always, never."""
    if mode == "never":
        return {}
    return {spec.id: Flasher(spec, progress).flash(fw, data, force=mode == "always") for spec in specs}
