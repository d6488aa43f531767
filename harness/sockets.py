"""Where this process makes the sockets that talk to a board.

A board on Wi-Fi, or a virtual board sharing this host's stack, is reached with
this host's own sockets. A board built from source lives in a network namespace of
its own (`esp_hil.virtual.tapnet`): its sockets are made inside that namespace by
the namespace's broker and handed over as descriptors, after which they are
ordinary sockets. Peers and the WebREPL client take whichever the board has.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import Protocol


class SocketMaker(Protocol):
    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM, proto: int = 0) -> socket.socket: ...
    def command(self, argv: list[str]) -> list[str]: ...


class HostSockets:
    """This host's own network stack."""

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM, proto: int = 0) -> socket.socket:
        return socket.socket(family, kind, proto)

    def command(self, argv: list[str]) -> list[str]:
        """A program that talks to the board (a multitest's host instance) runs as it is."""
        return argv


class NamespaceSockets:
    """Sockets made in a board's network namespace by its broker at `path` (a UNIX socket)."""

    def __init__(self, path: str):
        self.path = path

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM, proto: int = 0) -> socket.socket:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as broker:
            broker.settimeout(5)
            try:
                broker.connect(self.path)
                broker.sendall(f"{family} {kind} {proto}\n".encode())
                msg, fds, _, _ = socket.recv_fds(broker, 256, 1)
            except OSError as exc:
                raise ConnectionError(f"the board's network namespace is gone ({self.path}: {exc})") from None
        if not fds:
            raise OSError(f"the board's network namespace made no socket: {msg.decode(errors='replace').strip()}")
        return socket.socket(family, kind, proto, fileno=fds[0])

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run inside the namespace: nsenter into the broker's (root only), found by SO_PEERCRED."""
        if os.geteuid() != 0:
            raise OSError("running a program in a board's network namespace needs root (nsenter)")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as broker:
            broker.settimeout(5)
            try:
                broker.connect(self.path)
            except OSError as exc:
                raise ConnectionError(f"the board's network namespace is gone ({self.path}: {exc})") from None
            pid = struct.unpack("3i", broker.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
        return ["nsenter", f"--net=/proc/{pid}/ns/net", "--", *argv]


HOST = HostSockets()


def for_spec(peer_sockets: str) -> SocketMaker:
    """The maker for a board whose inventory entry names `peer_sockets` (empty: this host)."""
    return NamespaceSockets(peer_sockets) if peer_sockets else HOST
