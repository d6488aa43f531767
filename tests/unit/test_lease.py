"""Leases: one holder per board across processes; a killed holder frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from esp_hil.errors import BoardBusy, HilError
from esp_hil.lease import Holder, Lease, holder_of

HOLD = "import sys, time; from esp_hil.lease import Lease; l = Lease.acquire(sys.argv[1]); print('held', flush=True); time.sleep(60)"


@pytest.fixture(autouse=True)
def lease_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_LEASE_DIR", str(tmp_path))


def _holder(board_id: str, env=None) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, board_id], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_run_waits_then_names_the_holder(tmp_path):
    proc = _holder("esp32-a", env={**os.environ})
    try:
        with pytest.raises(HilError) as info:
            Lease.acquire("esp32-a", wait=0.3)
        text = str(info.value)
        assert text.startswith("board 'esp32-a': held by pid ")
        assert str(proc.pid) in text and "\n" not in text
        assert holder_of("esp32-a").pid == proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_sigkilled_holder_releases_the_board():
    proc = _holder("esp32-b", env={**os.environ})
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Lease.acquire("esp32-b", wait=2):
        assert holder_of("esp32-b") is not None
    assert holder_of("esp32-b") is None


def test_waiting_run_gets_the_board_when_it_is_released():
    proc = _holder("esp32-c", env={**os.environ})
    start = time.monotonic()
    subprocess.Popen(["sh", "-c", f"sleep 0.5; kill {proc.pid}"])
    with Lease.acquire("esp32-c", wait=10):
        waited = time.monotonic() - start
    proc.wait()
    assert waited >= 0.4  # it really waited for the holder, then got it


def test_release_and_reacquire_in_one_process():
    lease = Lease.acquire("esp32-d", wait=0)
    lease.release()
    Lease.acquire("esp32-d", wait=0).release()


def test_a_released_lease_leaves_no_file(tmp_path):
    for _ in range(3):
        Lease.acquire("esp32-e", wait=0).release()
    assert list(tmp_path.iterdir()) == []


def test_waiting_says_at_once_who_holds_the_board_and_how_long_we_wait():
    proc = _holder("esp32-f", env={**os.environ})
    heard: list[tuple[float, str]] = []
    start = time.monotonic()
    try:
        with pytest.raises(BoardBusy):
            Lease.acquire("esp32-f", wait=1.0, on_wait=lambda line: heard.append((time.monotonic() - start, line)))
    finally:
        proc.kill()
        proc.wait()
    assert len(heard) == 1 and heard[0][0] < 0.5
    assert f"held by pid {proc.pid}" in heard[0][1] and "waiting up to 1s" in heard[0][1]


def test_a_waiter_on_a_removed_file_does_not_share_the_board():
    """Released (its file removed) while another waits on that file: the waiter locks the path anew."""
    first = Lease.acquire("esp32-g", wait=0)
    got: list[Lease] = []
    waiter = threading.Thread(target=lambda: got.append(Lease.acquire("esp32-g", wait=10, poll=0.05)))
    waiter.start()
    time.sleep(0.2)  # the waiter has opened the file and polls its lock
    first.release()
    waiter.join()
    try:
        with pytest.raises(BoardBusy):
            Lease.acquire("esp32-g", wait=0)
    finally:
        got[0].release()


def test_the_holder_is_one_record_said_two_ways():
    """One writer, one reader: the wait message, the busy error, `hil boards` and `hil labgrid show` agree."""
    me = Holder.this_process()
    again = Holder.from_record(me.record())
    assert again == me and str(again).startswith(f"pid {os.getpid()} on {me.host} since ")
    assert again.short == f"pid {os.getpid()}@{me.host}"
    for unreadable in ("", "{", "[]", '{"pid": 7, "colour": "red"}'):
        said = str(Holder.from_record(unreadable))
        assert said == "another process" or said.startswith("pid 7 on")
