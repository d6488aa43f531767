"""Faults on virtual boards, and the recovery ladder that answers each one."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from esp_hil.errors import BoardLost, BoardTimeout, HilError
from esp_hil.recoveries import Outcome, Step
from esp_hil.recovery import recover
from esp_hil.virtual import faults
from tests.support.waits import PortWaits, use_short_ladder


def test_killed_interpreter_reboots_and_interrupt_is_enough(session, vboard):
    faults.inject(vboard, "kill")
    time.sleep(0.5)
    assert recover(session).step is Step.INTERRUPT
    assert "interpreter died" in session.transcript.render()


def test_hung_interpreter_needs_a_hard_reset(session, vboard, monkeypatch):
    """... and exec gives up within its timeout, where mpremote's raw-paste steps wait 3 s and then 10 s.

    Measured by what the session asks of the port, not by a clock: the reads that got
    nothing were allowed, together, no more than the caller's second.
    """
    use_short_ladder(monkeypatch)
    waits = PortWaits.under(session, monkeypatch)
    faults.inject(vboard, "hang")
    with pytest.raises(BoardTimeout) as info:
        session.exec("print(1)", timeout=1)
    assert waits.idle and sum(waits.waited()) <= 1.001, f"waits of {waits.waited()} s for exec(timeout=1)"
    assert "the raw REPL did not take the code within 1s" in str(info.value)
    recovery = recover(session)
    assert [(a.step, a.outcome) for a in recovery.attempts] == [
        (Step.INTERRUPT, Outcome.FAILED), (Step.SOFT_RESET, Outcome.FAILED), (Step.HARD_RESET, Outcome.ANSWERED)]
    assert "recovery: interrupt failed" in session.transcript.render()  # and a person reads it there
    assert session.exec("print(2)") == "2\n"


def test_dropped_link_needs_the_port_reopened(session, vboard):
    faults.inject(vboard, "drop")
    time.sleep(0.2)
    with pytest.raises(HilError):
        session.exec("print(1)", timeout=2)
    assert recover(session).step is Step.REOPEN
    assert session.exec("print(3)") == "3\n"


def test_port_that_comes_back_after_a_while_is_reopened(session, vboard):
    faults.inject(vboard, "vanish", 2.0)
    assert recover(session).step is Step.REOPEN


def test_line_noise_is_survived(session, vboard):
    faults.inject(vboard, "noise", 200)
    time.sleep(0.2)
    try:
        session.exec("print(4)", timeout=3)
    except HilError:
        recover(session)
    assert session.exec("print(5)") == "5\n"


def test_slow_line_still_works(session, vboard):
    faults.inject(vboard, "slow", 9600)
    try:
        assert session.exec("print('x' * 100)", timeout=10) == "x" * 100 + "\n"
    finally:
        faults.inject(vboard, "slow", 0)


def test_board_that_never_comes_back_is_quarantined(session, vboard, monkeypatch):
    faults.inject(vboard, "hang")
    faults.inject(vboard, "vanish", 120)
    monkeypatch.setattr(session, "reopen", lambda wait=20: type(session).reopen(session, wait=1))
    with pytest.raises(BoardLost) as info:
        recover(session)
    assert str(info.value).startswith("board 'virtual-esp32-1': quarantined: port rfc2217://")
    assert "did not come back within 1s (after reopen port)" in str(info.value)


def test_a_quarantine_names_what_the_board_itself_said(session, vboard, monkeypatch):
    faults.inject(vboard, "brownout")  # the board resets into "no firmware"; the steps after that time out
    use_short_ladder(monkeypatch)
    with pytest.raises(BoardLost) as info:
        recover(session)
    assert str(info.value).startswith("board 'virtual-esp32-1': quarantined: no firmware: the boot ROM found no "
                                      "valid image in flash (after hard reset)")


def test_fault_from_the_command_line(tmp_path):
    out = tmp_path / "live.toml"
    proc = subprocess.Popen([sys.executable, "-m", "esp_hil.cli", "virtual", "--inventory-out", str(out)],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split()[1]
        done = subprocess.run([sys.executable, "-m", "esp_hil.cli", "fault", url, "noise", "16"],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and "noise applied" in done.stdout
        bad = subprocess.run([sys.executable, "-m", "esp_hil.cli", "fault", "rfc2217://127.0.0.1:1", "kill"],
                             capture_output=True, text=True, timeout=30)
        assert bad.returncode == 2 and "no virtual board serves rfc2217://127.0.0.1:1" in bad.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=15)
