"""The report as JSON for other tools: a stable shape, documented in docs/report-json.md.

Keys are only ever added within one `version`; anything renamed or removed bumps it.
"""

from __future__ import annotations

import json
from typing import Any

from esp_hil.report import fmt
from esp_hil.report.model import Change, Report
from esp_hil.results import BoardRow, Run

FORMAT = "esp-hil-report"
VERSION = 1


def render(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


def to_dict(report: Report) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "headline": fmt.headline(report),
        "run": _run(report.run),
        "baseline": _run(report.baseline) if report.baseline else None,
        "boards": [_board(b) for b in report.boards],
        "totals": report.totals,
        "regressions": [_change(c) for c in report.regressions],
        "fixes": [_change(c) for c in report.fixes],
        "new": [_change(c) for c in report.new],
        "removed": [_change(c) for c in report.removed],
        "not_run": [_change(c) for c in report.not_run],
        "flaky": [{"test_id": f.test_id, "board_id": f.board_id, "kind": f.kind,
                   "outcomes": list(f.outcomes), "runs": list(f.runs)} for f in report.flaky],
        "lost_boards": [{"board_id": b.board_id, "reason": b.reason, "chip": b.chip, "virtual": b.virtual,
                         "tests": b.tests} for b in report.lost],
        "recovered": [{"board_id": r.board_id, "test_id": r.test_id, "step": r.step, **r.event.as_dict()}
                      for r in report.recovered],
        "skipped": [{"board_id": s.board_id, "reason": s.reason, "tests": list(s.tests)} for s in report.skipped],
        "duration_changes": [{"test_id": d.test_id, "board_id": d.board_id, "before": round(d.before, 3),
                              "now": round(d.now, 3), "ratio": round(d.ratio, 2)} for d in report.durations],
        "metrics": [{"test_id": m.test_id, "board_id": m.board_id, "values": list(m.values),
                     "baseline": list(m.baseline)} for m in report.metrics],
        "results": [_cell(report, test, board) for test in report.matrix.tests for board in report.matrix.boards
                    if report.matrix.at(test, board)],
        "history": [{"run_id": p.run_id, "started": p.started, "firmware": p.firmware, "passed": p.passed,
                     "total": p.total, "rate": round(p.rate, 4)} for p in report.history],
    }


def _run(run: Run) -> dict[str, Any]:
    return {"id": run.id, "suite": run.suite, "started": run.started, "ended": run.ended,
            "ending": run.ending.value if run.ending else None,
            "git_rev": run.git_rev, "host": run.host, "command": run.command}


def _board(board: BoardRow) -> dict[str, Any]:
    return {"board_id": board.board_id, "chip": board.chip, "url": board.url, "virtual": board.virtual,
            "firmware": {"name": board.firmware_name, "version": board.firmware_version,
                         "sha256": board.firmware_sha256},
            "ran_on": board.ran_on, "lost": board.lost}


def _change(change: Change) -> dict[str, Any]:
    return {"test_id": change.test_id, "board_id": change.board_id, "outcome": change.outcome,
            "baseline_outcome": change.baseline_outcome, "firmware": change.firmware,
            "baseline_firmware": change.baseline_firmware, "message": change.message,
            "transcript_tail": change.transcript, "flaky": change.flaky}


def _cell(report: Report, test: str, board: str | None) -> dict[str, Any]:
    cell = report.matrix.at(test, board)
    assert cell is not None
    return {"test_id": cell.test_id, "test": cell.test, "board_id": cell.board_id, "outcome": cell.outcome,
            "attempts": list(cell.attempts), "duration": round(cell.duration, 3), "firmware": cell.firmware,
            "message": cell.message, "transcript_tail": cell.transcript}
