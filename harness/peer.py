"""Host-side TCP and UDP peers that a test scripts step by step, in lockstep with device code.

Each step is one explicit call (connect, send, shutdown the write side, close,
abort with RST, stall reading, receive all), so a test reads as the exchange it
asserts. Every blocking call has a timeout. Sockets come from the board's
`SocketMaker` (`esp_hil.sockets`): this host's stack, or the namespace of a board
built from source.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Callable

from esp_hil.errors import HilError
from esp_hil.sockets import HOST, SocketMaker

DEFAULT_TIMEOUT = 10.0
TCP_FIN_WAIT2, TCP_TIME_WAIT = 5, 6  # Linux's TCP states (include/net/tcp_states.h) once our FIN is acknowledged
TCPI_BYTES_ACKED, TCP_INFO_SIZE = 120, 128  # struct tcp_info's u64 tcpi_bytes_acked (Linux 4.1+): data, not SYN/FIN


class Conn:
    """One TCP connection on the host side."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sock.settimeout(DEFAULT_TIMEOUT)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def shutdown_write(self) -> None:
        """Send FIN; the board sees EOF after the data, and may still send to us."""
        self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.sock.close()

    def wait_fin_acknowledged(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """After `shutdown_write`: wait until the board's stack has acknowledged our FIN, and so every byte before it.

        That acknowledgement is the board saying it holds the data and the close, unread: a
        go-ahead sent over the UART at once could overtake both on their way over Wi-Fi.
        """
        self._wait_tcp(lambda state, _acked: state in (TCP_FIN_WAIT2, TCP_TIME_WAIT), "acknowledge our FIN", timeout)

    def wait_data_acknowledged(self, nbytes: int = 1, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the board's stack has acknowledged at least `nbytes` of what we sent.

        An lwIP connection not yet accept()ed holds only its first segment (the later ones
        are dropped, and our stack resends them), so "data reached the board before it
        accepted" is seen as its first acknowledgement, not as all of it.
        """
        self._wait_tcp(lambda _state, acked: acked >= nbytes, f"acknowledge {nbytes} bytes", timeout)

    def _wait_tcp(self, done: Callable[[int, int], bool], what: str, timeout: float) -> None:
        """Poll Linux's TCP_INFO (state, tcpi_bytes_acked) until `done`: a fixed sleep is too short on a loaded host."""
        if not hasattr(socket, "TCP_INFO"):
            raise HilError(f"seeing a board {what} needs Linux's TCP_INFO", hint="run the host peers on Linux")
        deadline = time.monotonic() + timeout
        while True:
            info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_SIZE)
            state, acked = info[0], struct.unpack_from("Q", info, TCPI_BYTES_ACKED)[0]
            if done(state, acked):
                return
            if time.monotonic() > deadline:
                raise HilError(f"the board did not {what} within {timeout:g}s (TCP state {state}, {acked} bytes acknowledged)",
                               hint="is the board's stack still running? see its transcript")
            time.sleep(0.01)

    def abort(self) -> None:
        """Close with RST instead of FIN (SO_LINGER 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def recv(self, n: int = 65536, timeout: float = DEFAULT_TIMEOUT, flags: int = 0) -> bytes:
        """One read, as a socket's recv: what has arrived (up to `n`), b"" once the board closed.

        Raises TimeoutError when nothing comes, ConnectionResetError on the board's RST.
        """
        self.sock.settimeout(timeout)
        return self.sock.recv(n, flags)

    def recv_exactly(self, n: int, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        deadline = time.monotonic() + timeout
        data = bytearray()
        while len(data) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return bytes(data)

    def recv_all(self, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """Everything until the board closes (EOF); raises TimeoutError if it never does."""
        deadline = time.monotonic() + timeout
        data = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"peer got {len(data)} bytes but no EOF within {timeout}s")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                return bytes(data)
            data += chunk

    def drain(self, nbytes: int, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """Start reading again after a stall: take `nbytes` the board sent."""
        return self.recv_exactly(nbytes, timeout)


class Listener:
    """A listening socket the board connects to."""

    def __init__(self, host: str, port: int, rcvbuf: int | None, sockets: SocketMaker = HOST):
        self.sock = sockets.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            # Set before listen() so accepted sockets inherit it and the window stays small:
            # a peer that "stalls reading" then fills up after a few KiB, not megabytes.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind((host, port))
        self.sock.listen(8)
        self.host, self.port = self.sock.getsockname()[:2]

    def accept(self, timeout: float = DEFAULT_TIMEOUT) -> Conn:
        self.sock.settimeout(timeout)
        conn, _ = self.sock.accept()
        return Conn(conn)

    def close(self) -> None:
        self.sock.close()


class Datagrams:
    """A UDP socket on the host side: the board's UDP peer."""

    def __init__(self, host: str, port: int, sockets: SocketMaker = HOST):
        self.sock = sockets.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]

    def sendto(self, data: bytes, address: tuple[str, int]) -> None:
        self.sock.sendto(data, address)

    def recvfrom(self, n: int = 65536, timeout: float = DEFAULT_TIMEOUT) -> tuple[bytes, tuple[str, int]]:
        """One datagram and where it came from; TimeoutError when none comes."""
        self.sock.settimeout(timeout)
        data, address = self.sock.recvfrom(n)
        return data, address[:2]

    def close(self) -> None:
        self.sock.close()


@dataclass
class Peers:
    """The peers of one test; `close()` closes every socket they opened."""

    sockets: SocketMaker = HOST
    _open: list = field(default_factory=list)

    def listen(self, host: str, port: int = 0, rcvbuf: int | None = None) -> Listener:
        listener = Listener(host, port, rcvbuf, self.sockets)
        self._open.append(listener)
        return listener

    def udp(self, host: str, port: int = 0) -> Datagrams:
        """A UDP socket bound to `host:port` (0: any free port), made where the board is reached."""
        peer = Datagrams(host, port, self.sockets)
        self._open.append(peer)
        return peer

    def connect(self, host: str, port: int, timeout: float = DEFAULT_TIMEOUT, retry_for: float = 5.0) -> Conn:
        """Connect to a board's server; retries while the board is still getting to listen()."""
        deadline = time.monotonic() + retry_for
        while True:
            sock = self.sockets.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect((host, port))
                break
            except ConnectionRefusedError:
                sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            except BaseException:
                sock.close()
                raise
        conn = Conn(sock)
        self._open.append(conn)
        return conn

    def close(self) -> None:
        for item in self._open:
            try:
                item.close()
            except OSError:
                pass
        self._open.clear()


def free_port(host: str = "127.0.0.1") -> int:
    """A port number free on this host now (for a server the board opens on host networking)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
