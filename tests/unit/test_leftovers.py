"""Sweeping leftovers: only what names an owner that provably no longer runs."""

from __future__ import annotations

import os
import subprocess
import time

from esp_hil.virtual import leftovers
from esp_hil.virtual.leftovers import owner, owner_tag, process_start, sweep


def _ended(argv: list[str], reap: bool) -> tuple[subprocess.Popen, int]:
    """A process that ran and was killed (a zombie unless reaped), and when it started."""
    proc = subprocess.Popen(argv)
    start = process_start(proc.pid)
    proc.kill()
    if reap:
        proc.wait()
    while process_start(proc.pid) is not None:
        time.sleep(0.01)
    return proc, start


def test_a_temp_name_records_this_process_and_its_start(tmp_path, monkeypatch):
    monkeypatch.setattr(leftovers.tempfile, "tempdir", str(tmp_path))
    folder = leftovers.owned_tempdir("virtual")
    pid, start, _ = owner(folder)
    assert folder.parent == tmp_path and folder.name.startswith("hil-virtual-")
    assert (pid, start) == (os.getpid(), process_start(os.getpid()))


def test_sweep_removes_only_what_a_gone_owner_left(tmp_path):
    ns = int(owner_tag().rsplit(".", 1)[1])
    me, my_start = os.getpid(), process_start(os.getpid())
    done, done_start = _ended(["sleep", "30"], reap=True)
    zombie, zombie_start = _ended(["sleep", "30"], reap=False)
    try:
        gone = {
            f"hil-virtual-{done.pid}.{done_start}.{ns}-a",  # its process exited
            f"hil-rack-{me}.{my_start + 1}.{ns}-b",  # our pid, but another process's start: the pid was reused
            f"hil-fault-{zombie.pid}.{zombie_start}.{ns}-43337.ctl",  # dead, not yet reaped
        }
        kept = {
            f"hil-virtual-{me}.{my_start}.{ns}-c",  # we run
            f"hil-virtual-{done.pid}.{done_start}.{ns + 1}-d",  # another pid namespace: cannot tell
            "hil-virtual-x2ddb46w",  # names no owner (an older run's)
            "hil-fault-43337.ctl",
        }
        for name in gone | kept:
            (tmp_path / name).mkdir() if not name.endswith(".ctl") else (tmp_path / name).touch()
        (tmp_path / f"hil-virtual-{done.pid}.{done_start}.{ns}-a" / "flash.bin").write_bytes(b"\xff")
        assert {p.name for p in sweep(tmp_path)} == gone
        assert {p.name for p in tmp_path.iterdir()} == kept
    finally:
        zombie.wait()
