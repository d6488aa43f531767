"""Which board a node id runs on, and how boards are shared out in any mode."""

from __future__ import annotations

from esp_hil.pytestplugin.scheduling import board_of, share

IDS = ["esp32-a", "esp32", "esp8266-b"]


def test_board_of_plain_and_combined_params():
    assert board_of("t.py::test_x[esp32-a]", IDS) == "esp32-a"
    assert board_of("t.py::test_x[esp32]", IDS) == "esp32"
    assert board_of("t.py::test_x[ReadEOF-dupterm-esp8266-b]", IDS) == "esp8266-b"
    assert board_of("t.py::test_x[esp32-a-3]", IDS) == "esp32-a"
    assert board_of("t.py::test_x", IDS) is None
    assert board_of("t.py::test_x[other]", IDS) is None


def test_share_round_robin():
    assert share(["a", "b", "c"], 2, 0) == ["a", "c"]
    assert share(["a", "b", "c"], 2, 1) == ["b"]
    assert share(["a"], 3, 2) == []
