"""Quiet output: a clean run prints no warning, and tools only talk when asked to (-v)."""

from __future__ import annotations


def test_a_clean_run_prints_no_warning(pytester, spec):
    pytester.makepyfile(test_x="def test_on_board(board):\n    assert board.eval('1') == 1\n\n"
                               "def test_host():\n    assert True\n")
    result = pytester.runpytest_subprocess("--hil-port", spec.url, "--hil-chip", "esp32")
    result.assert_outcomes(passed=2)
    out = result.stdout.str() + result.stderr.str()
    assert "Warning:" not in out and "warnings summary" not in out
