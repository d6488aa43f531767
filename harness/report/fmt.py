"""Small text forms shared by the Markdown and HTML renderers, so both say things the same way."""

from __future__ import annotations

from esp_hil.report.model import Report
from esp_hil.results import BoardRow, Ending, Run

SYMBOL = {"passed": "✅", "failed": "❌", "error": "💥", "skipped": "⏭", "xfailed": "➖", "xpassed": "❗"}


def when(iso: str | None) -> str:
    """`2026-11-24T19:05:59.273508Z` -> `2026-11-24 19:05 UTC`."""
    return f"{iso[:10]} {iso[11:16]} UTC" if iso else "-"


def rev(git_rev: str | None) -> str:
    return git_rev[:10] if git_rev else "-"


def seconds(value: float) -> str:
    if value < 10:
        return f"{value:.2f} s"
    if value < 120:
        return f"{value:.0f} s"
    return f"{int(value // 60)} min {int(value % 60)} s"


def board(board_id: str | None) -> str:
    return board_id or "no board"


def firmware_change(before: str | None, now: str | None) -> str:
    if before and now and before != now:
        return f"{before} → {now}"
    return now or before or "-"


def board_kind(b: BoardRow) -> str:
    return "virtual" if b.virtual else "real"


def ran_on(b: BoardRow) -> str:
    """What the board's results ran on, as its firmware said (unix port, built from source, a board)."""
    return b.ran_on or ("virtual board" if b.virtual else "real board")


def firmware(b: BoardRow) -> str:
    return " ".join(part for part in (b.firmware_name, b.firmware_version) if part) or "-"


def ending(run: Run) -> str:
    """How the run ended, when that is news: empty for a run that finished."""
    if run.complete:
        return ""
    return "interrupted" if run.ending is Ending.INTERRUPTED else "did not finish"


def headline(report: Report) -> str:
    """The one line a reader sees first: whether the run was cut short, what changed, then how it went."""
    parts = [ending(report.run)] if ending(report.run) else []
    if report.baseline:
        parts.append(_count(len(report.regressions), "regression"))
        if report.fixes:
            parts.append(_count(len(report.fixes), "fix", "fixes"))
        if report.not_run:
            parts.append(_count(len(report.not_run), "test") + " not run")
    if report.flaky:
        parts.append(_count(len(report.flaky), "flaky test"))
    if report.lost:
        parts.append(_count(len(report.lost), "board") + " lost")
    if report.recovered:
        parts.append(_count(len(report.recovered), "recovery", "recoveries"))
    t = report.totals
    parts.append(f"{t['passed']} passed, {t['failed'] + t['error']} failed, {t['skipped']} skipped")
    return " · ".join(parts)


def run_line(run: Run) -> str:
    return f"{run.id} ({when(run.started)}, git {rev(run.git_rev)}, host {run.host})"


def first_line(text: str, limit: int = 120) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"
