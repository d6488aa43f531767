"""One flash write session of the ROM or the stub: begin (erase), data blocks, end.

The flash behaves like NOR flash: erasing sets bytes to 0xFF, programming can only
clear bits. A write into a region that was not erased therefore corrupts data, as
on a chip, so an erase that falls short shows up when the image is read back.
"""

from __future__ import annotations

import zlib

from esp_hil.virtual.flashstore import FlashStore

SECTOR = 0x1000
SECTORS_PER_BLOCK = 16


class WriteError(Exception):
    """A block the session refuses; `kind` names the ROM's error (see rom.ERRORS)."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


class FlashWrite:
    """Data goes to `offset` onwards, inflated first when the session is compressed."""

    def __init__(self, flash: FlashStore, offset: int, blocks: int, block_size: int, compressed: bool):
        self.flash = flash
        self.offset = offset
        self.blocks = blocks
        self.block_size = block_size
        self.written = 0
        self.image_size: int | None = None  # when the begin command gave the unpadded length
        self._next_seq = 0
        self._inflate = zlib.decompressobj() if compressed else None

    def erase(self, offset: int, size: int) -> None:
        """Erase whole sectors covering [offset, offset+size), clipped to the flash."""
        start = offset // SECTOR * SECTOR
        end = min(-(-(offset + size) // SECTOR) * SECTOR, self.flash.size)
        if end > start:
            self.flash.erase(start, end - start)

    def data(self, seq: int, block: bytes) -> None:
        if seq != self._next_seq:
            raise WriteError(f"block {seq} out of sequence (expected {self._next_seq})", "invalid")
        self._next_seq += 1
        if self._inflate is not None:
            try:
                block = self._inflate.decompress(block)
            except zlib.error as exc:
                raise WriteError(f"inflate failed: {exc}", "inflate") from None
        self._program(block)

    @property
    def image_length(self) -> int:
        """What the boot log hashes: the image without the last block's padding, where known."""
        return min(self.written, self.image_size) if self.image_size else self.written

    @property
    def complete(self) -> bool:
        if self._inflate is not None:
            return self._inflate.eof
        return self._next_seq >= self.blocks > 0

    def _program(self, data: bytes) -> None:
        at = self.offset + self.written
        if at + len(data) > self.flash.size:
            raise WriteError(f"write at 0x{at:x} past the end of flash", "flash")
        old = self.flash.read(at, len(data))
        programmed = int.from_bytes(old, "little") & int.from_bytes(data, "little")
        self.flash.write(at, programmed.to_bytes(len(data), "little"))
        self.written += len(data)


def esp8266_rom_erase_sectors(offset: int, erase_size: int) -> int:
    """Sectors the ESP8266 ROM erases when asked for `erase_size` bytes at `offset`.

    The ROM's SPIEraseArea counts the sectors before the next 64 KiB block twice;
    esptool asks for less to compensate (ESP8266ROM.get_erase_size). This is that
    bug, so the compensation is exercised rather than assumed.
    """
    sectors = -(-erase_size // SECTOR)
    head = SECTORS_PER_BLOCK - (offset // SECTOR) % SECTORS_PER_BLOCK
    return sectors + min(sectors, head)
