"""The RFC 2217 side of a virtual board: what a rack host's ser2net would serve.

pyserial's own `PortManager` speaks the protocol; this module only accepts the
connection and pumps bytes. One client at a time, as on a real port: a second
connection is closed at once.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Callable, Protocol

import serial.rfc2217

log = logging.getLogger(__name__)


class LinePort(Protocol):
    """What PortManager drives: line settings, modem lines, and our byte sink."""

    baudrate: int
    dtr: bool
    rts: bool

    def write(self, data: bytes) -> None: ...


class Rfc2217Server:
    """Serves one `LinePort` on 127.0.0.1; `send()` pushes bytes to the client."""

    def __init__(self, port: LinePort, name: str, host: str = "127.0.0.1", tcp_port: int = 0,
                 on_connect: Callable[[], None] | None = None):
        self._port = port
        self._name = name
        self._listener = socket.create_server((host, tcp_port))
        self._client: socket.socket | None = None
        self._manager: serial.rfc2217.PortManager | None = None
        self._send_lock = threading.RLock()
        self._closed = threading.Event()
        self._on_connect = on_connect
        self._suspended_until = 0.0
        self._thread = threading.Thread(target=self._serve, name=f"rfc2217-{name}", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"rfc2217://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def send(self, data: bytes) -> None:
        """Bytes from the board to the client; dropped when no one listens, like a UART."""
        with self._send_lock:
            if self._client is None or self._manager is None:
                return
            try:
                self._client.sendall(b"".join(self._manager.escape(data)))
            except OSError:
                pass

    def drop_client(self) -> None:
        """Close the current connection (fault injection: the link drops)."""
        with self._send_lock:
            client = self._client
        if client is not None:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def suspend(self, seconds: float) -> None:
        """Drop the client and refuse connections for `seconds` (the port vanished)."""
        self._suspended_until = time.monotonic() + seconds
        self.drop_client()

    def close(self) -> None:
        self._closed.set()
        self.drop_client()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in _serve
        except OSError:
            pass
        self._listener.close()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            if self._client is not None or time.monotonic() < self._suspended_until:
                conn.close()  # the port is held (one client at a time), or gone for now
                continue
            threading.Thread(target=self._session, args=(conn,), daemon=True,
                             name=f"rfc2217-{self._name}-client").start()

    def _session(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        manager = serial.rfc2217.PortManager(self._port, _Writer(conn, self._send_lock))
        with self._send_lock:
            self._client, self._manager = conn, manager
        if self._on_connect:
            self._on_connect()
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                payload = b"".join(manager.filter(data))
                if payload:
                    self._port.write(payload)
        except OSError:
            pass
        finally:
            with self._send_lock:
                self._client = self._manager = None
            conn.close()


class _Writer:
    """PortManager writes its telnet answers here; share the lock with `send`."""

    def __init__(self, conn: socket.socket, lock: threading.RLock):
        self._conn = conn
        self._lock = lock

    def write(self, data: bytes) -> None:
        with self._lock:
            try:
                self._conn.sendall(data)
            except OSError:
                pass
