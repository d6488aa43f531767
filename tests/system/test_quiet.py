"""Quiet output: a clean run prints no warning, and tools only talk when asked to (-v)."""

from __future__ import annotations

from esp_hil.virtual import faults


def test_a_clean_run_prints_no_warning(pytester, spec):
    pytester.makepyfile(test_x="def test_on_board(board):\n    assert board.eval('1') == 1\n\n"
                               "def test_host():\n    assert True\n")
    result = pytester.runpytest_subprocess("--hil-port", spec.url, "--hil-chip", "esp32")
    result.assert_outcomes(passed=2)
    out = result.stdout.str() + result.stderr.str()
    assert "Warning:" not in out and "warnings summary" not in out and "slow line" not in out


def test_a_line_much_slower_than_its_baud_is_noted_once(pytester, spec, vboard):
    faults.inject(vboard, "slow", 600)
    pytester.makepyfile(test_x="def test_a(board):\n    assert board.eval('1') == 1\n\n"
                               "def test_b(board):\n    assert board.eval('2') == 2\n")
    result = pytester.runpytest_subprocess("--hil-port", spec.url, "--hil-chip", "esp32")
    result.assert_outcomes(passed=2)
    noted = [line for line in result.stdout.lines if "slow line:" in line]
    assert len(noted) == 1 and "not 115200" in noted[0], result.stdout.str()
