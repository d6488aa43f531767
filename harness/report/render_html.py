"""The report as one self-contained HTML file for people: inline CSS and SVG, nothing fetched.

Regressions are at the top in red; the matrix cells are colored by outcome, and a
failing cell opens its message and transcript tail in a panel (`<details>`, so it
works without script; a few lines of inline script keep one panel open at a time).
"""

from __future__ import annotations

import html

from esp_hil.report import fmt
from esp_hil.report.cells import FAILING, Cell
from esp_hil.report.chart import pass_rate_svg
from esp_hil.report.model import Change, Report

LABEL = {"passed": "pass", "failed": "FAIL", "error": "ERROR", "skipped": "skip", "xfailed": "xfail",
         "xpassed": "XPASS"}


def render(report: Report) -> str:
    body = "\n".join([
        _header(report),
        _nav(report),
        _changes(report, "regressions", "Regressions", report.regressions,
                 "passed in the baseline on the same board and firmware, fails now"),
        _changes(report, "fixes", "Fixes", report.fixes, "failed in the baseline, passes now"),
        _changes(report, "new", "New tests", report.new, "not in the baseline"),
        _changes(report, "removed", "Removed tests", report.removed, "in the baseline, not in this run"),
        _changes(report, "not-run", "Not run", report.not_run, "in the baseline; the run was cut short before them"),
        _flaky(report),
        _lost_and_skipped(report),
        _durations(report),
        _metrics(report),
        _boards(report),
        _matrix(report),
        _history(report),
        f'<footer>esp-hil report · run {_e(report.run.id)}</footer>',
    ])
    return _PAGE.format(title=_e(f"esp-hil report · {report.run.id}"), css=_CSS, body=body, js=_JS)


def _header(report: Report) -> str:
    run, base = report.run, report.baseline
    state = f' <span class="warn">{fmt.ending(run)}</span>' if fmt.ending(run) else ""
    rows = [("run", f"<code>{_e(run.id)}</code>{state}"), ("suite", f"<code>{_e(run.suite)}</code>"),
            ("started", _e(fmt.when(run.started))), ("git", f"<code>{_e(fmt.rev(run.git_rev))}</code>"),
            ("host", _e(run.host)),
            ("baseline", f"<code>{_e(base.id)}</code> · {_e(fmt.when(base.started))} · git <code>"
                         f"{_e(fmt.rev(base.git_rev))}</code>" if base else "<em>none: nothing to compare with</em>")]
    pills = "".join(f'<span class="pill o-{o}">{n} {o}</span>' for o, n in report.totals.items() if n)
    meta = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    verdict = "bad" if report.regressions or report.lost or not run.complete else "good"
    return (f'<header><h1>esp-hil report</h1><p class="headline {verdict}">{_e(fmt.headline(report))}</p>'
            f'<dl class="meta">{meta}</dl><div class="pills">{pills or "no results"}</div>'
            f'<p class="cmd" title="command line"><code>{_e(run.command)}</code></p></header>')


def _nav(report: Report) -> str:
    links = [("regressions", f"Regressions ({len(report.regressions)})", bool(report.baseline)),
             ("fixes", f"Fixes ({len(report.fixes)})", bool(report.fixes)),
             ("new", f"New ({len(report.new)})", bool(report.new)),
             ("removed", f"Removed ({len(report.removed)})", bool(report.removed)),
             ("not-run", f"Not run ({len(report.not_run)})", bool(report.not_run)),
             ("flaky", f"Flaky ({len(report.flaky)})", bool(report.flaky)),
             ("lost", "Lost / recovered / skipped", bool(report.lost or report.recovered or report.skipped)),
             ("durations", f"Durations ({len(report.durations)})", bool(report.durations)),
             ("metrics", f"Metrics ({len(report.metrics)})", bool(report.metrics)),
             ("boards", "Boards", True), ("matrix", "Matrix", True), ("history", "Pass rate", bool(report.history))]
    return "<nav>" + "".join(f'<a href="#{a}">{t}</a>' for a, t, show in links if show) + "</nav>"


def _changes(report: Report, anchor: str, title: str, changes: list[Change], note: str) -> str:
    if not report.baseline or (not changes and anchor != "regressions"):
        return ""
    if not changes:
        return (f'<section id="{anchor}" class="{anchor} none"><h2>No regressions</h2>'
                f'<p class="note">{note}</p></section>')
    rows = "".join(
        f"<tr><td class=t>{_test(c.test_id)}{' <span class=flag>flaky?</span>' if c.flaky else ''}</td>"
        f"<td class=nowrap>{_e(fmt.board(c.board_id))}</td>"
        f"<td class=nowrap>{_e(fmt.firmware_change(c.baseline_firmware, c.firmware))}</td>"
        f"<td class=nowrap>{_badge(c.baseline_outcome)} → {_badge(c.outcome)}</td>"
        f"<td class=msg>{_details(c.message, c.transcript) if c.outcome in FAILING else _e(fmt.first_line(c.message))}"
        "</td></tr>"
        for c in changes)
    return (f'<section id="{anchor}" class="{anchor}"><h2>{title} <span class="count">{len(changes)}</span></h2>'
            f'<p class="note">{note}</p><table class="list"><thead><tr><th>test</th><th>board</th><th>firmware</th>'
            f'<th>was → now</th><th>message</th></tr></thead><tbody>{rows}</tbody></table></section>')


def _flaky(report: Report) -> str:
    if not report.flaky:
        return ""
    rows = "".join(
        f"<tr><td class=t>{_test(f.test_id)}</td><td>{_e(fmt.board(f.board_id))}</td>"
        f"<td>{'on retry' if f.kind == 'retry' else f'{len(f.runs)} runs, same tests and firmware'}</td>"
        f"<td class=nowrap>{' '.join(_badge(o) for o in f.outcomes)}</td></tr>" for f in report.flaky)
    return (f'<section id="flaky" class="flaky"><h2>Flaky <span class="count">{len(report.flaky)}</span></h2>'
            '<p class="note">passed and failed on retry, or across runs of the same tests on the same firmware</p>'
            f'<table class="list"><thead><tr><th>test</th><th>board</th><th>seen</th><th>outcomes</th></tr></thead>'
            f'<tbody>{rows}</tbody></table></section>')


def _lost_and_skipped(report: Report) -> str:
    if not report.lost and not report.skipped and not report.recovered:
        return ""
    parts = ['<section id="lost" class="lost"><h2>Boards lost, recovered or skipped</h2>']
    if report.lost:
        rows = "".join(f"<tr><td><b>{_e(b.board_id)}</b></td><td>{_e(b.chip or '-')}</td><td>{_e(b.reason)}</td>"
                       f"<td>{b.tests or '-'}</td></tr>" for b in report.lost)
        parts.append('<table class="list"><thead><tr><th>lost board</th><th>chip</th><th>why</th>'
                     f'<th>baseline tests not run</th></tr></thead><tbody>{rows}</tbody></table>')
    if report.recovered:
        rows = "".join(f"<tr><td>{_e(fmt.board(r.board_id))}</td><td class=t>{_test(r.test_id)}</td>"
                       f"<td>{_e(r.step)}</td><td>{_e(r.event.tried() or '-')}</td><td>{_e(r.event.cause or '-')}</td>"
                       "</tr>" for r in report.recovered)
        parts.append('<table class="list"><thead><tr><th>recovered board</th><th>test</th>'
                     '<th>brought back by</th><th>tried first</th><th>why</th>'
                     f'</tr></thead><tbody>{rows}</tbody></table>')
    if report.skipped:
        rows = "".join(
            f"<tr><td>{_e(fmt.board(s.board_id))}</td><td>{_e(s.reason)}</td><td><details><summary>{len(s.tests)} "
            f"test{'s' if len(s.tests) != 1 else ''}</summary><ul>{_items(s.tests)}</ul></details></td></tr>"
            for s in report.skipped)
        parts.append('<table class="list"><thead><tr><th>board</th><th>skipped because</th><th>tests</th></tr>'
                     f'</thead><tbody>{rows}</tbody></table>')
    return "".join(parts) + "</section>"


def _durations(report: Report) -> str:
    if not report.durations:
        return ""
    rows = "".join(f"<tr><td class=t>{_test(d.test_id)}</td><td>{_e(fmt.board(d.board_id))}</td>"
                   f"<td class=num>{fmt.seconds(d.before)}</td><td class=num>{fmt.seconds(d.now)}</td>"
                   f"<td class='num {'slower' if d.ratio > 1 else 'faster'}'>×{d.ratio:.1f}</td></tr>"
                   for d in report.durations)
    return (f'<section id="durations"><h2>Duration changes <span class="count">{len(report.durations)}</span></h2>'
            '<table class="list"><thead><tr><th>test</th><th>board</th><th>before</th><th>now</th><th>change</th>'
            f'</tr></thead><tbody>{rows}</tbody></table></section>')


def _metrics(report: Report) -> str:
    if not report.metrics:
        return ""
    rows = "".join(f"<tr><td class=t>{_test(m.test_id)}</td><td>{_e(fmt.board(m.board_id))}</td>"
                   f"<td>{'<br>'.join(_e(v) for v in m.values)}</td>"
                   f"<td>{'<br>'.join(_e(v) for v in m.baseline) or '-'}</td></tr>" for m in report.metrics)
    return (f'<section id="metrics"><h2>Metrics <span class="count">{len(report.metrics)}</span></h2>'
            '<p class="note">what the tests printed as OUTPUT_METRIC, beside the baseline\'s</p>'
            '<table class="list"><thead><tr><th>test</th><th>board</th><th>now</th><th>baseline</th>'
            f'</tr></thead><tbody>{rows}</tbody></table></section>')


def _boards(report: Report) -> str:
    if not report.boards:
        return '<section id="boards"><h2>Boards</h2><p class="note">no board was used in this run</p></section>'
    rows = "".join(
        f"<tr{' class=lostrow' if b.lost else ''}><td><b>{_e(b.board_id)}</b></td><td>{_e(b.chip or '-')}</td>"
        f"<td>{_e(fmt.firmware(b))}</td><td><code class=sha>{_e((b.firmware_sha256 or '-')[:16])}</code></td>"
        f"<td><span class='kind {fmt.board_kind(b)}'>{fmt.board_kind(b)}</span></td><td>{_e(fmt.ran_on(b))}</td>"
        f"<td><code>{_e(b.url or '-')}</code></td><td>{_e(b.lost or '')}</td></tr>" for b in report.boards)
    return ('<section id="boards"><h2>Boards</h2><table class="list"><thead><tr><th>board</th><th>chip</th>'
            '<th>firmware</th><th>sha256</th><th>kind</th><th>ran on</th><th>port</th><th>lost</th></tr></thead>'
            f'<tbody>{rows}</tbody></table></section>')


def _matrix(report: Report) -> str:
    m = report.matrix
    if not m.tests:
        return '<section id="matrix"><h2>Matrix</h2><p class="note">no results recorded in this run</p></section>'
    boards = {b.board_id: b for b in report.boards}
    head = "".join(f"<th class=board>{_e(fmt.board(b))}<small>{_e(_board_note(boards.get(b)))}</small></th>"
                   for b in m.boards)
    rows, last_file = [], None
    for test in m.tests:
        file, _, name = test.rpartition("::")
        if file != last_file:
            rows.append(f'<tr class="file"><th colspan="{len(m.boards) + 1}">{_e(file or "(no file)")}</th></tr>')
            last_file = file
        cells = "".join(_matrix_cell(m.at(test, b)) for b in m.boards)
        rows.append(f"<tr><th class=test title='{_e(test)}'>{_e(name)}</th>{cells}</tr>")
    legend = "".join(f'<span class="cell-key o-{o}">{LABEL[o]}</span> {o} ' for o in LABEL)
    return (f'<section id="matrix"><h2>Matrix <span class="count">{len(m.tests)} × {len(m.boards)}</span></h2>'
            f'<p class="note">click a failing cell for its message and transcript tail · {legend}</p>'
            f'<div class="scroll"><table class="matrix"><thead><tr><th></th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div></section>')


def _matrix_cell(cell: Cell | None) -> str:
    if cell is None:
        return '<td class="o-none">·</td>'
    retried = len(cell.attempts) > 1
    label = LABEL[cell.outcome] + (f" ({len(cell.attempts)}×)" if retried else "")
    klass = f"o-{cell.outcome}" + (" retried" if retried else "")
    tip = f"{cell.outcome}, {fmt.seconds(cell.duration)}"
    tip += f": {fmt.first_line(cell.message)}" if cell.message else ""
    if cell.outcome not in FAILING and not (cell.outcome == "skipped" and cell.message):
        return f'<td class="{klass}" title="{_e(tip)}">{label}</td>'
    if cell.outcome == "skipped":
        return f'<td class="o-skipped" title="{_e(tip)}">{label}</td>'
    title = f"{cell.test_id} on {fmt.board(cell.board_id)}"
    return (f'<td class="{klass}" title="{_e(tip)}"><details class="pop"><summary>{label}</summary>'
            f'<div class="panel"><div class="panel-title"><span>{_e(title)}</span><button type="button" class="close" '
            f'onclick="this.closest(\'details\').open = false">close ✕</button></div>'
            f'{_pre(cell.message, cell.transcript)}</div></details></td>')


def _history(report: Report) -> str:
    if not report.history:
        return ""
    return (f'<section id="history"><h2>Pass rate per firmware version</h2><p class="note">last '
            f'{len(report.history_runs)} runs of this suite; passed / (passed + failed + error)</p>'
            f'{pass_rate_svg(report.history, report.history_runs)}</section>')


def _details(message: str, tail: str | None) -> str:
    summary = fmt.first_line(message, 100) or "transcript"
    return f"<details><summary>{_e(summary)}</summary>{_pre(message, tail)}</details>"


def _pre(message: str, tail: str | None) -> str:
    out = f"<pre class=message>{_e(message.strip() or '(no message)')}</pre>"
    if tail:
        out += f"<div class=tail-title>transcript tail</div><pre class=tail>{_e(tail)}</pre>"
    return out


def _test(test_id: str) -> str:
    file, sep, name = test_id.rpartition("::")
    return f'<code class="test"><span class="file">{_e(file + sep)}</span>{_e(name)}</code>'


def _items(tests: tuple[str, ...]) -> str:
    return "".join(f"<li><code>{_e(t)}</code></li>" for t in tests)


def _badge(outcome: str | None) -> str:
    if outcome is None:
        return '<span class="badge o-none">—</span>'
    return f'<span class="badge o-{outcome}">{outcome}</span>'


def _board_note(board) -> str:
    if board is None:
        return ""
    parts = (board.chip, board.firmware_version, board.ran_on or ("virtual" if board.virtual else None),
             "LOST" if board.lost else None)
    return " · ".join(p for p in parts if p)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body>
{body}
<script>{js}</script>
</body></html>
"""

_JS = """document.querySelectorAll('details.pop').forEach(function (d) {
  d.addEventListener('toggle', function () {
    if (d.open) document.querySelectorAll('details.pop[open]').forEach(function (o) { if (o !== d) o.open = false; });
  });
});
document.addEventListener('keydown', function (e) {
  if (e.key === 'Escape') document.querySelectorAll('details.pop[open]').forEach(function (o) { o.open = false; });
});"""

_CSS = """
:root { --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --bg:#ffffff; --soft:#f6f8fa;
  --pass:#1a7f37; --pass-bg:#dafbe1; --fail:#cf222e; --fail-bg:#ffebe9; --err:#a40e26; --err-bg:#ffcecb;
  --skip:#6e7781; --skip-bg:#eaeef2; --xf:#57606a; --xf-bg:#f6f8fa; --xp:#9a6700; --xp-bg:#fff8c5; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1280px; padding: 24px 28px 60px; color: var(--fg); background: var(--bg);
  font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
code, pre { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: 12.5px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 6px; display: flex; align-items: center; gap: 8px; }
header { border-bottom: 1px solid var(--line); padding-bottom: 14px; margin-bottom: 10px; }
.headline { font-size: 17px; font-weight: 600; margin: 0 0 10px; }
.headline.bad { color: var(--fail); } .headline.good { color: var(--pass); }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 10px; }
.meta dt { color: var(--muted); } .meta dd { margin: 0; }
.cmd { margin: 8px 0 0; color: var(--muted); overflow-wrap: anywhere; }
.pills { display: flex; flex-wrap: wrap; gap: 6px; }
.pill { padding: 2px 10px; border-radius: 999px; font-weight: 600; font-size: 13px; }
.warn { color: #fff; background: var(--xp); border-radius: 4px; padding: 0 6px; font-size: 12px; }
nav { position: sticky; top: 0; background: rgba(255,255,255,.95); padding: 8px 0; margin-bottom: 8px; z-index: 5;
  border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; gap: 4px 16px; }
nav a { color: #0969da; text-decoration: none; } nav a:hover { text-decoration: underline; }
section { margin: 18px 0 26px; padding: 14px 16px; border: 1px solid var(--line); border-radius: 8px; }
section.regressions { border: 1px solid #ff8182; border-left: 6px solid var(--fail); background: #fff8f8; }
section.regressions h2 { color: var(--fail); }
section.regressions.none { border-color: var(--line); border-left-color: var(--pass); background: #f6fff8; }
section.regressions.none h2 { color: var(--pass); }
section.fixes { border-left: 6px solid var(--pass); } section.fixes h2 { color: var(--pass); }
section.flaky { border-left: 6px solid #d4a72c; } section.lost { border-left: 6px solid var(--skip); }
.count { font-size: 13px; font-weight: 600; background: var(--soft); border: 1px solid var(--line);
  border-radius: 999px; padding: 0 8px; color: var(--fg); }
.note { color: var(--muted); margin: 0 0 10px; }
table { border-collapse: collapse; }
table.list { width: 100%; }
table.list th, table.list td { text-align: left; vertical-align: top; padding: 6px 10px;
  border-bottom: 1px solid var(--line); }
table.list thead th { font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
.nowrap { white-space: nowrap; } .num { text-align: right; white-space: nowrap; }
.slower { color: var(--fail); font-weight: 600; } .faster { color: var(--pass); font-weight: 600; }
code.test { overflow-wrap: anywhere; } code.test .file { color: var(--muted); }
td.t { min-width: 340px; } td.msg { min-width: 260px; }
.badge { display: inline-block; padding: 0 7px; border-radius: 4px; font-size: 12px; font-weight: 600; }
.flag { font-size: 11px; color: var(--xp); background: var(--xp-bg); border-radius: 4px; padding: 0 5px; }
.kind { font-size: 12px; padding: 0 6px; border-radius: 4px; background: var(--soft); border: 1px solid var(--line); }
.kind.virtual { color: #8250df; border-color: #d8b9ff; background: #fbefff; }
.lostrow td { color: var(--fail); }
.sha { color: var(--muted); }
details > summary { cursor: pointer; }
pre { background: #0d1117; color: #e6edf3; padding: 10px 12px; border-radius: 6px; white-space: pre-wrap;
  overflow-wrap: anywhere; max-height: 360px; overflow: auto; margin: 6px 0; }
pre.message { background: var(--fail-bg); color: var(--fg); border: 1px solid #ffcecb; }
.tail-title { font-size: 12px; color: var(--muted); margin-top: 6px; }
.o-passed { background: var(--pass-bg); color: var(--pass); }
.o-failed { background: var(--fail-bg); color: var(--fail); }
.o-error { background: var(--err-bg); color: var(--err); }
.o-skipped { background: var(--skip-bg); color: var(--skip); }
.o-xfailed { background: var(--xf-bg); color: var(--xf); }
.o-xpassed { background: var(--xp-bg); color: var(--xp); }
.o-none { color: #afb8c1; }
.scroll { overflow-x: auto; }
table.matrix th, table.matrix td { border: 1px solid #fff; padding: 4px 10px; }
table.matrix thead th.board { background: var(--soft); font-weight: 600; text-align: center; min-width: 110px;
  vertical-align: bottom; }
table.matrix thead th small { display: block; font-weight: 400; color: var(--muted); font-size: 11px; }
table.matrix tr.file th { text-align: left; background: #fff; color: var(--muted); font-weight: 600;
  font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; padding-top: 10px; }
table.matrix th.test { text-align: left; font-weight: 400; padding-left: 18px; white-space: nowrap;
  font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
table.matrix td { text-align: center; font-weight: 600; font-size: 12px; white-space: nowrap; }
table.matrix tbody tr:hover th.test { background: var(--soft); }
.cell-key { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 11px; font-weight: 600; }
details.pop > summary { list-style: none; text-decoration: underline dotted; }
details.pop > summary::-webkit-details-marker { display: none; }
details.pop[open] > summary { outline: 2px solid currentColor; border-radius: 3px; }
details.pop .panel { position: fixed; left: 0; right: 0; bottom: 0; max-height: 55vh; overflow: auto; z-index: 20;
  background: #fff; color: var(--fg); text-align: left; font-weight: 400; white-space: normal;
  border-top: 3px solid var(--fail); box-shadow: 0 -6px 24px rgba(0,0,0,.18); padding: 12px 28px 16px; }
.panel-title { display: flex; justify-content: space-between; align-items: center; gap: 12px; font-weight: 600;
  font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
button.close { font: 600 12px/1 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg);
  background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 5px 10px; cursor: pointer; }
button.close:hover { background: #eaeef2; }
body:has(details.pop[open]) { padding-bottom: 58vh; }
td.retried { box-shadow: inset 0 0 0 2px #d4a72c; }
svg.chart { max-width: 100%; height: auto; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 30px; }
"""
