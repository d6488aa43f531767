"""What one run owns on a host where other runs go on: its processes, listening sockets, temp files.

System tests that check "nothing left behind" count only their own run's, never
every `micropython` process, port or `hil-*` file of the machine: another run (or
a developer building the unix port) may be using the same host.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from esp_hil.virtual.leftovers import owner, process_start

RUN_MARK = "HIL_TEST_RUN"  # set in a run's environment: every process it starts inherits it


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def children(pid: int) -> set[int]:
    return {p for p in _pids() if _ppid(p) == pid}


def descendants(pid: int) -> dict[int, int]:
    """`pid` and every process below it, by parent chain: pid -> start time (tells a reused pid)."""
    found, todo = {}, [pid]
    while todo:
        current = todo.pop()
        start = process_start(current)
        if start is not None:
            found[current] = start
            todo += children(current)
    return found


def alive(processes: dict[int, int]) -> dict[int, int]:
    """Those of `processes` (pid -> start time) still running (zombies count as gone)."""
    return {pid: start for pid, start in processes.items() if start is not None and process_start(pid) == start}


def kill(processes: dict[int, int]) -> None:
    """SIGKILL those of `processes` still running: a failed check must not leave them behind."""
    for pid in alive(processes):
        os.kill(pid, signal.SIGKILL)


def marked(mark: str) -> set[int]:
    """The running processes whose environment carries RUN_MARK=mark (found even once reparented)."""
    wanted = f"{RUN_MARK}={mark}".encode()
    found = set()
    for pid in _pids():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environ and process_start(pid) is not None:
            found.add(pid)
    return found


def listening(pids) -> set[int]:
    """The inodes of the listening TCP sockets these processes hold (a port number can be reused, an inode not)."""
    held = set()
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        held |= {int(link[8:-1]) for link in links if link.startswith("socket:[")}
    return held & listening_sockets()


def listening_sockets() -> set[int]:
    """The inodes of every listening TCP socket on the host."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                found.add(int(fields[9]))
    return found


def owned_by(pids, folder: Path | None = None) -> set[Path]:
    """The `hil-*` temp files and folders whose name records one of `pids` as owner."""
    found = set()
    for entry in Path(folder or tempfile.gettempdir()).glob("hil-*"):
        recorded = owner(entry)
        if recorded is not None and recorded[0] in pids:
            found.add(entry)
    return found


@contextmanager
def private_tmp() -> Iterator[Path]:
    """A temp folder for one run (TMPDIR): its `hil-*` files are then exactly that run's.

    Short, under the system temp folder: Unix socket paths must stay under 108 bytes.
    """
    folder = Path(tempfile.mkdtemp(prefix="hil-t", dir=tempfile.gettempdir()))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def wait_until(done: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
