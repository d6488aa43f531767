"""Reading a test's reports: which one carries its outcome, and what it says. One answer for every reader.

pytest makes three reports per test (setup, call, teardown). The plugin attaches the
board's facts to the one that carries the outcome, the recorder stores it, the
summary counts it: all three ask `outcome()`.
"""

from __future__ import annotations

import pytest

from esp_hil.pytestplugin.keys import BOARD_PROP


def outcome(report: pytest.TestReport) -> str | None:
    """The test's outcome if this report carries it: setup problems, the call, or a teardown error; else None."""
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            return "xfailed" if report.skipped else "xpassed"
        return report.outcome
    if report.when == "setup" and not report.passed:
        return "skipped" if report.skipped else "error"
    if report.when == "teardown" and report.failed:
        return "error"
    return None


def skip_reason(report: pytest.TestReport) -> str | None:
    """Why a skipped test was skipped, without pytest's "Skipped: " prefix."""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return None


def message(report: pytest.TestReport) -> str:
    """One line for the results: the skip reason, else the crash line, else the report text (bounded)."""
    reason = skip_reason(report)
    if reason is not None:
        return reason
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    return str(report.longrepr or "")[:2000]


def attach_transcript(report: pytest.TestReport, board_id: str, text: str) -> None:
    """The board's transcript as a section of the report: pytest shows it, the recorder keeps it."""
    report.sections.append((f"board {board_id}{_TRANSCRIPT}", text))


def transcript(report: pytest.TestReport) -> str | None:
    """The board's transcript the plugin attached, if any."""
    return next((text for title, text in report.sections if title.endswith(_TRANSCRIPT)), None)


_TRANSCRIPT = " transcript"


def board(report: pytest.TestReport) -> str | None:
    """The board the test ran on, as the plugin put it on the report (never parsed from the node id)."""
    return dict(report.user_properties).get(BOARD_PROP)
