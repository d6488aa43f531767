"""Who holds which board: one OS file lock per board on a host.

`flock` locks die with their process, so a crashed or SIGKILLed run never leaves
a board stuck. The lock file also records who holds it (pid, host, command, since),
so a run that waits too long can say who to ask. Across hosts, a labgrid place does
the same job through labgrid's coordinator.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from harness.errors import HilError

ENV_DIR = "HIL_LEASE_DIR"


def lease_dir() -> Path:
    """Shared by every run on this host (one folder, not per user, so users see each other)."""
    path = Path(os.environ.get(ENV_DIR) or "/tmp/esp-hil-leases")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _file_for(key: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    return lease_dir() / f"{safe}.lock"


class Lease:
    """An exclusive hold on one board for this process; release it, or exit."""

    def __init__(self, board_id: str, fd: int):
        self.board_id = board_id
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, board_id: str, wait: float = 60.0, poll: float = 0.1, key: str | None = None) -> "Lease":
        """Take the board, waiting up to `wait` seconds; HilError naming the holder after that.

        `key` is what is locked: the board's port (a board is its serial endpoint), so two
        inventories that name one board differently still exclude each other.
        """
        key = key or board_id
        fd = os.open(_file_for(key), os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _describe(holder_of(key))
                    os.close(fd)
                    raise HilError(f"held by {holder} for more than {wait:.0f}s", board=board_id,
                                   hint="wait for that run to end, or pick another board") from None
                time.sleep(poll)
        _record(fd)
        return cls(board_id, fd)

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "Lease":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def holder_of(key: str) -> dict | None:
    """Who holds the board (by id or port key) now, or None when it is free (a stale record is not a hold)."""
    path = _file_for(key)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None  # nobody holds it exclusively
        except BlockingIOError:
            pass
        text = path.read_text()
        return json.loads(text) if text.strip() else {}
    finally:
        os.close(fd)


def _record(fd: int) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "command": " ".join(sys.argv)[:200]}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)


def _describe(holder: dict | None) -> str:
    if not holder:
        return "another process"
    return f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')} ({holder.get('command')})"
