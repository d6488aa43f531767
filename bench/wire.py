"""The wire's limit: the bytes a job moves both ways, at the line's baud (10 bits a byte on a UART)."""

from __future__ import annotations

from typing import Any


class Counting:
    """A pyserial object that counts the bytes through it, both ways, and their time on the line at its baud.

    Everything else is the port's own (esptool changes the baud mid-job: each byte counts
    at the baud the line had when it went through).
    """

    def __init__(self, port: Any):
        self.__dict__.update(inner=port, moved=0, wire=0.0)  # not "port": esptool reads port.port

    def _count(self, n: int) -> None:
        self.__dict__["moved"] += n
        self.__dict__["wire"] += seconds(n, self.inner.baudrate)

    def read(self, size: int = 1) -> bytes:
        data = self.inner.read(size)
        self._count(len(data))
        return data

    def write(self, data: bytes) -> int | None:
        self._count(len(data))
        return self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.inner, name, value)


def seconds(moved: float, baud: int) -> float:
    """How long `moved` bytes take on the line: no implementation is faster on a real UART."""
    return moved * 10 / baud
