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
