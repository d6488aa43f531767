"""Soak: the behaviour suite 20 times over on virtual boards, and nothing left behind.

After the run: no process of the run alive (interpreters, rack processes: found by
a mark in their environment, however reparented), so no listening port it opened;
no temp folders or control sockets (the run has a temp folder of its own); inside
it, no thread left once the boards are closed, no more file descriptors than after
the first round (the results database and pytest's own stay open), and memory after
the last round within MEMORY_BOUND_KIB of memory after the first. Only the run's own
are counted: other runs may share the host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.support import runs

ROOT = Path(__file__).resolve().parent.parent.parent
ROUNDS = 20
MEMORY_BOUND_KIB = 32 * 1024


def test_suite_twenty_times_leaves_nothing_behind(tmp_path):
    mark = uuid.uuid4().hex
    report = tmp_path / "soak.json"
    with runs.private_tmp() as temp:
        env = {**os.environ, "HIL_SOAK_ROUNDS": str(ROUNDS), "HIL_SOAK_REPORT": str(report), "TMPDIR": str(temp),
               runs.RUN_MARK: mark}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/hil", "-q", "-p", "tests.support.soak_plugin",
             "-p", "no:cacheprovider", "--hil-mode", "any", "--hil-results", str(tmp_path / "results.sqlite")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        left = set(temp.glob("hil-*"))
    assert done.returncode == 0, done.stdout[-3000:]
    assert f"{10 * ROUNDS} passed" in done.stdout  # 10 socket tests run on a virtual board each round
    measured = json.loads(report.read_text())
    assert measured["threads"] == [], measured["threads"]
    assert measured["fds"] <= measured["fds_first"], f"file descriptors: {measured['fds_first']} after round 1, " \
                                                     f"{measured['fds']} at the end"
    growth = measured["rss_last_kib"] - measured["rss_first_kib"]
    assert growth < MEMORY_BOUND_KIB, f"memory grew {growth} KiB over {ROUNDS} rounds"
    assert runs.marked(mark) == set()
    assert left == set()
