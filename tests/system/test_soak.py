"""Soak: the behaviour suite 20 times over on virtual boards, and nothing left behind.

After the run: no process of the run alive (interpreters, rack processes: found by
a mark in their environment, however reparented), so no listening port it opened;
no temp folders or control sockets (the run has a temp folder of its own); inside
it, no thread left once the boards are closed, no more file descriptors than after
the first round (the results database and pytest's own stay open), and memory flat:
it grows less than GROWTH_PER_ROUND_KIB a round (transcripts stream to disk; a rack
runs all night), and Python's live objects grow by fewer than BLOCKS_PER_TEST a test.
Measured from the second round on: the first ones warm up (imports, caches, and a
one-off 6 MB when the send test first fills a socket buffer in a thread's malloc arena).

The two measures see different leaks. Live objects (`sys.getallocatedblocks()`) see a
Python leak whatever the allocator does; pytest's own share is about 3 a test (each
item keeps what it works out as it runs). Resident memory sees leaks below Python too,
but also where pymalloc puts the same live objects: in the free room of pools an
earlier import left, or in new 4 KiB pages. The same suite grew 16.7 KiB a round in a
process that had imported esptool at start-up and 22 to 24 KiB once it no longer did
(issue 17), with the same ~96 live objects a round; the bound allows for that.

Measured without pytest's terminal reporter and log capture: they keep every report
and each test's log records for the end of the run (some 2 KiB a test), which is
pytest's memory, not the harness's.
Only the run's own are counted: other runs may share the host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support import runs

ROOT = Path(__file__).resolve().parent.parent.parent
ROUNDS = 20
GROWTH_PER_ROUND_KIB = 32
BLOCKS_PER_TEST = 8


@pytest.mark.long
def test_suite_twenty_times_leaves_nothing_behind(tmp_path):
    mark = uuid.uuid4().hex
    report = tmp_path / "soak.json"
    with runs.private_tmp() as temp:
        env = {**os.environ, "HIL_SOAK_ROUNDS": str(ROUNDS), "HIL_SOAK_REPORT": str(report), "TMPDIR": str(temp),
               runs.RUN_MARK: mark}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/hil", "-p", "tests.support.soak_plugin",
             "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:logging", "--hil-mode", "any", "--hil-results", str(tmp_path / "results.sqlite")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        left = set(temp.glob("hil-*"))
    measured = json.loads(report.read_text())
    assert done.returncode == 0, (measured.get("outcomes"), done.stdout[-3000:], done.stderr[-3000:])
    assert measured["outcomes"]["passed"] % ROUNDS == 0, measured["outcomes"]  # every round ran the suite
    assert measured["threads"] == [], measured["threads"]
    assert measured["fds"] <= measured["fds_first"], f"file descriptors: {measured['fds_first']} after round 1, " \
                                                     f"{measured['fds']} at the end"
    rss = [measured["rss_kib"][str(n)] for n in range(ROUNDS)]
    per_round = (rss[-1] - rss[1]) / (ROUNDS - 2)
    print(f"RSS after each round (KiB): {rss}; growth {per_round:.1f} KiB a round from round 2 to {ROUNDS}")
    assert per_round < GROWTH_PER_ROUND_KIB, f"memory grew {per_round:.1f} KiB a round over {ROUNDS} rounds: {rss}"
    blocks = [measured["blocks"][str(n)] for n in range(ROUNDS)]
    per_test = (blocks[-1] - blocks[1]) / (ROUNDS - 2) / (sum(measured["outcomes"].values()) / ROUNDS)
    assert per_test < BLOCKS_PER_TEST, f"Python objects grew {per_test:.1f} a test: {blocks}"
    assert runs.marked(mark) == set()
    assert left == set()
