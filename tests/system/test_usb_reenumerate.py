"""A board on its own USB leaves the bus when it resets and comes back: it is found again by its by-id path (issue 13).

The virtual ESP32-S3 runs MicroPython's TinyUSB CDC personality (`esp_hil.virtual.usbport`):
its port is a pty behind a by-id link in the rack's folder, which vanishes when the
chip resets, and returns, pointing at a new pty, once the firmware is up again. Its
reset is the one such a board has, `machine.reset()` at the REPL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from esp_hil import inventory
from esp_hil.board import Board
from esp_hil.errors import BoardLost
from esp_hil.inventory import BoardSpec
from esp_hil.port import PortKind
from esp_hil.reset import USB_CDC
from esp_hil.inventory import to_toml
from esp_hil.virtual.rack import VirtualRack


@pytest.fixture
def usb_rack(tmp_path):
    rack = VirtualRack([BoardSpec(id="s3", chip="esp32s3", virtual=True)], workdir=tmp_path / "rack")
    rack.start()
    yield rack
    rack.close()


@pytest.fixture
def usb_spec(usb_rack) -> BoardSpec:
    return usb_rack.inventory().boards[0]


def test_the_rack_names_its_by_id_path_with_the_reset_it_has(usb_rack, usb_spec, tmp_path):
    link = Path(usb_spec.port)
    assert PortKind.of(usb_spec.port) is PortKind.DEVICE and usb_spec.reset is USB_CDC
    assert link.parent == usb_rack.workdir / "by-id" and link.is_symlink()
    assert link.name.startswith("usb-Espressif_Systems_Espressif_Device_") and link.name.endswith("-if00")
    (tmp_path / "live.toml").write_text(to_toml(usb_rack.inventory()))
    assert inventory.load(tmp_path / "live.toml").boards[0].reset is USB_CDC


def test_a_hard_reset_takes_the_port_away_and_the_session_finds_it_again(usb_rack, usb_spec):
    vboard = usb_rack.boards[0]
    board = Board.open(usb_spec)
    try:
        board.exec("x = 5")
        pid, enumerations = vboard.run.pid, vboard.usb.enumerations
        assert board.hard_reset() == ""  # the boot log went by while the device was off the bus
        assert vboard.run.pid != pid and vboard.usb.enumerations == enumerations + 1
        assert board.eval("'x' in globals()") is False  # the chip restarted
        assert board.eval("1 + 1") == 2
        assert "reopen" in board.transcript.render()
    finally:
        board.close()


def test_reading_the_old_handle_after_the_reset_loses_the_board(usb_spec):
    """What the session did before it waited for the path (pulse, then read the boot log): the handle is dead."""
    board = Board.open(usb_spec)
    try:
        USB_CDC.hard_reset(board.port, board.id)
        with pytest.raises((BoardLost, OSError)):  # the session's name for it, or pyserial's own
            board.await_boot()
    finally:
        board.close()


def _bench(spec: BoardSpec) -> str:
    """An inventory naming the board as a rack owner would: its by-id path and `usb-cdc`."""
    return f'[[board]]\nid = "s3"\nchip = "esp32s3"\nport = "{spec.port}"\nreset = "usb-cdc"\n'


def _run(pytester: pytest.Pytester, tmp_path: Path, boards: str) -> pytest.RunResult:
    (tmp_path / "boards.toml").write_text(boards)
    return pytester.runpytest_subprocess(f"--hil-boards={tmp_path / 'boards.toml'}",
                                         f"--hil-results={tmp_path / 'r.sqlite'}", "-p", "no:randomly")


RUN = '''
def test_before(board):
    board.exec("x = 5")
    assert board.eval("x") == 5

def test_reset(board):
    assert board.hard_reset() == ""
    assert board.eval("'x' in globals()") is False

def test_after(board):
    assert board.eval("1 + 1") == 2
'''


def test_a_run_goes_on_after_a_reset_in_its_middle(pytester, usb_spec, tmp_path):
    """Board.hard_reset in the middle of a pytest run: the board is found again and the tests after it pass."""
    pytester.makepyfile(test_usb=RUN)
    _run(pytester, tmp_path, _bench(usb_spec)).assert_outcomes(passed=3)


def test_a_virtual_s3_in_an_inventory_is_a_usb_board_by_default(pytester, tmp_path):
    """No option turns it on: the run's own rack serves `chip = "esp32s3"` on its by-id path."""
    pytester.makepyfile(test_usb=RUN.replace("def test_before(board):", '''def test_before(board):
    assert "/by-id/usb-Espressif_Systems_Espressif_Device_" in board.spec.port and str(board.spec.reset) == "usb-cdc"'''))
    _run(pytester, tmp_path, '[[board]]\nid = "vs3"\nchip = "esp32s3"\nvirtual = true\n').assert_outcomes(passed=3)


SELF_RESET = '''
def test_resets_itself(board):
    board.exec("import machine; machine.reset()")

def test_after(board):
    assert board.eval("1 + 1") == 2
'''


def test_a_board_that_resets_itself_is_found_again_by_the_ladder(pytester, usb_spec, tmp_path):
    """The chip resets under a running program: that test loses its board, the ladder reopens the path, the run goes on."""
    pytester.makepyfile(test_usb=SELF_RESET)
    result = _run(pytester, tmp_path, _bench(usb_spec))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*BoardLost: board 's3': serial link lost*", "*recovered: reopen port before test_after*"])
