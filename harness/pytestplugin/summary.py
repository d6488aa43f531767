"""The end-of-run summary: per board, which behaviours were asserted and which could not be.

It also names each test before which a board had to be brought back by the recovery
ladder, and the step that did it: a board that needs it often is failing slowly.

A behaviour is a test module of the suite (`tests/hil/test_dupterm.py` -> dupterm);
it counts as asserted on a board when at least one of its tests ran there, and as
not asserted when all were skipped, with the skip reasons (what the board lacked).
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from esp_hil.pytestplugin import reports
from esp_hil.pytestplugin.keys import INFO_PROP, RECOVERY_PROP, SLOW_LINE_PROP
from esp_hil.recoveries import Recovery


class Summary:
    def __init__(self) -> None:
        self._ran: dict[str, set[str]] = defaultdict(set)
        self._skipped: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._recovered: dict[str, list[str]] = defaultdict(list)
        self._ran_on: dict[str, str] = {}
        self._slow: dict[str, str] = {}  # board -> how slow its line runs: said once, not per test

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome, board = reports.outcome(report), reports.board(report)
        if outcome is None or not board:
            return
        props = dict(report.user_properties)
        ran_on = (props.get(INFO_PROP) or {}).get("ran_on")
        if ran_on:
            self._ran_on[board] = ran_on
        if SLOW_LINE_PROP in props:
            self._slow[board] = props[SLOW_LINE_PROP]
        if RECOVERY_PROP in props:
            recovery, test = Recovery.from_dict(props[RECOVERY_PROP]), report.nodeid.split("::")[-1]
            self._recovered[board].append(f"{recovery.step} {'in' if recovery.during_test else 'before'} {test}")
        behaviour = _behaviour(report.nodeid)
        reason = reports.skip_reason(report)
        if outcome == "skipped" and reason is not None:
            self._skipped[board][behaviour].add(reason.split(": ", 1)[-1])
        elif outcome != "error":
            self._ran[board].add(behaviour)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        boards = sorted(set(self._ran) | set(self._skipped))
        if not boards:
            return
        terminalreporter.section("esp-hil: behaviours per board")
        for board in boards:
            ran = sorted(self._ran[board])
            missing = {b: r for b, r in self._skipped[board].items() if b not in self._ran[board]}
            terminalreporter.write_line(f"{board}: asserted {', '.join(ran) or 'nothing'}")
            if board in self._ran_on:
                terminalreporter.write_line(f"{' ' * len(board)}  ran on {self._ran_on[board]}")
            for behaviour, reasons in sorted(missing.items()):
                terminalreporter.write_line(f"{' ' * len(board)}  not asserted: {behaviour} ({'; '.join(sorted(reasons))})")
            if board in self._slow:
                terminalreporter.write_line(f"{' ' * len(board)}  slow line: {self._slow[board]}")
            if self._recovered[board]:
                terminalreporter.write_line(f"{' ' * len(board)}  recovered: {', '.join(self._recovered[board])}")


def _behaviour(nodeid: str) -> str:
    module = nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
    return module.removeprefix("test_").replace("_", " ")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(Summary(), "hil-summary")
