"""esp-hil loads beside pytest-embedded and labgrid: no option or fixture of ours clashes.

pytest refuses to start when two plugins register one option, so `--help` with all
three installed is the first check. pytest-embedded and labgrid do clash with each
other (both define a `target` fixture; pytest-embedded's autouse fixtures then pull
in labgrid's `target`, which skips every test without `--lg-env`): with both
installed, disable the one you do not use (`-p no:labgrid` or `-p no:pytest_embedded`).
Runs in `tox -e coexist`, where both are installed (that run itself disables
pytest-embedded, for the same reason).
"""

from __future__ import annotations

import pytest

pytest.importorskip("labgrid", reason="labgrid not installed (tox -e coexist installs it)")
pytest.importorskip("pytest_embedded", reason="pytest-embedded not installed (tox -e coexist installs it)")

TEST = "def test_board(board):\n    assert board.eval('6 * 7') == 42\n"


def test_all_three_plugins_start_and_options_do_not_clash(pytester):
    result = pytester.runpytest_subprocess("--help")
    assert result.ret == 0
    out = result.stdout.str()
    for option in ("--hil-boards", "--hil-port", "--lg-env", "--target", "--port"):
        assert option in out


@pytest.mark.parametrize("other", ["labgrid", "pytest_embedded"])
def test_board_tests_run_beside_each_plugin(pytester, rack, other):
    """With one of the two disabled, the other loads and our board tests pass."""
    blocked = "pytest_embedded" if other == "labgrid" else "labgrid"
    spec = rack.inventory().boards[0]
    pytester.makepyfile(test_x=TEST)
    result = pytester.runpytest_subprocess("-p", f"no:{blocked}", "--hil-port", spec.url, "--hil-chip", "esp32")
    result.assert_outcomes(passed=1)
