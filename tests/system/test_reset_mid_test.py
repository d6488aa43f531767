"""A board that resets while a test runs ends the test at once, and the run records it (issue 14, point 4).

The board says it reset on a line of its own: a virtual board's dying interpreter,
the ROM's reset cause, the firmware's boot banner, `MPY: soft reboot` after
`sys.exit()`. The test fails with that line within 2 s, not after its timeout.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from esp_hil.errors import BoardReset
from esp_hil.recoveries import Step, parse
from esp_hil.results import ResultsStore
from esp_hil.virtual import faults
from tests.support import bench

DIED = "Rebooting..."  # the panic handler's line, as an ESP32 prints it; why is in the transcript


def test_an_interpreter_killed_mid_program_ends_the_wait_at_once(session, vboard):
    job = session.start("import time\nprint('up')\ntime.sleep(30)")
    job.wait_for("up")
    faults.inject(vboard, "kill")
    started = time.monotonic()
    with pytest.raises(BoardReset) as info:
        job.result(timeout=30)
    assert time.monotonic() - started < 2
    assert str(info.value) == f"board 'virtual-esp32-1': board reset during the test: {DIED}"
    time.sleep(1)  # the board boots
    session.soft_reset()
    assert session.exec("print('back')") == "back\n"


def test_a_reset_between_programs_is_seen_by_the_next_one(session, vboard):
    faults.inject(vboard, "kill")
    time.sleep(0.5)
    with pytest.raises(BoardReset, match="board reset during the test: " + re.escape(DIED)):
        session.exec("print(1)")


def test_a_chip_reset_prints_its_rom_line(session, vboard):
    job = session.start("import time\nprint('up')\ntime.sleep(30)")
    job.wait_for("up")
    threading.Thread(target=vboard.brownout, daemon=True).start()  # the chip resets (into no firmware)
    with pytest.raises(BoardReset, match=r"board reset during the test: rst:0x1 \(POWERON_RESET\)"):
        job.result(timeout=30)


KILLED = '''
import threading
from esp_hil.virtual import faults

def test_killed_mid_test(board):
    job = board.start("import time\\nprint('up')\\ntime.sleep(30)")
    job.wait_for("up")
    threading.Timer(0.3, faults.send, (board.spec.url, "kill")).start()
    job.result(timeout=30)

def test_after(board):
    assert board.eval("1 + 1") == 2
'''


def test_the_run_fails_the_test_with_the_line_and_records_a_recovery(pytester, spec, tmp_path):
    db = tmp_path / "results.sqlite"
    pytester.makepyfile(test_k=KILLED)
    result = bench.run_on(pytester, spec, db)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([f"*board 'bench': board reset during the test: {DIED}*",
                                 "*recovered: board reset during the test in test_killed_mid_test*"])
    with ResultsStore(db, create=False) as store:
        killed, after = store.results(store.run("latest").id)
        transcript = store.transcript(killed)
    assert killed.duration < 2.5  # the kill came 0.3 s in
    assert killed.message == f"esp_hil.errors.BoardReset: board 'bench': board reset during the test: {DIED}"
    assert parse(killed.recovery).step is Step.BOARD_RESET and after.outcome == "passed"
    assert "virtual-board: interpreter died (signal 9)" in transcript
