"""The run's pool of boards: a busy board is not a lost one, and a lost board whose port comes back is used again."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from esp_hil import pool as poolmod
from esp_hil.inventory import Inventory
from esp_hil.pool import BoardPool, BoardUnavailable, Unavailable
from esp_hil.virtual import faults

HOLD = ("import sys, time; from esp_hil.lease import Lease; l = Lease.acquire('other', key=sys.argv[1]); "
        "print('held', flush=True); sys.stdin.read()")


@pytest.fixture(autouse=True)
def lease_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_LEASE_DIR", str(tmp_path / "leases"))


@pytest.fixture
def heard() -> list[tuple[float, str]]:
    return []


@pytest.fixture
def pool(spec, heard):
    start = time.monotonic()
    p = BoardPool(Inventory("test", [spec]), lease_wait=1.0,
                  say=lambda line: heard.append((time.monotonic() - start, line)))
    yield p
    p.close()


def test_a_held_board_is_busy_not_lost_and_is_used_once_free(pool, spec, heard):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, spec.url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(BoardUnavailable) as info:
            pool.acquire(spec.id)
        assert info.value.trouble.kind is Unavailable.BUSY and f"held by pid {holder.pid}" in str(info.value)
        assert len(heard) == 1 and heard[0][0] < 0.5  # said at once, not after the wait
        assert f"held by pid {holder.pid}" in heard[0][1] and "waiting up to 1s" in heard[0][1]
        assert pool.lost == {}
        start = time.monotonic()
        with pytest.raises(BoardUnavailable):
            pool.acquire(spec.id)  # its next test asks again, without waiting again
        assert time.monotonic() - start < 0.5 and len(heard) == 1
    finally:
        holder.communicate("")
    assert pool.acquire(spec.id).eval("1 + 1") == 2  # free now: its later tests run
    assert pool.unavailable == {}


def test_a_lost_board_whose_port_came_back_is_used_again_within_a_budget(pool, spec, vboard, monkeypatch):
    faults.inject(vboard, "vanish", 2)
    with pytest.raises(BoardUnavailable) as info:
        pool.acquire(spec.id)
    assert info.value.trouble.kind is Unavailable.LOST and spec.id in pool.lost
    time.sleep(2.5)
    assert pool.acquire(spec.id).eval("1 + 1") == 2
    assert pool.lost == {}
    pool.close()

    faults.inject(vboard, "vanish", 2)
    with pytest.raises(BoardUnavailable):
        pool.acquire(spec.id)
    monkeypatch.setattr(poolmod, "REVIVAL_BUDGET", 0.0)  # spent: the board stays lost, and is not tried
    time.sleep(2.5)
    with pytest.raises(BoardUnavailable):
        pool.acquire(spec.id)


HOLD_UNTIL = ("import sys, time, pathlib; from esp_hil.lease import Lease; l = Lease.acquire('other', key=sys.argv[1]); "
              "print('held', flush=True); go = pathlib.Path(sys.argv[2])\n"
              "while not go.exists(): time.sleep(0.05)\n"
              "l.release()")

WHOLE_RUN = '''
import os, time
from esp_hil.lease import holder_of

def test_a(board):
    pass

def test_b(board):
    pass

def test_the_other_run_lets_go():
    open(os.environ["HIL_TEST_GO"], "w").close()
    deadline = time.monotonic() + 10
    while holder_of(os.environ["HIL_TEST_URL"]) is not None and time.monotonic() < deadline:
        time.sleep(0.05)

def test_c(board):
    assert board.eval("1 + 1") == 2

def test_d(board):
    assert board.eval("2 + 2") == 4
'''


def test_a_run_finds_a_held_board_busy_then_runs_its_later_tests_once_free(pytester, spec, tmp_path, monkeypatch):
    """Issue 14: busy is said once with the holder, never recorded as lost, and the board is used once free."""
    from esp_hil.report import model
    from esp_hil.results import ResultsStore

    go, db = tmp_path / "go", tmp_path / "results.sqlite"
    monkeypatch.setenv("HIL_TEST_GO", str(go))
    monkeypatch.setenv("HIL_TEST_URL", spec.url)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_UNTIL, spec.url, str(go)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        pytester.makepyfile(test_run=WHOLE_RUN)
        result = pytester.runpytest_subprocess("--hil-port", spec.url, "--hil-chip", "esp32", "--hil-lease-wait=1",
                                               f"--hil-results={db}", "-p", "no:randomly")
    finally:
        holder.wait(timeout=30)
    result.assert_outcomes(passed=3, errors=2)
    lines = result.stdout.lines + result.stderr.lines
    busy = [line for line in lines if line.startswith("esp-hil: board 'bench' busy")]
    assert len(busy) == 1 and f"held by pid {holder.pid}" in busy[0]
    assert not any("lost" in line for line in lines)
    with ResultsStore(db, create=False) as store:
        report = model.build(store)
        outcomes = {r.test_id.split("::")[1]: r.outcome for r in store.results(store.run("latest").id)}
    assert report.lost == []
    assert outcomes == {"test_a[bench]": "error", "test_b[bench]": "error", "test_the_other_run_lets_go": "passed",
                        "test_c[bench]": "passed", "test_d[bench]": "passed"}
