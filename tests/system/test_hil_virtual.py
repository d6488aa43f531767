"""`hil virtual`: serves boards, writes their inventory, and leaves nothing behind.

"Nothing" is counted among this rack's own (its children, the temp files it owns):
another run may be using the same host.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from esp_hil import inventory
from esp_hil.board import Board
from tests.support import runs


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_serves_boards_and_cleans_up(tmp_path, signum):
    out = tmp_path / "live.toml"
    proc = subprocess.Popen([sys.executable, "-m", "esp_hil.cli", "virtual", "--chip", "esp8266", "--count", "2",
                             "--inventory-out", str(out)], stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline().split() for _ in range(2)]
        assert [line[0] for line in lines] == ["virtual-esp8266-1", "virtual-esp8266-2"]
        assert all(line[1].startswith("rfc2217://127.0.0.1:") for line in lines)
        inv = inventory.load(out)
        assert [b.port for b in inv.boards] == [line[1] for line in lines]
        interpreters = runs.descendants(proc.pid)
        del interpreters[proc.pid]
        assert len(interpreters) == 2
        board = Board.open(inv.boards[1])
        assert board.eval("1 + 1") == 2
        board.close()
        left = runs.owned_by({proc.pid})
        assert len(left) == 3  # its workdir and a fault-control socket per board
    finally:
        proc.send_signal(signum)
        assert proc.wait(timeout=15) == 0
    assert runs.wait_until(lambda: not runs.alive(interpreters), timeout=2)
    assert not out.exists()
    assert not any(p.exists() for p in left)


def test_no_unix_port_is_one_line(tmp_path):
    env = {**os.environ, "HIL_MICROPYTHON": str(tmp_path / "nothing")}
    done = subprocess.run([sys.executable, "-m", "esp_hil.cli", "virtual"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "HIL_MICROPYTHON" in done.stderr and "not an executable" in done.stderr
