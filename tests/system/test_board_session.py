"""The board session end to end on a virtual board: exec, files, resets, timeouts."""

from __future__ import annotations

import hashlib
import signal
import time

import pytest

from esp_hil.board import Board, DeviceError
from esp_hil.errors import BoardReset, BoardTimeout


def test_exec_and_eval(session):
    assert session.exec("print(6 * 7)") == "42\n"
    assert session.eval("{'a': [1, 2.5, None]}") == {"a": [1, 2.5, None]}


def test_device_exception_carries_the_board_traceback(session):
    with pytest.raises(DeviceError) as info:
        session.exec("def f():\n    raise ValueError('boom')\nf()")
    assert info.value.exception_line == "ValueError: boom"
    assert "virtual-esp32-1" in str(info.value)


def test_put_and_get_round_trip(session, tmp_path, vboard):
    data = bytes(range(256)) * 16  # every byte value, in 16 of the 256-byte chunks mpremote moves per exec
    src, back = tmp_path / "src.bin", tmp_path / "back.bin"
    src.write_bytes(data)
    session.put(src, "blob.bin")
    assert (vboard.sandbox / "blob.bin").read_bytes() == data  # it landed in the board's own folder
    session.get("blob.bin", back)
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_soft_reset_clears_state_and_stays_in_raw_repl(session):
    session.exec("marker = 123")
    session.soft_reset()
    assert "MPY: soft reboot" in session.transcript.render()
    assert session.eval("'marker' in globals()") is False
    assert session.transport.in_raw_repl


def test_timeout_interrupts_and_names_the_board(session):
    with pytest.raises(BoardTimeout) as info:
        session.exec("while True:\n    pass", timeout=1)
    text = str(info.value)
    assert text.startswith("board 'virtual-esp32-1': device code did not finish within 1")
    assert "interrupted with Ctrl-C" in text and "transcript tail" in text
    assert session.exec("print('alive')") == "alive\n"  # the interrupt gave the REPL back


def test_background_job_lockstep(session):
    job = session.start("import sys\nprint('ready')\nc = sys.stdin.read(1)\nprint('got', c)")
    assert job.wait_for("ready") == "ready\n"
    assert "got" not in job.read_for(0.2)
    job.send(b"x")
    assert job.result() == "ready\ngot x\n"


def test_hard_reset_over_rfc2217_reboots_with_a_boot_message(session):
    session.exec("marker = 1")
    session.ip = "192.168.4.17"  # as a Wi-Fi join left it
    log = session.hard_reset()
    assert "rst:" in log and "MicroPython" in log
    assert session.eval("'marker' in globals()") is False
    assert session.ip is None  # an ESP32 comes up with Wi-Fi off: the next test joins again


def test_line_stays_open_when_the_interpreter_exits(session):
    """sys.exit() ends the unix process; the board soft-reboots, says so, and the same connection works."""
    with pytest.raises(BoardReset, match="board reset during the test: MPY: soft reboot"):
        session.exec("import sys\nsys.exit()")
    session.transport.read_until(1, b"raw REPL; CTRL-B to exit\r\n", timeout=5)
    assert session.exec("print('still here')") == "still here\n"


def test_line_stays_open_when_the_interpreter_crashes(session, vboard):
    vboard.run.signal(signal.SIGKILL)
    time.sleep(0.5)
    session.transport.in_raw_repl = False
    session.soft_reset()
    assert session.exec("print(1)") == "1\n"
    assert "interpreter died" in session.transcript.render()


def test_filesystem_is_the_boards_own_folder(session, vboard):
    assert session.eval("__import__('os').getcwd()") == str(vboard.sandbox)


def test_a_board_without_firmware_is_reported_as_such(tmp_path, monkeypatch):
    """... once the boot ROM has said so: no wait for a prompt after that line (a real ESP32 repeats it)."""
    from esp_hil.errors import HilError
    from esp_hil.virtual.rack import VirtualRack, specs_for
    from tests.support.waits import PortWaits

    rack = VirtualRack(specs_for("esp32", 1), workdir=tmp_path / "blank", blank=True)
    spec = rack.start().boards[0]
    try:
        with pytest.raises(HilError) as info:
            Board.open(spec)
        assert str(info.value) == ("board 'virtual-esp32-1': no firmware: the boot ROM found no valid image "
                                   "in flash (flash firmware: hil flash --board virtual-esp32-1 --firmware NAME)")
        board = Board.connect(spec)
        waits = PortWaits.under(board, monkeypatch)
        try:
            with pytest.raises(HilError, match="no firmware"):
                board.hard_reset()
        finally:
            board.close()
        assert [timeout for timeout, before in waits.idle if b"invalid header" in before] == []
    finally:
        rack.close()


def test_a_port_held_by_another_program_is_one_clear_line(session, spec):
    from esp_hil.errors import HilError

    with pytest.raises(HilError) as info:
        Board.open(spec)  # `session` holds the port, as a terminal program would
    text = str(info.value)
    assert text.startswith(f"board 'virtual-esp32-1': cannot open {spec.url}") and "holds the port" in text
    assert "\n" not in text
