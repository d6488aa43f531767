"""Which board a node id runs on, how boards are shared out in any mode, and which tests go first."""

from __future__ import annotations

from types import SimpleNamespace

from esp_hil.pytestplugin import longest_first
from esp_hil.pytestplugin.scheduling import board_of, share
from esp_hil.results import ResultsStore

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


def test_the_store_knows_each_tests_mean_duration_whatever_its_parameters(tmp_path):
    with ResultsStore(tmp_path / "r.sqlite") as store:
        run_id = store.start_run(suite="tests/hil", command="pytest", git_rev=None, host="bench")
        for test_id, duration in [("t.py::test_send[esp32-a]", 1.0), ("t.py::test_send[esp32-b]", 2.0),
                                  ("t.py::test_peek[any-board-r3]", 0.1)]:
            store.record(run_id, test_id=test_id, board_id=None, outcome="passed", duration=duration)
        assert store.typical_durations() == {"t.py::test_send": 1.5, "t.py::test_peek": 0.1}


def test_a_worker_collects_the_longest_tests_first_and_new_ones_before_them():
    config = SimpleNamespace(workerinput={longest_first.DURATIONS: {"t.py::short": 0.1, "t.py::long": 2.0}})
    ids = ["t.py::short[any-board]", "t.py::long[any-board-r0]", "t.py::new[any-board]", "t.py::long[any-board-r1]"]
    items = [SimpleNamespace(nodeid=i) for i in ids]
    longest_first.pytest_collection_modifyitems(config, items)
    assert [i.nodeid for i in items] == [
        "t.py::new[any-board]", "t.py::long[any-board-r0]", "t.py::long[any-board-r1]", "t.py::short[any-board]"]


def test_a_run_without_xdist_keeps_pytests_order():
    items = [SimpleNamespace(nodeid=i) for i in ("t.py::b", "t.py::a")]
    longest_first.pytest_collection_modifyitems(SimpleNamespace(), items)
    assert [i.nodeid for i in items] == ["t.py::b", "t.py::a"]
