"""A board's port: what kind its inventory URL names, and what a session needs of the open port.

The kind is read from the URL in one place (`PortKind.of`), so "is this a device path
that can vanish?" and "is this a labgrid place?" have one answer each. `BoardPort` is
the serial-like object a `Board` talks through: pyserial's, wrapped by
`esp_hil.transport.serial.RecordingSerial` (which adds `unread` and `unrecorded`).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Protocol


class PortKind(Enum):
    """What an inventory port names; the value is its URL prefix."""

    DEVICE = "/"             # a device path (/dev/serial/by-id/...): it vanishes while USB re-enumerates
    RFC2217 = "rfc2217://"   # a rack host's ser2net or esp_rfc2217_server
    SOCKET = "socket://"     # raw TCP: no modem lines, so no reset gesture reaches the board
    LABGRID = "labgrid://"   # a labgrid place; acquiring it gives one of the others
    OTHER = ""               # another pyserial URL handler (loop://, spy://, ...)

    @classmethod
    def of(cls, url: str) -> "PortKind":
        return next((kind for kind in cls if kind.value and url.startswith(kind.value)), cls.OTHER)


class BoardPort(Protocol):
    """What `Board` and `Job` use of an open port (pyserial's names)."""

    timeout: float | None
    baudrate: int
    dtr: bool
    rts: bool

    @property
    def in_waiting(self) -> int: ...

    @property
    def unrecorded(self) -> Any:
        """The pyserial object under the recording, for esptool's binary traffic."""

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...

    def unread(self, data: bytes) -> None:
        """Give back bytes read past a boundary; the next read returns them first."""

    def close(self) -> None: ...
