"""Run the virtual boards of an inventory in a process of their own, as a rack host would.

The pytest controller starts `hil virtual` once per run; the test processes (and
xdist workers) only ever see RFC 2217 URLs, exactly as with a real rack. The rack
process holds the read end of a pipe whose write end only this process holds:
however this process dies, the rack sees the pipe close, shuts down, and removes
this process's folder for it (`lifetime`, `leftovers`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from esp_hil import inventory
from esp_hil.errors import HilError
from esp_hil.inventory import Inventory, to_toml
from esp_hil.virtual import leftovers
from esp_hil.virtual.source.build import Recipe

START_TIMEOUT = 60.0


class RackProcess:
    """`hil virtual --inventory IN --inventory-out OUT` in the background."""

    def __init__(self, wanted: Inventory, source: Recipe | None = None):
        self._dir = leftovers.owned_tempdir("rack")
        self._src = source.args() if source else []  # boards built from a MicroPython tree
        self._source = self._dir / "selected.toml"
        self._source.write_text(to_toml(Inventory(wanted.source, [b for b in wanted.boards if b.virtual])))
        self.inventory_path = self._dir / "live.toml"
        self._log = self._dir / "rack.log"
        self._proc: subprocess.Popen | None = None
        self._lifeline: int | None = None  # the write end of the rack's parent pipe: never written, closed by our exit

    def start(self) -> Inventory:
        reader, self._lifeline = os.pipe()
        try:
            with open(self._log, "wb") as log:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "esp_hil.cli", "virtual", "--inventory", str(self._source),
                     "--inventory-out", str(self.inventory_path), "--parent-fd", str(reader), *self._src],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, pass_fds=(reader,),
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
        finally:
            os.close(reader)
        deadline = time.monotonic() + START_TIMEOUT
        while not self.inventory_path.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                reason = self._log.read_text(errors="replace").strip().splitlines()
                self.stop()
                raise HilError(f"virtual boards did not start: {reason[-1] if reason else 'no output'}",
                               hint="run `hil virtual` by hand to see why")
            time.sleep(0.05)
        return inventory.load(self.inventory_path)

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
        for path in (self.inventory_path, self._log, self._source):
            path.unlink(missing_ok=True)
        try:
            self._dir.rmdir()
        except OSError:
            pass
