"""Record every test result into the results store as it finishes (pytest side of esp_hil.results).

Only the controlling process writes: with pytest-xdist the workers' reports arrive
in the controller's `pytest_runtest_logreport`, with the board each test ran on, a
recovery it needed, or why it had no board (lost, busy) in `user_properties`. So a
board a worker lost is recorded as lost, as one the controller lost. Each result is committed when it arrives, so a run that dies
keeps everything recorded before. A run is opened with its first result: `--help`,
`--collect-only` and usage errors leave nothing behind.

SIGTERM and SIGHUP (CI's cancel button, `timeout`, a closed terminal) end the run as
Ctrl-C does, so it is recorded as interrupted and its boards are put away; then the
process dies of that signal, as its parent expects.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from esp_hil import places
from esp_hil.pytestplugin import reports
from esp_hil.pytestplugin.keys import INFO_PROP, METRIC_PROP, PROBLEM_PROP, RECORDER, RECOVERY_PROP, UPSTREAM_KEY
from esp_hil.pool import Unavailable
from esp_hil.recoveries import Recovery
from esp_hil.results import Ending

_ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)



def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("esp-hil").addoption(
        "--hil-results", metavar="PATH", help="results database (default: results/results.sqlite of the project folder: the nearest at or above here with boards/ or firmware/)")


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # xdist worker: the controller records
    from esp_hil.results import ResultsStore

    path = Path(config.getoption("--hil-results") or places.results_db(config.invocation_params.dir))
    path.parent.mkdir(parents=True, exist_ok=True)
    config.pluginmanager.register(Recorder(ResultsStore(path), config), RECORDER)


class Recorder:
    """Owns the run's row in the store (from its first result on); writes one result per test."""

    def __init__(self, store, config: pytest.Config):
        self.store = store
        self.config = config
        self.run_id: str | None = None
        self._boards: set[str] = set()
        self._info: dict[str, dict] = {}  # board id -> what the reports said of it (for a board lost at the end)
        self._lost: dict[str, str] = {}  # board id -> why, while its tests find it lost
        self._signal: int | None = None  # the signal that ended the run, re-raised once pytest is done
        if threading.current_thread() is threading.main_thread():
            for signum in _ENDING_SIGNALS:
                if signal.getsignal(signum) is signal.SIG_DFL:
                    signal.signal(signum, self._interrupt)
            config.add_cleanup(self._die_of_signal)

    def _interrupt(self, signum: int, frame) -> None:
        self._signal = signum
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def _die_of_signal(self) -> None:
        for signum in _ENDING_SIGNALS:
            if signal.getsignal(signum) == self._interrupt:
                signal.signal(signum, signal.SIG_DFL)
        if self._signal is not None:
            os.kill(os.getpid(), self._signal)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = reports.outcome(report)
        if outcome is None:
            return
        if self.run_id is None:
            self.run_id = self.store.start_run(suite=_suite(self.config), command=" ".join(sys.argv),
                                               git_rev=_git_rev(self.config.rootpath), host=socket.gethostname())
        props = dict(report.user_properties)
        board_id = reports.board(report)
        if board_id and INFO_PROP in props:
            self._info[board_id] = props[INFO_PROP]
            if board_id not in self._boards:
                self.store.add_board(self.run_id, board_id=board_id, **props[INFO_PROP])
                self._boards.add(board_id)
        problem = props.get(PROBLEM_PROP)  # the test says "see above"; the results keep the line it points at
        self._note_lost(board_id, problem)
        transcript = reports.transcript(report)
        recovery = props.get(RECOVERY_PROP)
        self.store.record(self.run_id, test_id=report.nodeid, board_id=board_id, outcome=outcome,
                          duration=report.duration, message=problem["line"] if problem else reports.message(report),
                          transcript=transcript,
                          recovery=Recovery.from_dict(recovery).to_json() if recovery else None,
                          metrics=[value for name, value in report.user_properties if name == METRIC_PROP])

    def _note_lost(self, board_id: str | None, problem: dict | None) -> None:
        """A board is lost while its tests say so; one of its tests that had it means it came back."""
        if problem and Unavailable(problem["kind"]) is Unavailable.LOST:
            self._lost[problem["board"]] = problem["reason"]
        elif board_id and not problem:
            self._lost.pop(board_id, None)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.run_id is None:
            return  # no test ran: nothing to record
        for board_id, reason in self._lost.items():
            info = self._info.get(board_id, {})
            self.store.add_board(self.run_id, board_id=board_id, chip=info.get("chip"), url=info.get("url"),
                                 virtual=bool(info.get("virtual")), lost=reason)
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or self._signal is not None
        self.store.end_run(self.run_id, Ending.INTERRUPTED if interrupted else Ending.FINISHED)


def _suite(config: pytest.Config) -> str:
    """The test paths run, and MicroPython's (`multi_net`) as its tree names them: what a baseline must match."""
    paths = [str(a).split("::")[0] for a in config.args] + list(config.stash.get(UPSTREAM_KEY, ()))
    return ",".join(sorted(set(paths or ["tests"])))


def _git_rev(root: Path) -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None
