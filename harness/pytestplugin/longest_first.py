"""Any mode under xdist: the longest tests first, by the durations the results store has seen.

xdist's load scheduling hands tests out in collection order, so long tests collected
late run at the end on a few workers while the others have nothing left: the run
lasts as long as its most loaded worker (four virtual boards ran a ten-round suite
about 1.4 s past their even share, issue 17). Longest first (LPT), the short tests
fill in at the end. A test the store has not seen goes first, as it may be long; a
run on a new store keeps pytest's order.

That needs the tests handed out one at a time as workers free up: xdist's first
hand-out is otherwise a run of a quarter of each worker's share, and with the long
tests in front, the first worker got all of them (17 s of a 25 s run where 15 s was
the even share). So an any-mode run sets `--maxschedchunk 1` unless it was given.

The controller reads the store once and hands every worker the same durations, so
every worker collects the same order (xdist insists on it), whatever another run
writes to the store meanwhile. Matrix mode is left alone: there a board's tests go
to one worker together (`board_scheduler`), and their order does not change when
the run ends.
"""

from __future__ import annotations

import math

import pytest

from esp_hil.pytestplugin.keys import RECORDER
from esp_hil.spread import Spread

DURATIONS = "hil_durations"  # the workerinput key
_READ = pytest.StashKey[dict]()


def pytest_configure(config: pytest.Config) -> None:
    """Controller of an any-mode run: workers take tests one at a time (xdist keeps two queued on each)."""
    if config.getoption("--hil-mode") is Spread.ANY and getattr(config.option, "maxschedchunk", 0) is None:
        config.option.maxschedchunk = 1


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """Controller: the store's durations, read once, to each worker of an any-mode run."""
    config = node.config
    recorder = config.pluginmanager.get_plugin(RECORDER)
    if config.getoption("--hil-mode") is not Spread.ANY or recorder is None:
        return
    if _READ not in config.stash:
        config.stash[_READ] = recorder.store.typical_durations()
    node.workerinput[DURATIONS] = config.stash[_READ]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Worker: longest first; stable, so equal (and unknown) tests keep their order."""
    durations = getattr(config, "workerinput", {}).get(DURATIONS)
    if durations:
        items.sort(key=lambda item: -durations.get(item.nodeid.split("[", 1)[0], math.inf))
