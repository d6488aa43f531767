"""Soak: the behaviour suite 20 times over on virtual boards, and nothing left behind.

After the run: no process of ours alive (interpreters, rack processes), no temp
folders or control sockets, no listening port it opened; inside it, no thread left
once the boards are closed, no more file descriptors than after the first round
(the results database and pytest's own stay open), and memory after the last round
within MEMORY_BOUND_KIB of memory after the first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ROUNDS = 20
MEMORY_BOUND_KIB = 32 * 1024


def _listening_ports() -> set[str]:
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                ports.add(fields[1])
    return ports


def _our_processes() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"micropython" in cmd or b"harness.cli\x00virtual" in cmd:
                found.add(int(entry.name))
    return found


def test_suite_twenty_times_leaves_nothing_behind(tmp_path):
    temp = Path(tempfile.gettempdir())
    before = (_our_processes(), set(temp.glob("hil-*")), _listening_ports())
    report = tmp_path / "soak.json"
    env = {**os.environ, "HIL_SOAK_ROUNDS": str(ROUNDS), "HIL_SOAK_REPORT": str(report)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/hil", "-q", "-p", "tests.support.soak_plugin", "-p", "no:cacheprovider",
         "--hil-mode", "any", "--hil-results", str(tmp_path / "results.sqlite")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:]
    assert f"{10 * ROUNDS} passed" in done.stdout  # 10 socket tests run on a virtual board each round
    measured = json.loads(report.read_text())
    assert measured["threads"] == [], measured["threads"]
    assert measured["fds"] <= measured["fds_first"], f"file descriptors: {measured['fds_first']} after round 1, " \
                                                     f"{measured['fds']} at the end"
    growth = measured["rss_last_kib"] - measured["rss_first_kib"]
    assert growth < MEMORY_BOUND_KIB, f"memory grew {growth} KiB over {ROUNDS} rounds"
    assert _our_processes() - before[0] == set()
    assert set(temp.glob("hil-*")) - before[1] == set()
    assert _listening_ports() - before[2] == set()
