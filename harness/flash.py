"""Flashing on esptool 5's Python API: detect, check, skip what is there, write, confirm.

The order matters to a rack owner reflashing forty boards a night: everything that
can refuse (the image's checksum, its chip against the inventory and against the
detected chip) refuses before a byte is written; a board that already holds the
image (the flash MD5 of its region) is left alone; a write that fails at the fast
baud is retried lower; afterwards the board is reset into the firmware and asked
what it runs.

On hardware, the board's reset method (`esp_hil.reset`) says how esptool enters the
bootloader, who resets the board out of it (esptool itself for boards on their own
USB, which re-enumerate; the session's own line gesture otherwise, once the port is
back at the firmware's baud), and when a person must hold BOOT and tap RESET. Over RFC 2217 the reset
arrives with network delays between the line changes, which real auto-reset
circuits can miss (esptool issue 383): flash remote boards through esptool's
esp_rfc2217_server on the rack host, which replays the reset with local timing.

Quiet by default: boards flashed side by side each end in one line (`FlashOutcome.line`);
the steps, and esptool's own output, are shown only to a `progress` (hil flash -v,
pytest -v). What a person must do (tap RESET) is always said.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Callable

from esptool import cmds
from esptool.logger import log
from esptool.util import FatalError
from serial import SerialException

from esp_hil.board import Board
from esp_hil.errors import HilError
from esp_hil.esptool_trace import untraced
from esp_hil.firmware import Firmware
from esp_hil.inventory import BoardSpec
from esp_hil.romport import ROM_BAUD, rom_link

MAX_ATTEMPTS = 3
RUNNING = "(__import__('sys').platform, __import__('sys').implementation.version[:3])"  # what the board runs
Progress = Callable[[str], None]


@dataclass(frozen=True)
class FlashOutcome:
    board_id: str
    firmware: str
    written: bool      # False: the board already held the image
    baud: int          # the baud the write (or check) ran at
    running: str       # what the board says it runs after the reset
    seconds: float

    def line(self) -> str:
        """The board's one line: what it got, how fast, what it runs now."""
        verb = f"flashed {self.firmware} at {self.baud} baud" if self.written else f"already held {self.firmware}"
        return f"{self.board_id}: {verb} in {self.seconds:.1f}s; running {self.running}"


def _chip_name(esp) -> str:
    return esp.CHIP_NAME.lower().replace("-", "")


class Flasher:
    """Flashes one board of the inventory; `progress` hears each step (None: only what a person must do)."""

    def __init__(self, spec: BoardSpec, progress: Progress | None = None):
        self.spec = spec
        self._progress = progress
        self.say = lambda text: progress(f"[{spec.id}] {text}") if progress else None
        self.ask = lambda text: (progress or print)(f"[{spec.id}] {text}")

    def flash(self, fw: Firmware, data: bytes, *, force: bool = False, erase: bool = False) -> FlashOutcome:
        start = time.monotonic()
        if fw.chip != self.spec.chip:
            raise HilError(f"firmware {fw.name!r} is for {fw.chip}, the inventory says this board is {self.spec.chip}",
                           board=self.spec.id, hint="pick the image built for this board")
        bauds = self._bauds()
        log.set_verbosity("auto" if self._progress else "silent")  # one logger for the process: -v or not
        board = Board.connect(self.spec)  # one port for the whole job: over RFC 2217 each open and close costs
        try:
            for attempt, baud in enumerate(bauds, 1):
                try:
                    with untraced():
                        written = self._attempt(board, fw, data, baud, force=force, erase=erase)
                    break
                except (FatalError, SerialException, OSError) as exc:
                    if attempt == len(bauds):
                        raise HilError(f"flashing failed at {baud} baud after {attempt} attempts: {exc}",
                                       board=self.spec.id, hint="check the cable, the port and the boot wiring") from None
                    self.say(f"attempt {attempt} at {baud} baud failed ({str(exc).splitlines()[0]}); retrying lower")
            running = self._confirm(board)
        finally:
            board.close()
        return FlashOutcome(self.spec.id, fw.name, written, baud, running, time.monotonic() - start)

    def _bauds(self) -> list[int]:
        """The flash baud, then halves down to the ROM's own speed: a bounded ladder."""
        bauds = [self.spec.flash_baud]
        while len(bauds) < MAX_ATTEMPTS and bauds[-1] // 2 >= ROM_BAUD:
            bauds.append(bauds[-1] // 2)
        if bauds[-1] != ROM_BAUD and len(bauds) < MAX_ATTEMPTS:
            bauds.append(ROM_BAUD)
        return bauds

    def _attempt(self, board: Board, fw: Firmware, data: bytes, baud: int, *, force: bool, erase: bool) -> bool:
        method = self.spec.reset
        if not method.wired:
            self.ask("no reset wiring: hold BOOT (GPIO0) and tap RESET now")
        with rom_link(board) as link:
            self.say(f"connecting ({link.connect_mode})")
            esp = cmds.detect_chip(link.port, ROM_BAUD, link.connect_mode, connect_attempts=3)
            return self._write(esp, fw, data, baud, force=force, erase=erase)

    def _write(self, esp, fw: Firmware, data: bytes, baud: int, *, force: bool, erase: bool) -> bool:
        """Everything esptool does once the ROM answered; esptool leaves its loader at the end on USB chips."""
        try:
            detected = _chip_name(esp)
            if detected != fw.chip:
                raise HilError(f"the board is an {detected.upper()}, firmware {fw.name!r} is for {fw.chip.upper()}",
                               board=self.spec.id, hint="fix the board's chip in the inventory or pick another image")
            check = not (force or erase)
            if check and esp.CHIP_NAME != "ESP8266":  # the ESP32 ROM hashes flash itself: no stub upload to skip
                cmds.attach_flash(esp)
                if self._holds(esp, fw, data):
                    return False
                check = False
            esp = cmds.run_stub(esp)
            data = self._sized(esp, fw, data)
            # The ESP8266's check: its stub's MD5 at the ROM's baud, before the baud change and the flash
            # attach (XMC start-up, flash reset) that only a write needs; a stale read only means a write.
            if check and self._holds(esp, fw, data):
                return False
            if baud != ROM_BAUD:
                esp.change_baud(baud)
            cmds.attach_flash(esp)
            if erase:
                self.say("erasing the whole flash")
                cmds.erase_flash(esp)
            self.say(f"writing {fw.name} ({len(data)} bytes) at 0x{fw.offset:x}, {baud} baud")
            cmds.write_flash(esp, [(fw.offset, data)], compress=True)
            return True
        finally:
            if self.spec.reset.esptool_resets_after_flash:
                cmds.reset_chip(esp, "hard-reset")  # esptool knows the chip's USB (S2/S3: a watchdog reset)

    def _holds(self, esp, fw: Firmware, data: bytes) -> bool:
        if esp.flash_md5sum(fw.offset, len(data)) != hashlib.md5(data).hexdigest():
            return False
        self.say(f"already holds {fw.name} (flash MD5 matches at 0x{fw.offset:x}): write skipped")
        return True

    def _sized(self, esp, fw: Firmware, data: bytes) -> bytes:
        """The image as it must sit in flash: an ESP8266's header names the flash the chip has.

        The ESP8266 boot ROM reads the flash size from the image's header; MicroPython's own
        deploy writes with esptool's ``--flash_size=detect``, which sets it to the detected
        chip's. Doing it here (not by esptool's write) keeps the skip check comparing what
        the flash holds with what would be written.
        """
        image_at_boot = fw.offset == esp.BOOTLOADER_FLASH_OFFSET and data[:1] == bytes([esp.ESP_IMAGE_MAGIC])
        if esp.CHIP_NAME != "ESP8266" or not image_at_boot:
            return data
        size = cmds.detect_flash_size(esp)
        if size is None:
            return data
        header = data[3] & 0x0F | esp.parse_flash_size_arg(size)
        self.say(f"flash size {size} detected: set in the image's header")
        return data[:3] + bytes([header]) + data[4:]

    def _confirm(self, board: Board) -> str:
        """Reset into the firmware (once, by the session that reads the boot log) and read what it runs.

        esptool's `change_baud` moved the port to the flash baud; the firmware talks at
        the board's, and a UART at another baud reads it as garbage: set it back first.
        The image itself was checked by esptool (the flash's MD5 after the write); what
        the board says it runs is its own answer, asked in one short line (`RUNNING`): the
        session ends here, and the full capability probe is ten times the bytes (0.1 s at 115200).
        """
        board.port.unrecorded.baudrate = self.spec.baud
        method = self.spec.reset
        if method.esptool_resets_after_flash:
            board.after_reset(timeout=20)  # the port comes back after esptool's reset
        elif method.wired:
            board.hard_reset()
        else:
            self.ask("tap RESET on the board now")
            board.await_boot(timeout=90, first_byte=60)
        platform, version = board.eval(RUNNING)
        running = f"MicroPython {'.'.join(str(v) for v in version)} ({platform})"
        self.say(f"running: {running}")
        return running


def detect_chip(spec: BoardSpec) -> str:
    """The chip the board's ROM reports (esptool's detection), then back into its firmware.

    It resets the board twice, so only `hil boards --probe` asks; a board without
    reset wiring cannot be asked this way.
    """
    if not spec.reset.wired:
        return "- (no reset wiring)"
    board = Board.connect(spec)
    try:
        with rom_link(board) as link:
            # esptool's own number of connect attempts: a board just hard-reset by a previous probe
            # (or a loaded rack host) can miss the first few, and a probe has no slower baud to fall back to
            esp = cmds.detect_chip(link.port, ROM_BAUD, link.connect_mode)
            name = _chip_name(esp)
            cmds.reset_chip(esp, "hard-reset")
            return name
    except (FatalError, SerialException, OSError) as exc:
        return f"no ROM answer ({str(exc).splitlines()[0][:40]})"
    finally:
        board.close()
