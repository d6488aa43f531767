"""esp-hil's own lines in the middle of a run: a wait said at once, a board's problem said once.

A test whose board is busy or lost fails with one short line ("board X unavailable
(see above)"); the problem itself, with its fix, is printed once per board, by the
controlling process, when the first such test is reported (under xdist too).
"""

from __future__ import annotations

import sys
from contextlib import nullcontext

import pytest

from esp_hil.pytestplugin.keys import PROBLEM_PROP


class Notices:
    def __init__(self, config: pytest.Config):
        self._config = config
        self._told: set[tuple[str, str]] = set()  # (board, busy/lost) already printed

    def say(self, line: str) -> None:
        """Print `line` now, even from a test's setup (output capture) or an xdist worker (on its stderr)."""
        plugins = self._config.pluginmanager
        capture = plugins.getplugin("capturemanager")
        terminal = plugins.getplugin("terminalreporter")
        with capture.global_and_fixture_disabled() if capture else nullcontext():
            if terminal is not None and not hasattr(self._config, "workerinput"):
                terminal.ensure_newline()
                if terminal._tw.width_of_current_line:  # xdist's progress leaves its line open, unsaid
                    terminal.write("\n")
                terminal.write_line(f"esp-hil: {line}")
            else:
                print(f"esp-hil: {line}", file=sys.stderr, flush=True)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        problem = dict(report.user_properties).get(PROBLEM_PROP)
        if problem is None or hasattr(self._config, "workerinput"):
            return
        told = (problem["board"], problem["kind"])
        if told not in self._told:
            self._told.add(told)
            self.say(problem["line"])

