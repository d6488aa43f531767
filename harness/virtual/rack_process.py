"""Run the virtual boards of an inventory in a process of their own, as a rack host would.

The pytest controller starts `hil virtual` once per run; the test processes (and
xdist workers) only ever see RFC 2217 URLs, exactly as with a real rack. The rack
process holds the read end of a pipe whose write end only this process holds:
however this process dies, the rack sees the pipe close, shuts down, and removes
this process's folder for it (`lifetime`, `leftovers`).

The other way round, a rack that could not start its boards exits, and one that dies
(SIGKILL, a segfault, the OOM killer) says nothing, and its parent does not reap it
at once: whoever waits for its boards, in any process, asks the rack's lock file. The
rack holds an exclusive lock on it from before it starts (taken for it, and
inherited) until the kernel closes its last descriptor, however it ends.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from esp_hil import inventory
from esp_hil.errors import HilError
from esp_hil.inventory import Inventory, to_toml
from esp_hil.virtual import leftovers
from esp_hil.virtual.source.build import Recipe

START_TIMEOUT = 60.0


class RackFiles:
    """A rack process's folder: its live boards, its log, its lock. All a waiter needs, in any process.

    An xdist controller starts the run's rack and its workers wait on these files
    (`esp_hil.pool`), so the boards boot while the workers start.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.inventory = folder / "live.toml"
        self.log = folder / "rack.log"
        self.lock = folder / "rack.lock"

    def wait(self, timeout: float = START_TIMEOUT) -> Inventory:
        """The live boards once the rack has written them; one line with the rack's last word if it cannot."""
        deadline = time.monotonic() + timeout
        while not self.inventory.exists():
            if not self.rack_alive():  # it failed or died: its log is complete, its last line says why
                said = self.log.read_text(errors="replace").strip().splitlines() if self.log.exists() else []
                last = said[-1] if said else "the rack process ended without a word"
                raise HilError(f"virtual boards did not start: {last}", hint="run `hil virtual` by hand to see why")
            if time.monotonic() > deadline:
                raise HilError(f"virtual boards did not start within {timeout:g} s",
                               hint="run `hil virtual` by hand to see why")
            time.sleep(0.05)
        return inventory.load(self.inventory)

    def hold_lock(self) -> int:
        """Lock the folder for a rack about to start; the descriptor is the rack's to inherit (`pass_fds`)."""
        fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def rack_alive(self) -> bool:
        """Whether the rack still holds its lock: the kernel lets go of it when the rack's last descriptor closes."""
        try:
            fd = os.open(self.lock, os.O_RDONLY)
        except FileNotFoundError:
            return False  # stopped and cleaned up, or never launched
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)


class RackProcess:
    """`hil virtual --inventory IN --inventory-out OUT` in the background."""

    def __init__(self, wanted: Inventory, source: Recipe | None = None):
        self.files = RackFiles(leftovers.owned_tempdir("rack"))
        self._src = source.args() if source else []  # boards built from a MicroPython tree
        self._source = self.files.folder / "selected.toml"
        self._source.write_text(to_toml(Inventory(wanted.source, [b for b in wanted.boards if b.virtual])))
        self._proc: subprocess.Popen | None = None
        self._lifeline: int | None = None  # the write end of the rack's parent pipe: never written, closed by our exit

    def start(self) -> Inventory:
        """Start the rack and wait for its boards."""
        self.launch()
        try:
            return self.files.wait()
        except HilError:
            self.stop()
            raise

    def launch(self) -> None:
        """Start the rack without waiting: `files.wait()`, here or in another process, waits for its boards."""
        reader, self._lifeline = os.pipe()
        lock = self.files.hold_lock()  # held by the rack alone once this process closes its copy
        try:
            with open(self.files.log, "wb") as log:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "esp_hil.cli", "virtual", "--inventory", str(self._source),
                     "--inventory-out", str(self.files.inventory), "--parent-fd", str(reader), *self._src],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, pass_fds=(reader, lock),
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
        finally:
            os.close(reader)
            os.close(lock)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
        for path in (self.files.inventory, self.files.log, self.files.lock, self._source):
            path.unlink(missing_ok=True)
        try:
            self.files.folder.rmdir()
        except OSError:
            pass
