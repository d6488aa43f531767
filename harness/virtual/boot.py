"""What the chip does after reset with GPIO0 high: check the image in flash, boot it or not.

Valid means esptool's own loader reads an image at the chip's boot offset and its
checksum matches. The boot log is the ROM's lines a real chip prints, then one line
of ours naming the SHA-256 of the image last flashed, so the harness confirms what a
virtual board runs the way it confirms a real one (flash MD5, banner).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import esptool.bin_image as bin_image
from esptool.util import FatalError

from esp_hil.virtual.flashstore import FlashStore
from esp_hil.firmware import OFFSETS

# The baud each boot ROM prints at: its UART divider set for 115200 with a 40 MHz crystal; the
# ESP8266's 26 MHz crystal makes that 74880 (garbage on a port at 115200, where MicroPython talks).
ROM_BAUD = {"esp32": 115200, "esp32s3": 115200, "esp8266": 74880}
# The ROM's first lines after a power-on reset from flash.
ROM_BOOT = {
    "esp32": b"ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n",
    "esp8266": b"\r\n ets Jan  8 2013,rst cause:2, boot mode:(3,6)\r\n\r\n",
    # on UART0 only: a native-USB board's CDC port is off the bus while it boots (usbport.py)
    "esp32s3": b"ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\nrst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n",
}
# What a real chip prints when flash holds no valid image (ESP32 repeats it while it retries).
NO_IMAGE = {
    "esp32": b"invalid header: 0xffffffff\r\n" * 3,
    "esp8266": b"ets_main.c \r\n",
    "esp32s3": b"invalid header: 0xffffffff\r\n" * 3,
}


@dataclass(frozen=True)
class BootResult:
    ok: bool
    rom: bytes  # the ROM's lines, at ROM_BAUD[chip]
    firmware: bytes = b""  # what the firmware prints then, at its own 115200
    image_sha256: str | None = None

    @property
    def log(self) -> bytes:
        return self.rom + self.firmware


def boot_from_flash(chip: str, flash: FlashStore) -> BootResult:
    offset = OFFSETS[chip]
    head = flash.read(offset, flash.size - offset)  # the image, however long, and what follows
    rom = ROM_BOOT[chip]
    try:
        image = bin_image.LoadFirmwareImage(chip, head)
        valid = image.checksum == image.calculate_checksum()
        if getattr(image, "append_digest", False):  # ESP32 images end in a SHA-256 of themselves
            valid = valid and image.stored_digest == image.calc_digest
    except (FatalError, ValueError, IndexError, RuntimeError, struct.error):
        valid = False
    if not valid:
        return BootResult(False, rom + NO_IMAGE[chip])  # the ROM's own words, at its baud
    start, length = flash.last_written or (offset, len(head))
    sha = hashlib.sha256(flash.read(start, length)).hexdigest()
    line = f"virtual-board: image sha256={sha} offset=0x{start:x} size={length}\r\n".encode()
    return BootResult(True, rom, line, sha)
