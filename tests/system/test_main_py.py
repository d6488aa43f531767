"""A leftover main.py that loops: the board gives no prompt after a reset, but Ctrl-C gets in.

ESP firmware runs main.py before its friendly REPL (after a hard reset, and after a soft
reset there); a virtual board does the same (esp_hil.virtual.mainpy).
"""

from __future__ import annotations

import time

import serial

from esp_hil.recoveries import Step
from esp_hil.recovery import recover
from esp_hil.virtual import faults
from tests.support.waits import use_short_ladder

LOOP = "import time\nprint('main.py: looping')\nwhile True:\n    time.sleep(0.1)\n"


def _read_for(port, seconds: float) -> bytes:
    deadline, data = time.monotonic() + seconds, b""
    while time.monotonic() < deadline:
        data += port.read(port.in_waiting or 1)
    return data


def test_a_looping_main_py_holds_the_prompt_until_ctrl_c(spec, vboard):
    (vboard.sandbox / "main.py").write_text(LOOP)
    port = serial.serial_for_url(spec.url, baudrate=115200, timeout=0.1)
    try:
        port.dtr, port.rts = False, True  # the classic circuit: EN low, then released
        time.sleep(0.1)
        port.rts = False
        boot = _read_for(port, 2.0)
        assert b"main.py: looping\r\n" in boot and b">>> " not in boot and b"raw REPL" not in boot
        port.write(b"\x03")
        after = _read_for(port, 1.0)
        assert b"KeyboardInterrupt" in after and b'File "main.py", line 4' in after and after.endswith(b">>> ")
        assert b"\x04" not in after and b"OK" not in after  # the run mode's own raw REPL does not show
        port.write(b"print(6 * 7)\r")
        assert b"42\r\n" in _read_for(port, 0.5)
    finally:
        port.close()


def test_the_board_session_gets_past_a_looping_main_py_after_a_hard_reset(session, vboard):
    (vboard.sandbox / "main.py").write_text(LOOP)
    log = session.hard_reset()
    assert "main.py: looping" in log
    assert session.exec("print(1 + 2)") == "3\n"
    assert "interrupted what ran at boot" in session.transcript.render()


def test_the_ladders_hard_reset_step_brings_such_a_board_back(session, vboard, monkeypatch):
    (vboard.sandbox / "main.py").write_text(LOOP)
    faults.inject(vboard, "hang")
    use_short_ladder(monkeypatch)
    assert recover(session).step is Step.HARD_RESET
    assert session.exec("print(5)") == "5\n"
