"""A board's UART as a pty too: for tools that open a device path, not a URL.

MicroPython's own `tools/pyboard.py` (and so `tests/run-tests.py` and
`run-multitests.py`) opens its device with `serial.Serial(path)`, which takes no
`rfc2217://` URL. The pty carries the same bytes as the board's RFC 2217 port,
at the board's UART baud; it has no modem lines, so it cannot reset the board,
as a USB-serial adapter without DTR/RTS wiring cannot. Output that arrives while
no program holds the pty is dropped, as on an unplugged UART.
"""

from __future__ import annotations

import errno
import os
import select
import threading
import tty
from typing import Callable

_READ_CHUNK = 4096


class PtyPort:
    """A pty whose slave path clients open; bytes they write go to `on_input`."""

    def __init__(self, on_input: Callable[[bytes], None]):
        self._master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        os.close(slave)  # held open, it would hide whether a client holds the pty
        os.set_blocking(self._master, False)
        self._on_input = on_input
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, name=f"pty-{self.path}", daemon=True)
        self._thread.start()

    def send(self, data: bytes) -> None:
        """Board output to the client; dropped when no one holds the pty (the kernel would keep it
        for the next one) or when its buffer is full (the host's driver overruns)."""
        with self._lock:
            if self._closed.is_set() or not self._held():
                return
            try:
                os.write(self._master, data)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EIO):
                    raise

    def _held(self) -> bool:
        """A client holds the slave: the master does not report a hang-up."""
        poller = select.poll()
        poller.register(self._master, select.POLLOUT)
        return not any(event & select.POLLHUP for _, event in poller.poll(0))

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        with self._lock:
            os.close(self._master)

    def _pump(self) -> None:
        poller = select.poll()
        poller.register(self._master, select.POLLIN)
        while not self._closed.is_set():
            events = poller.poll(100)
            if not events:
                continue
            if not events[0][1] & select.POLLIN:  # POLLHUP: no client holds the pty now
                self._closed.wait(0.05)
                continue
            try:
                data = os.read(self._master, _READ_CHUNK)
            except OSError:
                data = b""
            if data:
                self._on_input(data)
