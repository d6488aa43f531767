"""The pytest plugin: options, the run's boards, the `needs` marker, the board's facts on each report.

The other modules of this package are loaded as plugins by name (`pytest_plugins`),
never imported here; they and the fixtures (`fixtures/`, thin compositions of what
this module sets up) share only `keys` and `reports`. Imports run one way: from this
package down to the board session.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from esp_hil import inventory, places, recoveries
from esp_hil.errors import BoardReset, HilError
from esp_hil.inventory import Inventory, Network
from esp_hil.pool import BoardPool, FlashPolicy
from esp_hil.pytestplugin.keys import (BOARD_KEY, BOARD_PROP, INFO_PROP, POOL_KEY, RACK_KEY, RECOVERY_KEY,
                                       RECOVERY_PROP, TRANSCRIPT_KEY)
from esp_hil.pytestplugin.notices import Notices
from esp_hil.pytestplugin.reports import attach_transcript, outcome
from esp_hil.pytestplugin.scheduling import share
from esp_hil.spread import ANY_ID, Spread
from esp_hil.virtual import radio
from esp_hil.virtual.source.build import add_options as build_options
from esp_hil.virtual.source.build import recipe_from

pytest_plugins = [f"esp_hil.pytestplugin.{name}" for name in (
    "clean_reports", "recording", "summary", "upstream", "longest_first", "fixtures.boards", "fixtures.peers",
    "fixtures.webrepl")]
_BOARD_FIXTURES = ("board", "net_board")
# pyserial 3.5's RFC 2217 client uses threading's old names: not the user's to fix, wherever esp-hil runs
_PYSERIAL_WARNINGS = ("ignore:setDaemon\\(\\) is deprecated:DeprecationWarning:serial.rfc2217",
                      "ignore:setName\\(\\) is deprecated:DeprecationWarning:serial.rfc2217")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("esp-hil", "esp-hil: MicroPython boards in the loop")
    group.addoption("--hil-boards", metavar="FILE", help="inventory TOML (default: boards/virtual.toml, virtual boards)")
    group.addoption("--hil-board", metavar="ID", action="append", default=[],
                    help="run on this board of the inventory (repeatable; default: every board)")
    group.addoption("--hil-port", metavar="URL", help="a bench board without an inventory: its pyserial URL or by-id path")
    group.addoption("--hil-chip", metavar="CHIP",
                    help="with --hil-port: that board's chip; otherwise: run on the inventory's boards of this chip")
    group.addoption("--hil-board-tag", metavar="TAG", action="append", default=[],
                    help="run on the boards carrying this tag (repeatable: all of them)")
    group.addoption("--hil-firmware", metavar="NAME", help="flash this image of firmware/manifest.toml onto each board first")
    group.addoption("--hil-flash", type=FlashPolicy, choices=tuple(FlashPolicy), default=FlashPolicy.AUTO,
                    help="with --hil-firmware: auto skips boards that already hold it (flash MD5); always rewrites; "
                         "never leaves them as they are (default: %(default)s)")
    group.addoption("--hil-lease-wait", metavar="SECONDS", type=float, default=60.0,
                    help="how long a board's first test waits for a board another run holds (default: %(default)s); "
                         "its later tests ask again without waiting")
    group.addoption("--hil-mode", type=Spread, choices=tuple(Spread), default=Spread.MATRIX,
                    help="matrix: each board test on every selected board (default); any: once, on any free board")
    build_options(group.addoption, "--hil-")


def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before pytest_configure: pytest fixes the session's warning filters as configuring starts."""
    for line in _PYSERIAL_WARNINGS:
        early_config.addinivalue_line("filterwarnings", line)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*capabilities): skip on a board that lacks one of these capabilities")
    if config.getoption("help"):
        return
    try:
        inv = _run_inventory(config)
        firmware = _firmware(config)
        source = _source_build(config, inv)
    except HilError as exc:
        raise pytest.UsageError(str(exc)) from None
    if source is not None or any(b.virtual and b.network == Network.WIFI for b in inv.boards):
        radio.supply_defaults()  # boards built from source join their rack's access point, whatever the lab's
    workerinput = getattr(config, "workerinput", {})
    notices = Notices(config)
    config.pluginmanager.register(notices, "hil-notices")
    pool = config.stash[POOL_KEY] = BoardPool(
        inv, lease_wait=config.getoption("--hil-lease-wait"), preferred=workerinput.get("hil_boards"),
        firmware=firmware, flash_mode=config.getoption("--hil-flash"), source=source, rack=workerinput.get("hil_rack"),
        say=notices.say, steps=notices.say if config.get_verbosity() > 0 else None)
    if _any_mode_controller(config):
        config.stash[RACK_KEY] = pool.launch_rack()  # the boards boot while xdist starts the workers


def pytest_sessionstart(session: pytest.Session) -> None:
    """With --hil-firmware, flash every board of a single-process run at once, before its tests.

    Under xdist each worker flashes the boards it drives, so they flash side by side too.
    """
    config = session.config
    pool = config.stash.get(POOL_KEY, None)
    if pool is None or pool.firmware is None or config.getoption("--hil-flash") is FlashPolicy.NEVER:
        return
    if config.getoption("--hil-mode") is not Spread.MATRIX:
        return  # any mode uses one board: it is flashed when first used
    if hasattr(config, "workerinput") or config.getoption("dist", "no") != "no":
        return
    pool.prepare([b.id for b in pool.inventory.boards])


def pytest_unconfigure(config: pytest.Config) -> None:
    pool = config.stash.get(POOL_KEY, None)
    if pool is not None:
        pool.close()


def _run_inventory(config: pytest.Config) -> Inventory:
    """The boards of this run: a bench port, or an inventory file (virtual by default)."""
    port, chip = config.getoption("--hil-port"), config.getoption("--hil-chip")
    if port:
        if not chip:
            raise HilError("--hil-port needs --hil-chip", hint="give both, e.g. --hil-port /dev/ttyUSB0 --hil-chip esp32")
        return inventory.bench(port, chip)
    return _select(config, inventory.load(_inventory_file(config)))


def _source_build(config: pytest.Config, inv: Inventory):
    """With --hil-micropython-src, build the boards' firmware now, once, where its progress shows.

    Each rack process then finds the build in the cache; a compiler error stops the
    run here with one line, before any test.
    """
    recipe = recipe_from(config.getoption("--hil-micropython-src"), config.getoption("--hil-micropython-revert"),
                         config.getoption("--hil-micropython-sanitize"))
    if recipe is None or hasattr(config, "workerinput") or not any(b.unstarted for b in inv.boards):
        return recipe
    from esp_hil.virtual.source.build import build

    out = sys.__stderr__
    firmware = build(recipe, progress=lambda line: print(line, file=out, flush=True))
    print(f"esp-hil: virtual boards run {firmware.description}", file=out, flush=True)
    return recipe


def _firmware(config: pytest.Config):
    """The run's image, checked against the catalog before any board is touched."""
    name = config.getoption("--hil-firmware")
    if not name:
        return None
    from esp_hil.firmware import Catalog

    return Catalog(places.manifest(config.invocation_params.dir)).checked(name)


def _inventory_file(config: pytest.Config) -> Path:
    given = config.getoption("--hil-boards")
    if given:
        return Path(given)
    return places.rack(config.invocation_params.dir)


def _select(config: pytest.Config, inv: Inventory) -> Inventory:
    """The boards named, or carrying every tag and the chip asked for; none left is an error."""
    wanted, tags, chip = config.getoption("--hil-board"), config.getoption("--hil-board-tag"), config.getoption("--hil-chip")
    boards = [inv.get(board_id) for board_id in wanted] if wanted else list(inv.boards)
    boards = [b for b in boards if set(tags) <= set(b.tags) and (not chip or b.chip == chip)]
    if not boards:
        asked = ", ".join([*(f"tag {t}" for t in tags), *([f"chip {chip}"] if chip else [])])
        raise HilError(f"no board of {inv.source} matches {asked}", hint="see `hil boards --boards FILE` for tags and chips")
    return Inventory(source=inv.source, boards=boards)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every board test runs once on each board of the run: the regression matrix."""
    if not any(name in metafunc.fixturenames for name in _BOARD_FIXTURES):
        return
    if metafunc.config.getoption("--hil-mode") is Spread.ANY:
        metafunc.parametrize("hil_board_id", [ANY_ID], ids=[ANY_ID])
        return
    pool = metafunc.config.stash[POOL_KEY]
    ids = [b.id for b in pool.inventory.boards]
    metafunc.parametrize("hil_board_id", ids, ids=ids)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Matrix mode under xdist: one worker at a time per board."""
    if config.getoption("--hil-mode") is not Spread.MATRIX:
        return None
    from esp_hil.pytestplugin.board_scheduler import BoardScheduling

    return BoardScheduling(config, log, [b.id for b in config.stash[POOL_KEY].inventory.boards])


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """Any mode under xdist: the controller hands each worker boards of its own, and the run's rack."""
    config = node.config
    ids = [b.id for b in config.stash[POOL_KEY].inventory.boards]
    index, count = int(node.gateway.id.removeprefix("gw")), int(config.getoption("numprocesses") or 1)
    node.workerinput["hil_boards"] = share(ids, count, index)
    node.workerinput["hil_rack"] = config.stash.get(RACK_KEY, None)


def _any_mode_controller(config: pytest.Config) -> bool:
    """The controlling process of an any-mode run under xdist (not a worker, not a run without xdist)."""
    return (config.getoption("--hil-mode") is Spread.ANY and not hasattr(config, "workerinput")
            and config.getoption("dist", "no") != "no")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each board test's board, kept on the item: the reports carry it from there, nothing parses node ids."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        board_id = callspec.params.get("hil_board_id") if callspec else getattr(item, "hil_board_id", None)
        if board_id:
            item.stash[BOARD_KEY] = board_id


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    made = yield
    report = made.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(BoardReset):  # came back by itself: a recovery
        item.stash[RECOVERY_KEY] = recoveries.board_reset(call.excinfo.value.board, call.excinfo.value.line).as_dict()
    if outcome(report) is None:
        return
    attached = item.stash.get(TRANSCRIPT_KEY, None)
    board_id = attached[0].id if attached else item.stash.get(BOARD_KEY, None)
    if board_id and board_id != ANY_ID:
        report.user_properties.append((BOARD_PROP, board_id))
        report.user_properties.append((INFO_PROP, _board_info(item.config.stash[POOL_KEY], board_id)))
    recovery = item.stash.get(RECOVERY_KEY, None) if report.when != "teardown" else None  # one per test
    if recovery:
        report.user_properties.append((RECOVERY_PROP, recovery))
    if attached and (report.failed or recovery):  # a recovery's steps are in the transcript
        board, mark = attached
        attach_transcript(report, board.id, board.transcript.render(since=mark))


def _board_info(pool: BoardPool, board_id: str) -> dict:
    """What the results store keeps about a board: from the inventory and what the firmware said."""
    spec = pool.inventory.get(board_id)
    board = pool.opened(board_id)
    caps = board.probed if board else None
    fw = pool.firmware[0] if pool.firmware else None
    return {"chip": spec.chip, "url": board.spec.url if board else spec.url, "virtual": spec.virtual,
            "firmware_version": caps.version if caps else None, "ran_on": caps.ran_on if caps else None,
            "firmware_name": fw.name if fw else None, "firmware_sha256": fw.sha256 if fw else None}
