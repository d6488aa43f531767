"""The RFC 2217 side of a virtual board: what a rack host's ser2net, or esptool's server, would serve.

pyserial's own `PortManager` speaks the protocol; this module only accepts the
connection and pumps bytes. One client at a time, as on a real port: a second
connection is closed at once.

Served as esptool's `esp_rfc2217_server` (`PortServer.ESP_RFC2217_SERVER`), the
client's DTR/RTS changes are not passed on; they are read as that server reads them
(its `EspPortManager`, esptool 5): DTR off clears its "download mode" flag and sets
DTR off on the port; outside download mode, DTR on sets the flag and runs esptool's
bootloader reset on the port with local timing, and RTS off runs its hard reset;
every other DTR/RTS change is dropped. None of them is answered (clients need
`?ign_set_control`). A client's connection sets DTR and RTS on, its end sets both
off and puts the port's settings back.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Callable, Protocol

import serial.rfc2217
from serial.rfc2217 import (COM_PORT_OPTION, SET_CONTROL, SET_CONTROL_DTR_OFF, SET_CONTROL_DTR_ON,
                            SET_CONTROL_RTS_OFF, SET_CONTROL_RTS_ON)

from esp_hil.inventory import IGNORE_SET_CONTROL, PortServer

log = logging.getLogger(__name__)


class LinePort(Protocol):
    """What PortManager drives: line settings, modem lines, and our byte sink."""

    baudrate: int
    dtr: bool
    rts: bool

    def write(self, data: bytes) -> None: ...

    def set_lines(self, dtr: bool, rts: bool) -> None:
        """Both modem lines in one step, as one TIOCMSET ioctl sets them."""


class Rfc2217Server:
    """Serves one `LinePort` on 127.0.0.1; `send()` pushes bytes to the client."""

    def __init__(self, port: LinePort, name: str, host: str = "127.0.0.1", tcp_port: int = 0,
                 on_connect: Callable[[], None] | None = None, mode: PortServer = PortServer.SER2NET):
        self._port = port
        self._name = name
        self.mode = mode
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
        url = f"rfc2217://{host}:{port}"
        return f"{url}?{IGNORE_SET_CONTROL}" if self.mode is PortServer.ESP_RFC2217_SERVER else url  # as it prints

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
        writer = _Writer(conn, self._send_lock)
        esp = self.mode is PortServer.ESP_RFC2217_SERVER
        if esp:
            baud = self._port.baudrate
            self._port.set_lines(dtr=True, rts=True)  # esptool's server: a client is connected
        manager = _EspPortManager(self._port, writer) if esp else serial.rfc2217.PortManager(self._port, writer)
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
            if esp:
                self._port.set_lines(dtr=False, rts=False)
                self._port.baudrate = baud  # esptool's server puts the port's settings back


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


class _EspPortManager(serial.rfc2217.PortManager):
    """DTR/RTS as esptool's `esp_rfc2217_server` takes them: reset requests it runs itself, unanswered."""

    def __init__(self, port: LinePort, connection: _Writer):
        super().__init__(port, connection)
        self._download = False  # a bootloader reset was asked for and no DTR off has come since

    def _telnet_process_subnegotiation(self, suboption: bytes) -> None:
        if suboption[0:2] != COM_PORT_OPTION + SET_CONTROL:
            super()._telnet_process_subnegotiation(suboption)
            return
        line = suboption[2:3]
        if line == SET_CONTROL_DTR_OFF:
            self._download = False
            self.serial.dtr = False
        elif line == SET_CONTROL_DTR_ON and not self._download:
            self._download = True
            self._in_thread(bootloader_reset)
        elif line == SET_CONTROL_RTS_OFF and not self._download:
            self._in_thread(hard_reset)
        elif line not in (SET_CONTROL_DTR_ON, SET_CONTROL_RTS_ON, SET_CONTROL_RTS_OFF):
            super()._telnet_process_subnegotiation(suboption)  # flow control, break: as pyserial does

    def _in_thread(self, reset: Callable[[LinePort], None]) -> None:
        threading.Thread(target=reset, args=(self.serial,), daemon=True, name="esp-rfc2217-reset").start()


RESET_HOLD = 0.1     # esptool: EN held low this long (both resets)
BOOT_PIN_HOLD = 0.05  # esptool's DEFAULT_RESET_DELAY: GPIO0 held low this long after EN is released


def bootloader_reset(port: LinePort) -> None:
    """esptool's reset into the bootloader on POSIX (UnixTightReset): both lines set at once, each step."""
    port.set_lines(dtr=False, rts=False)
    port.set_lines(dtr=True, rts=True)
    port.set_lines(dtr=False, rts=True)  # EN low, GPIO0 high
    time.sleep(RESET_HOLD)
    port.set_lines(dtr=True, rts=False)  # EN released with GPIO0 low
    time.sleep(BOOT_PIN_HOLD)
    port.set_lines(dtr=False, rts=False)


def hard_reset(port: LinePort) -> None:
    """esptool's HardReset: RTS on, then off; with DTR on as well, EN never goes low (nothing happens)."""
    port.rts = True
    time.sleep(RESET_HOLD)
    port.rts = False
