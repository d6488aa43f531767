"""`hil virtual`: serves boards, writes their inventory, and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import inventory
from harness.board import Board


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().split(")")[1].split()[1]) == pid:
                    found.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def test_serves_boards_and_cleans_up(tmp_path):
    out = tmp_path / "live.toml"
    before = set(Path(tempfile.gettempdir()).glob("hil-*"))
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "virtual", "--chip", "esp8266", "--count", "2",
                             "--inventory-out", str(out)], stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline().split() for _ in range(2)]
        assert [line[0] for line in lines] == ["virtual-esp8266-1", "virtual-esp8266-2"]
        assert all(line[1].startswith("rfc2217://127.0.0.1:") for line in lines)
        inv = inventory.load(out)
        assert [b.port for b in inv.boards] == [line[1] for line in lines]
        interpreters = _children(proc.pid)
        assert len(interpreters) == 2
        board = Board.open(inv.boards[1])
        assert board.eval("1 + 1") == 2
        board.close()
        left = set(Path(tempfile.gettempdir()).glob("hil-*")) - before
        assert len(left) == 3  # its workdir and a fault-control socket per board
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    time.sleep(0.2)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in interpreters)
    assert not out.exists()
    assert not any(p.exists() for p in left)


def test_no_unix_port_is_one_line(tmp_path):
    env = {**os.environ, "HIL_MICROPYTHON": str(tmp_path / "nothing")}
    done = subprocess.run([sys.executable, "-m", "harness.cli", "virtual"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "HIL_MICROPYTHON" in done.stderr and "not an executable" in done.stderr
