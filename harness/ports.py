"""Port numbers that two runs on one host never share.

MicroPython's network tests bind fixed ports (`PORT = 8000`, then `PORT + i`): two
runs on one host would collide, and so would a run and anything else listening.
A `PortBlock` is a run of consecutive ports, free for TCP and UDP when taken, and
held by a lease (`esp_hil.lease`: an OS file lock that dies with its process) for as
long as the test lasts, so a second esp-hil run picks another block.
"""

from __future__ import annotations

import errno
import random
import socket
from contextlib import contextmanager
from collections.abc import Iterator

from esp_hil.errors import BoardBusy, HilError
from esp_hil.lease import Lease

# Below Linux's ephemeral range (32768-60999), where clients' own ports come from.
FIRST, LAST = 20000, 32000
HOST_STACK = "this host's network stack"


class PortBlock:
    """`count` consecutive ports from `base`, held until `release()` (or the process ends)."""

    def __init__(self, base: int, count: int, lease: Lease):
        self.base = base
        self.count = count
        self._lease = lease

    def release(self) -> None:
        self._lease.release()

    def __enter__(self) -> "PortBlock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def reserve(count: int = 8, host: str = "0.0.0.0", tries: int = 200) -> PortBlock:
    """A block of `count` ports free on `host` now and held by no other esp-hil run."""
    rng = random.Random()
    for _ in range(tries):
        base = rng.randrange(FIRST, LAST - count) // count * count
        try:
            lease = Lease.acquire(f"ports {base}-{base + count - 1}", wait=0, key=f"ports-{base}-{count}")
        except BoardBusy:
            continue
        if all(_free(host, port) for port in range(base, base + count)):
            return PortBlock(base, count, lease)
        lease.release()
    raise HilError(f"no block of {count} free ports between {FIRST} and {LAST} on {host}")


def _free(host: str, port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((host, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    return False
                raise
    return True


@contextmanager
def host_stack(wait: float = 300.0) -> Iterator[None]:
    """Held while code binds fixed ports on this host's own stack, which it cannot be told to move.

    MicroPython's single-instance tests bind `127.0.0.1:8123` and the like in their
    code; boards that share this host's stack (virtual, network = "host") take turns.
    """
    with Lease.acquire(HOST_STACK, wait=wait, key="host-stack"):
        yield
