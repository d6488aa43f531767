"""A pytest plugin for the soak test: every test `HIL_SOAK_ROUNDS` times, and a resource report.

Loaded with `-p tests.support.soak_plugin` into a run of the behaviour suite; writes
what it measured to `HIL_SOAK_REPORT` (JSON) when the run is over: the process's
memory and open file descriptors after the first round and at the end, and the
threads still running once the boards are closed.
"""

from __future__ import annotations

import json
import os
import threading

import pytest

ROUNDS = int(os.environ.get("HIL_SOAK_ROUNDS", "20"))
_measured: dict = {}


def _rss_kib() -> int:
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
def _soak_round(soak_round: int):
    yield
    if soak_round == 0:
        _measured["rss_first_kib"] = _rss_kib()  # the last test of round 0 sets the base
        _measured["fds_first"] = len(os.listdir("/proc/self/fd"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Round by round: all tests of round 0, then round 1, ... (memory after round 0 is the base)."""
    items.sort(key=lambda item: getattr(item, "callspec", None) and item.callspec.params.get("soak_round", 0) or 0)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    _measured.update(rss_last_kib=_rss_kib(), fds=len(os.listdir("/proc/self/fd")),
                     threads=[t.name for t in threading.enumerate() if t is not threading.main_thread()])
    with open(os.environ["HIL_SOAK_REPORT"], "w") as f:
        json.dump(_measured, f)
