"""A pytest plugin for the soak test: every test `HIL_SOAK_ROUNDS` times, and a resource report.

Loaded with `-p tests.support.soak_plugin` into a run of the behaviour suite; writes
what it measured to `HIL_SOAK_REPORT` (JSON) when the run is over: the process's
memory after each round, its open file descriptors after the first round and at
the end, the threads still running once the boards are closed, and how many tests
had each outcome (the soak runs without pytest's terminal reporter, which would
print them: it keeps every report of the run, pytest's memory, not the harness's).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import sys
import threading

import pytest

from esp_hil.pytestplugin.keys import RECORDER

ROUNDS = int(os.environ.get("HIL_SOAK_ROUNDS", "20"))
_measured: dict = {}
_round_ends: set[str] = set()  # the last test of each round
_LIBC = ctypes.CDLL(ctypes.util.find_library("c"))


def _rss_kib(config: pytest.Config) -> int:
    """Resident memory held: caches that give memory back on demand are emptied first.

    Python's unreachable cycles, glibc's free pages (it keeps them otherwise) and the
    results database's page cache (SQLite keeps up to 2 MB of the file's pages).
    """
    recorder = config.pluginmanager.get_plugin(RECORDER)
    if recorder is not None:
        recorder.store._conn().execute("PRAGMA shrink_memory")
    gc.collect()
    _LIBC.malloc_trim(0)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "hil_board_id" in metafunc.fixturenames:
        metafunc.parametrize("soak_round", range(ROUNDS), ids=[f"r{n}" for n in range(ROUNDS)])


@pytest.fixture
def soak_round() -> int:
    """Overridden by the parametrization above for board tests."""
    return 0


@pytest.fixture(autouse=True)
def _soak_round(request: pytest.FixtureRequest, soak_round: int):
    yield
    if request.node.nodeid in _round_ends:
        _measured.setdefault("rss_kib", {})[soak_round] = _rss_kib(request.config)
        _measured.setdefault("blocks", {})[soak_round] = sys.getallocatedblocks()  # after _rss_kib's gc
    if soak_round == 0:
        _measured["fds_first"] = len(os.listdir("/proc/self/fd"))


def _round(item: pytest.Item) -> int:
    return getattr(item, "callspec", None) and item.callspec.params.get("soak_round", 0) or 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Round by round: all tests of round 0, then round 1, ... (memory after round 0 is the base)."""
    items.sort(key=_round)
    _round_ends.update(item.nodeid for item, after in zip(items, items[1:] + [None])
                       if after is None or _round(after) != _round(item))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or not report.passed:
        outcomes = _measured.setdefault("outcomes", {})
        outcomes[report.outcome] = outcomes.get(report.outcome, 0) + 1


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    _measured.update(fds=len(os.listdir("/proc/self/fd")),
                     threads=[t.name for t in threading.enumerate() if t is not threading.main_thread()])
    with open(os.environ["HIL_SOAK_REPORT"], "w") as f:
        json.dump(_measured, f)
