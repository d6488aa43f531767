"""Upstream `tests/run-tests.py` against a virtual board, through `hil virtual --pty`.

run-tests.py opens its device with pyboard.py's `serial.Serial(path)` (no URLs) and
waits for a board's `\\r\\n` line ends. The tree in $HIL_MICROPYTHON_SRC is only
read: what the runner needs is copied to a temp folder, where it writes its results.

It runs in `tox -e upstream`, alone, not among the system tests on two workers: there
it hung twice in CI (run-tests.py waiting on the pty beside other tests; not seen
when run alone, also under load; the issue 13 note has what is known).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from esp_hil import inventory

SRC = os.environ.get("HIL_MICROPYTHON_SRC", "")
pytestmark = pytest.mark.skipif(not SRC, reason="set HIL_MICROPYTHON_SRC to a MicroPython tree (CI unpacks one)")
TESTS = ["basics/0prelim.py", "basics/builtin_abs.py", "basics/int_small.py", "basics/list1.py",
         "basics/string1.py", "basics/try_except_break.py"]


def _copy_runner(src: Path, dest: Path) -> Path:
    """The runner, its helpers and the chosen tests, out of the (read-only) tree."""
    tests = dest / "tests"
    for name in ("run-tests.py", "test_utils.py"):
        (tests / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / "tests" / name, tests / name)
    shutil.copytree(src / "tests" / "feature_check", tests / "feature_check")
    (dest / "tools").mkdir()
    shutil.copy(src / "tools" / "pyboard.py", dest / "tools" / "pyboard.py")
    for test in TESTS:
        (tests / test).parent.mkdir(parents=True, exist_ok=True)
        for found in (src / "tests").glob(test + "*"):  # the test and its .exp, if any
            shutil.copy(found, tests / Path(test).parent / found.name)
    return tests


def test_run_tests_passes_basics_through_the_pty(tmp_path):
    tests = _copy_runner(Path(SRC), tmp_path / "mp")
    out = tmp_path / "live.toml"
    rack = subprocess.Popen([sys.executable, "-m", "esp_hil.cli", "virtual", "--pty", "--inventory-out", str(out)],
                            stdout=subprocess.PIPE, text=True)
    try:
        board_id, url, pty = rack.stdout.readline().split()
        assert url.startswith("rfc2217://") and pty.startswith("/dev/")
        assert inventory.load(out).get(board_id).pty == pty
        runner = subprocess.Popen([sys.executable, "run-tests.py", "-t", pty, "-r", str(tmp_path / "results"), *TESTS],
                                  cwd=tests, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            output, _ = runner.communicate(timeout=120)  # six tiny tests: seconds, unless it hangs
        except subprocess.TimeoutExpired:
            runner.kill()
            pytest.fail(f"run-tests.py hung; it printed:\n{runner.communicate()[0]}")
        done = subprocess.CompletedProcess(runner.args, runner.returncode, output, "")
        assert done.returncode == 0, done.stdout
        assert f"{len(TESTS)} tests passed" in done.stdout, done.stdout
    finally:
        rack.terminate()
        assert rack.wait(timeout=15) == 0
