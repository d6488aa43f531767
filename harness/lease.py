"""Who holds which board: one OS file lock per board on a host.

`flock` locks die with their process, so a crashed or SIGKILLed run never leaves
a board stuck. The lock file also records who holds it (pid, host, command, since),
so a run that waits can say who to ask. Across hosts, a labgrid place does the same
job through labgrid's coordinator.

A released lease removes its file (a rack's runs would otherwise pile them up). A
waiter may then hold a lock on the removed file, so a lock only counts once the
path still names the locked file; else the waiter opens the path again.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from esp_hil.errors import BoardBusy

ENV_DIR = "HIL_LEASE_DIR"


def lease_dir() -> Path:
    """Shared by every run on this host (one folder, not per user, so users see each other)."""
    path = Path(os.environ.get(ENV_DIR) or "/tmp/esp-hil-leases")
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Holder:
    """Who holds a board, as its lease file records it; the one way that is written and said."""

    pid: int | None = None
    host: str = ""
    since: str = ""
    command: str = ""

    @classmethod
    def this_process(cls) -> "Holder":
        return cls(os.getpid(), socket.gethostname(), time.strftime("%Y-%m-%dT%H:%M:%S"), " ".join(sys.argv)[:200])

    @classmethod
    def from_record(cls, text: str) -> "Holder":
        """A lease file's text; one written by nobody yet (or by an older version) is "another process"."""
        try:
            data = json.loads(text)
        except ValueError:
            return cls()
        known = {k: data[k] for k in cls.__dataclass_fields__ if isinstance(data, dict) and k in data}
        return cls(**known)

    def record(self) -> str:
        return json.dumps(asdict(self))

    @property
    def short(self) -> str:
        """For a table cell: pid@host."""
        return f"pid {self.pid}@{self.host}" if self.pid is not None else "another process"

    def __str__(self) -> str:
        """For a sentence: who to ask."""
        if self.pid is None:
            return "another process"
        return f"pid {self.pid} on {self.host} since {self.since} ({self.command})"


def _file_for(key: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    return lease_dir() / f"{safe}.lock"


class Lease:
    """An exclusive hold on one board for this process; release it, or exit."""

    def __init__(self, board_id: str, fd: int, path: Path):
        self.board_id = board_id
        self._fd: int | None = fd
        self._path = path

    @classmethod
    def acquire(cls, board_id: str, wait: float = 60.0, poll: float = 0.1, key: str | None = None,
                on_wait: Callable[[str], None] | None = None) -> "Lease":
        """Take the board, waiting up to `wait` seconds; BoardBusy naming the holder after that.

        `key` is what is locked: the board's port (a board is its serial endpoint), so two
        inventories that name one board differently still exclude each other. `on_wait`
        hears one line at once when the board is held: who holds it and how long we wait.
        """
        key = key or board_id
        path = _file_for(key)
        deadline = time.monotonic() + wait
        told = False
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() >= deadline:
                    raise BoardBusy(f"held by {holder_of(key) or Holder()}", board=board_id,
                                    hint="wait for that run to end, or pick another board") from None
                if on_wait is not None and not told:
                    on_wait(f"board {board_id!r} is held by {holder_of(key) or Holder()}; "
                            f"waiting up to {wait:.0f}s for it")
                    told = True
                time.sleep(poll)
                continue
            if _names(path, fd):
                break
            os.close(fd)  # its holder released it and removed the file meanwhile: lock the path anew
        _record(fd)
        return cls(board_id, fd, path)

    def release(self) -> None:
        if self._fd is not None:
            self._path.unlink(missing_ok=True)  # still locked: nobody takes the path's file in between
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "Lease":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def holder_of(key: str) -> Holder | None:
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
        return Holder.from_record(path.read_text())
    finally:
        os.close(fd)


def _names(path: Path, fd: int) -> bool:
    """The path still leads to this open file (not removed, nor created anew, since it was opened)."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _record(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, Holder.this_process().record().encode(), 0)
