"""A virtual board's SPI flash: one file per board, erased bytes are 0xFF.

It also remembers the region written last (by the ROM's flash begin..end), in a
JSON file beside it, so the boot log can name the image that was flashed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ERASED = 0xFF


class FlashStore:
    """Reads and writes go straight to the file: a killed board keeps its flash."""

    def __init__(self, path: Path, size: int = 4 * 1024 * 1024):
        self.path = Path(path)
        self.size = size
        self._meta = self.path.with_suffix(".json")
        if not self.path.exists() or self.path.stat().st_size != size:
            self.path.write_bytes(bytes([ERASED]) * size)

    def read(self, offset: int, n: int) -> bytes:
        self._check(offset, n)
        with open(self.path, "rb") as f:
            f.seek(offset)
            return f.read(n)

    def write(self, offset: int, data: bytes) -> None:
        self._check(offset, len(data))
        with open(self.path, "r+b") as f:
            f.seek(offset)
            f.write(data)

    def erase(self, offset: int, n: int) -> None:
        self.write(offset, bytes([ERASED]) * n)

    def erase_all(self) -> None:
        self.path.write_bytes(bytes([ERASED]) * self.size)
        self._meta.unlink(missing_ok=True)

    def md5(self, offset: int, n: int) -> str:
        return hashlib.md5(self.read(offset, n)).hexdigest()

    def blank(self) -> bool:
        with open(self.path, "rb") as f:
            return all(b == ERASED for b in f.read(0x2000))

    @property
    def last_written(self) -> tuple[int, int] | None:
        """(offset, length) of the last image written, if any."""
        try:
            meta = json.loads(self._meta.read_text())
            return meta["offset"], meta["length"]
        except (OSError, ValueError, KeyError):
            return None

    def remember_written(self, offset: int, length: int) -> None:
        self._meta.write_text(json.dumps({"offset": offset, "length": length}))

    def _check(self, offset: int, n: int) -> None:
        if offset < 0 or n < 0 or offset + n > self.size:
            raise ValueError(f"flash access 0x{offset:x}+{n} outside 0..0x{self.size:x}")
