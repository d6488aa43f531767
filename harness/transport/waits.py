"""Waiting for a board's bytes: blocking reads that end when a byte or the deadline comes.

mpremote waits in two ways the caller cannot bound: `read_until` polls every 10 ms
with its own 10 s timeout between bytes, and the raw-paste and exec steps read the
port directly, each for the port's full timeout. A hung board thus cost an exec with
a 1 s timeout about 13 s. `Deadlines` gives a transport one overall deadline
(`within`) that both kinds of wait honour, mpremote's code unchanged.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

# The ports' own read timeout (esp_hil.transport.serial): it bounds mpremote's direct reads
# outside `within`, and one blocking read of a longer wait. It is also esptool's default
# command timeout; esptool sets its own around each command.
READ_TIMEOUT = 3.0


def read_within(port: Any, size: int, seconds: float) -> bytes:
    """Up to `size` bytes from a pyserial-like port, blocking until the first comes or `seconds` pass.

    No sleep between polls: the port's own blocking read wakes when a byte arrives. The
    port's timeout is lent for the wait (local on every port we open, `Rfc2217Port`).
    """
    if port.in_waiting:
        return port.read(min(size, port.in_waiting))
    saved = port.timeout
    port.timeout = max(seconds, 0.0)
    try:
        first = port.read(1)
    finally:
        port.timeout = saved
    waiting = port.in_waiting
    return first + port.read(min(size - 1, waiting)) if first and size > 1 and waiting else first


class Bounded:
    """A port whose reads wait no longer than a deadline allows (the port's own timeout, if sooner)."""

    def __init__(self, port: Any, deadline: float):
        object.__setattr__(self, "_port", port)
        object.__setattr__(self, "_deadline", deadline)

    def read(self, size: int = 1) -> bytes:
        port, left = self._port, max(self._deadline - time.monotonic(), 0.0)
        saved = port.timeout
        if saved is not None and saved <= left:
            return port.read(size)
        port.timeout = left
        try:
            return port.read(size)
        finally:
            port.timeout = saved

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._port, name, value)


class Deadlines:
    """For an mpremote transport: `read_until` that blocks instead of polling, and `within(seconds)`.

    Inside `within`, every wait of the transport ends by the deadline: `read_until`'s
    and the direct port reads of mpremote's raw-paste and exec steps (through a
    `Bounded` port). Same arguments and results as mpremote's `read_until`; `ending`
    may also be a tuple, any of whose endings ends the read.
    """

    serial: Any
    _deadline = math.inf

    @contextmanager
    def within(self, seconds: float) -> Iterator[None]:
        """Every wait inside ends `seconds` from now at the latest (or at an enclosing deadline)."""
        outer, port = self._deadline, self.serial
        self._deadline = min(outer, time.monotonic() + seconds)
        self.serial = Bounded(port, self._deadline)
        try:
            yield
        finally:
            self._deadline, self.serial = outer, port

    def read_until(self, min_num_bytes: int, ending: bytes | tuple[bytes, ...], timeout: float | None = 10,
                   data_consumer: Callable[[bytes], None] | None = None,
                   timeout_overall: float | None = None) -> bytes:
        data = b""
        now = time.monotonic()
        overall = min(self._deadline, math.inf if timeout_overall is None else now + timeout_overall)
        quiet = math.inf if timeout is None else now + timeout
        while not data.endswith(ending):
            left = min(overall, quiet) - time.monotonic()
            if left <= 0:
                break
            byte = read_within(self.serial, 1, min(left, READ_TIMEOUT))  # one byte: nothing past the ending
            if not byte:
                continue
            data = byte if data_consumer else data + byte
            if data_consumer:
                data_consumer(byte)
            if timeout is not None:
                quiet = time.monotonic() + timeout
        return data
