"""Results are recorded as each test finishes: they match pytest, and survive a killed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from esp_hil.cli import main as cli_main
from esp_hil.results import Ending, ResultsStore

MIXED = '''
import pytest

def test_pass(board):
    assert board.eval("1") == 1

def test_fail(board):
    board.exec("print('secret-word hunter22')")
    assert board.eval("2") == 3

@pytest.mark.needs("dupterm")
def test_skip(board):
    pass

def test_host_only():
    pass
'''


def test_database_matches_what_pytest_reported(pytester, spec, tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_WIFI_PASSWORD", "hunter22")
    db = tmp_path / "results.sqlite"
    pytester.makepyfile(test_mixed=MIXED)
    result = pytester.runpytest_subprocess("--hil-port", spec.url, "--hil-chip", "esp32", "--hil-results", str(db),
                                           "--junitxml", str(tmp_path / "junit.xml"))
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    with ResultsStore(db, create=False) as store:
        run = store.run("latest")
        rows = {r.test_id.split("::")[1]: r for r in store.results(run.id)}
        boards = store.boards(run.id)
        transcript = store.transcript(rows["test_fail[bench]"])
    assert {k: r.outcome for k, r in rows.items()} == {
        "test_pass[bench]": "passed", "test_fail[bench]": "failed", "test_skip[bench]": "skipped",
        "test_host_only": "passed"}
    assert rows["test_fail[bench]"].board_id == "bench"
    assert "lacks dupterm" in rows["test_skip[bench]"].message
    assert [b.board_id for b in boards] == ["bench"] and boards[0].chip == "esp32"
    assert boards[0].firmware_version  # what the firmware reported, not the inventory
    assert "secret-word ***" in transcript and "hunter22" not in transcript
    assert run.ended is not None


SLOW = '''
import time, pytest

@pytest.mark.parametrize("n", range(20))
def test_slow(board, n):
    if n == 3:
        print("KILL-ME", flush=True)
    time.sleep(0.3)
'''


def _ctrl_c_heard() -> None:
    """A run started in the background of a shell inherits SIGINT ignored, and Python then never
    raises KeyboardInterrupt: the test sends Ctrl-C, so the run must hear it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _slow_run_under_way(pytester, spec, db) -> subprocess.Popen:
    """A run of SLOW, returned once its fourth test is running."""
    pytester.makepyfile(test_slow=SLOW)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-s", "-q", "--hil-port", spec.url,
                             "--hil-chip", "esp32", "--hil-results", str(db), "-p", "no:cacheprovider"],
                            cwd=pytester.path, stdout=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_heard)
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        if "KILL-ME" in line or time.monotonic() > deadline:
            break
    return proc


def test_a_killed_run_keeps_what_it_recorded(pytester, spec, tmp_path):
    db = tmp_path / "results.sqlite"
    proc = _slow_run_under_way(pytester, spec, db)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with ResultsStore(db, create=False) as store:
        run = store.run("latest")
        passed = [r for r in store.results(run.id) if r.outcome == "passed"]
    assert run.ended is None
    assert 3 <= len(passed) < 20


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_run_ended_by_ctrl_c_or_a_signal_is_recorded_as_interrupted(pytester, spec, tmp_path, signum):
    db = tmp_path / "results.sqlite"
    proc = _slow_run_under_way(pytester, spec, db)
    proc.send_signal(signum)
    proc.communicate(timeout=60)
    assert proc.returncode == (-signum if signum != signal.SIGINT else 2)  # dies of the signal it was sent
    with ResultsStore(db, create=False) as store:
        run = store.run("latest")
        assert len(store.results(run.id)) < 20
    assert run.ending is Ending.INTERRUPTED and not run.complete


def test_runs_that_run_no_test_record_nothing(pytester, spec, tmp_path, capsys):
    db = tmp_path / "results.sqlite"
    pytester.makepyfile(test_one="def test_one(board):\n    pass\n")
    common = ["--hil-port", spec.url, "--hil-chip", "esp32", "--hil-results", str(db)]
    assert pytester.runpytest_subprocess(*common).ret == 0
    with ResultsStore(db, create=False) as store:
        real = store.run("latest").id
    for extra in (["--help"], ["--help"], ["--collect-only"], ["--no-such-option"], ["-k", "nothing_matches"]):
        pytester.runpytest_subprocess(*common, *extra)
    with ResultsStore(db, create=False) as store:
        assert [r.id for r in store.runs()] == [real]
    capsys.readouterr()
    assert cli_main(["report", "--db", str(db), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["run"]["id"] == real
