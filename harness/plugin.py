"""The pytest plugin: options, the run's boards, the `needs` marker, transcripts in reports.

Fixtures live in `fixtures/` and are thin: they compose what this module sets up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import inventory
from harness.errors import HilError
from harness.inventory import Inventory
from harness.pool import BoardPool

pytest_plugins = ["fixtures.boards", "fixtures.peers"]

POOL_KEY = pytest.StashKey[BoardPool]()
TRANSCRIPT_KEY = pytest.StashKey[tuple]()
_BOARD_FIXTURES = ("board", "net_board")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("esp-hil", "esp-hil: MicroPython boards in the loop")
    group.addoption("--hil-boards", metavar="FILE", help="inventory TOML (default: boards/virtual.toml, virtual boards)")
    group.addoption("--hil-board", metavar="ID", action="append", default=[],
                    help="run on this board of the inventory (repeatable; default: every board)")
    group.addoption("--hil-port", metavar="URL", help="a bench board without an inventory: its pyserial URL or by-id path")
    group.addoption("--hil-chip", metavar="CHIP", help="the chip of the --hil-port board (esp32, esp8266, ...)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*capabilities): skip on a board that lacks one of these capabilities")
    try:
        inv = _run_inventory(config)
    except HilError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[POOL_KEY] = BoardPool(inv)


def pytest_unconfigure(config: pytest.Config) -> None:
    pool = config.stash.get(POOL_KEY, None)
    if pool is not None:
        pool.close()


def _run_inventory(config: pytest.Config) -> Inventory:
    """The boards of this run: a bench port, or an inventory file (virtual by default)."""
    port, chip = config.getoption("--hil-port"), config.getoption("--hil-chip")
    if port or chip:
        if not (port and chip):
            raise HilError("--hil-port and --hil-chip go together",
                           hint="give both, e.g. --hil-port /dev/ttyUSB0 --hil-chip esp32")
        return inventory.bench(port, chip)
    return _select(config, inventory.load(_inventory_file(config)))


def _inventory_file(config: pytest.Config) -> Path:
    given = config.getoption("--hil-boards")
    if given:
        return Path(given)
    local = config.rootpath / "boards" / "virtual.toml"
    return local if local.is_file() else inventory.DEFAULT_INVENTORY


def _select(config: pytest.Config, inv: Inventory) -> Inventory:
    wanted = config.getoption("--hil-board")
    if not wanted:
        return inv
    return Inventory(source=inv.source, boards=[inv.get(board_id) for board_id in wanted])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every board test runs once on each board of the run: the regression matrix."""
    if not any(name in metafunc.fixturenames for name in _BOARD_FIXTURES):
        return
    pool = metafunc.config.stash[POOL_KEY]
    ids = [b.id for b in pool.inventory.boards]
    metafunc.parametrize("hil_board_id", ids, ids=ids)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    attached = item.stash.get(TRANSCRIPT_KEY, None)
    if attached and report.failed:
        board, mark = attached
        report.sections.append((f"board {board.id} transcript", board.transcript.render(since=mark)))
