"""The report as Markdown for a CI comment: the changes in tables, everything long folded.

A comment has a size limit (GitHub: 65536 characters), so when the full form is too
long the transcript tails and then the matrix are dropped, and a line says so.
"""

from __future__ import annotations

import html
import re

from esp_hil.report import fmt
from esp_hil.report.cells import FAILING
from esp_hil.report.model import Change, Report

LIMIT = 60_000
TAIL_LINES = 15
_SPARK = "▁▂▃▄▅▆▇█"


def render(report: Report, *, limit: int = LIMIT) -> str:
    for tails, matrix in ((True, True), (False, True), (False, False)):
        text = "\n".join(_document(report, tails, matrix)) + "\n"
        if len(text) <= limit:
            return text
    return text[:limit - 80] + "\n\n_(report cut to fit a comment; see the HTML report for the rest)_\n"


def _document(report: Report, tails: bool, matrix: bool) -> list[str]:
    out = [f"## esp-hil report: {fmt.headline(report)}", ""]
    out += _header(report)
    if report.baseline:
        out += _changes("❌ Regressions", report.regressions, tails, "passed in the baseline, fails now")
        out += _changes("✅ Fixes", report.fixes, False)
        out += _changes("🆕 New tests", report.new, tails)
        out += _changes("Removed tests", report.removed, False)
        out += _changes("⏹ Not run", report.not_run, False, "in the baseline; the run was cut short before them")
    out += _flaky(report) + _boards(report) + _durations(report) + _metrics(report)
    if matrix:
        out += _matrix(report)
        out += _failures(report, tails)
    else:
        out += ["_(matrix and failure details left out to fit a comment; see the HTML report)_", ""]
    out += _history(report)
    return out


def _header(report: Report) -> list[str]:
    run = report.run
    lines = [f"**run** `{run.id}` · **suite** `{run.suite}` · **started** {fmt.when(run.started)} · "
             f"**git** `{fmt.rev(run.git_rev)}` · **host** {_cell(run.host)}"
             + (f" · ⚠️ **{fmt.ending(run)}**" if fmt.ending(run) else ""), ""]
    if report.baseline:
        lines += [f"**baseline** `{report.baseline.id}` · {fmt.when(report.baseline.started)} · "
                  f"**git** `{fmt.rev(report.baseline.git_rev)}`", ""]
    else:
        lines += ["_no baseline: the first run of this suite, nothing to compare with_", ""]
    if report.boards:
        lines += ["| board | chip | firmware | kind | ran on |", "|---|---|---|---|---|"]
        lines += [f"| {_cell(b.board_id)} | {_cell(b.chip or '-')} | {_cell(fmt.firmware(b))} | "
                  f"{fmt.board_kind(b)}{' · **lost**' if b.lost else ''} | {_cell(fmt.ran_on(b))} |"
                  for b in report.boards]
        lines.append("")
    return lines


def _changes(title: str, changes: list[Change], tails: bool, note: str = "") -> list[str]:
    if not changes:
        return []
    out = [f"### {title} ({len(changes)})", ""] + ([f"_{note}_", ""] if note else [])
    out += ["| test | board | firmware | was → now | message |", "|---|---|---|---|---|"]
    for c in changes:
        flag = " (flaky?)" if c.flaky else ""
        out.append(f"| `{_cell(c.test_id)}`{flag} | {_cell(fmt.board(c.board_id))} | "
                   f"{_cell(fmt.firmware_change(c.baseline_firmware, c.firmware))} | "
                   f"{c.baseline_outcome or '-'} → **{c.outcome or 'gone'}** | "
                   f"{_cell(fmt.first_line(c.message, 80))} |")
    out.append("")
    for c in changes:
        if tails and c.outcome in FAILING and (c.message or c.transcript):
            out += _fold(f"{c.test_id} on {fmt.board(c.board_id)}", c.message, c.transcript)
    return out


def _flaky(report: Report) -> list[str]:
    if not report.flaky:
        return []
    out = [f"### 🎲 Flaky ({len(report.flaky)})", "", "| test | board | seen | outcomes |", "|---|---|---|---|"]
    out += [f"| `{_cell(f.test_id)}` | {_cell(fmt.board(f.board_id))} | "
            f"{'on retry' if f.kind == 'retry' else f'{len(f.runs)} identical runs'} | {' → '.join(f.outcomes)} |"
            for f in report.flaky]
    return out + [""]


def _boards(report: Report) -> list[str]:
    out = []
    if report.lost:
        out += [f"### 🔌 Boards lost ({len(report.lost)})", "", "| board | chip | why | tests not run |",
                "|---|---|---|---|"]
        out += [f"| {_cell(b.board_id)} | {_cell(b.chip or '-')} | {_cell(b.reason)} | {b.tests or '-'} |"
                for b in report.lost]
        out.append("")
    if report.recovered:
        out += [f"### 🩹 Boards recovered ({len(report.recovered)})", "",
                "| board | test | brought back by | tried first | why |", "|---|---|---|---|---|"]
        out += [f"| {_cell(fmt.board(r.board_id))} | `{_cell(r.test_id)}` | {_cell(r.step)} | "
                f"{_cell(r.event.tried() or '-')} | {_cell(r.event.cause or '-')} |" for r in report.recovered]
        out.append("")
    if report.skipped:
        out += ["### ⏭ Skipped", "", "| board | reason | tests |", "|---|---|---|"]
        out += [f"| {_cell(fmt.board(s.board_id))} | {_cell(s.reason)} | {len(s.tests)}: "
                f"{_cell(', '.join(s.tests[:5]) + (' …' if len(s.tests) > 5 else ''))} |" for s in report.skipped]
        out.append("")
    return out


def _durations(report: Report) -> list[str]:
    if not report.durations:
        return []
    out = [f"### ⏱ Duration changes ({len(report.durations)})", "", "| test | board | before | now | × |",
           "|---|---|---|---|---|"]
    out += [f"| `{_cell(d.test_id)}` | {_cell(fmt.board(d.board_id))} | {fmt.seconds(d.before)} | "
            f"{fmt.seconds(d.now)} | {d.ratio:.1f} |" for d in report.durations]
    return out + [""]


def _metrics(report: Report) -> list[str]:
    if not report.metrics:
        return []
    out = [f"### 📏 Metrics ({len(report.metrics)})", "", "_what the tests printed as OUTPUT_METRIC_", "",
           "| test | board | now | baseline |", "|---|---|---|---|"]
    out += [f"| `{_cell(m.test_id)}` | {_cell(fmt.board(m.board_id))} | {_lines(m.values)} | "
            f"{_lines(m.baseline) or '-'} |" for m in report.metrics]
    return out + [""]


def _lines(values: tuple[str, ...]) -> str:
    """Several values in one cell, one per line."""
    return "<br>".join(html.escape(_cell(v)) for v in values)


def _matrix(report: Report) -> list[str]:
    m = report.matrix
    if not m.tests:
        return ["_no results recorded in this run_", ""]
    legend = " ".join(f"{sym} {name}" for name, sym in fmt.SYMBOL.items())
    out = ["<details><summary>Matrix: " f"{len(m.tests)} tests × {len(m.boards)} boards</summary>", "",
           legend, "", "| test | " + " | ".join(_cell(fmt.board(b)) for b in m.boards) + " |",
           "|---|" + "---|" * len(m.boards)]
    for test in m.tests:
        cells = [m.at(test, b) for b in m.boards]
        out.append(f"| `{_cell(test)}` | " + " | ".join(fmt.SYMBOL[c.outcome] if c else "" for c in cells) + " |")
    return out + ["", "</details>", ""]


def _failures(report: Report, tails: bool) -> list[str]:
    failed = [c for c in report.matrix.cells.values() if c.outcome in FAILING]
    if not failed:
        return []
    out = [f"### Failures ({len(failed)})", ""]
    for c in sorted(failed, key=lambda c: (c.test, c.board_id or "")):
        out += _fold(f"{c.test_id} on {fmt.board(c.board_id)}: {c.outcome}", c.message, c.transcript if tails else None)
    return out


def _history(report: Report) -> list[str]:
    if not report.history:
        return []
    runs = [r.id for r in report.history_runs]
    out = [f"### Pass rate per firmware (last {len(runs)} runs)", "", "| firmware | trend | latest |", "|---|---|---|"]
    for label in sorted({p.firmware for p in report.history}):
        points = {p.run_id: p for p in report.history if p.firmware == label}
        trend = "".join(_SPARK[min(7, int(points[r].rate * 8))] if r in points else " " for r in runs)
        last = points[max(points, key=runs.index)]
        out.append(f"| {_cell(label)} | `{trend}` | {last.rate:.0%} ({last.passed}/{last.total}) |")
    return out + [""]


def _fold(title: str, message: str, tail: str | None) -> list[str]:
    body = message.strip()
    if tail:
        lines = tail.splitlines()
        body += "\n--- transcript tail ---\n" + "\n".join(lines[-TAIL_LINES:])
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", body)), default=0))
    return [f"<details><summary>{html.escape(fmt.first_line(title, 160))}</summary>", "",
            f"{fence}text", body, fence, "", "</details>", ""]


def _cell(text: str) -> str:
    """Safe inside a table cell: one line, pipes escaped."""
    return text.replace("\n", " ").replace("|", "\\|")
