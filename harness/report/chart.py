"""Pass rate per firmware version over the last runs, as inline SVG: viewable with no network.

Native `<title>` elements give each point a tooltip, so no script is needed.
"""

from __future__ import annotations

import html

from esp_hil.report import fmt
from esp_hil.report.model import HistoryPoint
from esp_hil.results import Run

COLORS = ("#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#cf222e", "#1b7c83", "#6e7781")
WIDTH, HEIGHT = 880, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 220, 16, 44


def pass_rate_svg(points: list[HistoryPoint], runs: list[Run]) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    index = {r.id: i for i, r in enumerate(runs)}

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if len(runs) == 1 else plot_w * i / (len(runs) - 1))

    def y(rate: float) -> float:
        return TOP + plot_h * (1 - rate)

    parts = [f'<svg class="chart" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="pass rate per firmware version" '
             'font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="11">']
    parts += _grid(y, plot_w)
    parts += _x_labels(runs, x)
    labels = sorted({p.firmware for p in points})
    for n, label in enumerate(labels):
        color = COLORS[n % len(COLORS)]
        series = sorted((p for p in points if p.firmware == label and p.run_id in index), key=lambda p: index[p.run_id])
        parts += _series(series, color, index, x, y)
        parts += _legend_entry(n, label, color, series[-1] if series else None)
    parts.append("</svg>")
    return "".join(parts)


def _grid(y, plot_w: float) -> list[str]:
    out = []
    for pct in (0, 25, 50, 75, 100):
        yy = y(pct / 100)
        dash = "" if pct in (0, 100) else ' stroke-dasharray="3 3"'
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#d0d7de" '
                   f'stroke-width="1"{dash}/>')
        out.append(f'<text x="{LEFT - 8}" y="{yy + 4:.1f}" text-anchor="end" fill="#656d76">{pct}%</text>')
    return out


def _x_labels(runs: list[Run], x) -> list[str]:
    step = max(1, (len(runs) + 7) // 8)  # at most about eight labels
    out = []
    for i, run in enumerate(runs):
        if i % step and i != len(runs) - 1:
            continue
        label = fmt.when(run.started)[5:16]
        out.append(f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" fill="#656d76">'
                   f'{html.escape(label)}<title>{html.escape(run.id)}</title></text>')
    return out


def _series(series: list[HistoryPoint], color: str, index: dict[str, int], x, y) -> list[str]:
    coords = [(x(index[p.run_id]), y(p.rate)) for p in series]
    out = []
    if len(coords) > 1:
        path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5" '
                   'stroke-linejoin="round" stroke-linecap="round"/>')
    for p, (cx, cy) in zip(series, coords):
        tip = f"{p.firmware}: {p.rate:.0%} ({p.passed}/{p.total}) in run {p.run_id}"
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="#fff" stroke="{color}" stroke-width="2">'
                   f'<title>{html.escape(tip)}</title></circle>')
    return out


def _legend_entry(n: int, label: str, color: str, last: HistoryPoint | None) -> list[str]:
    lx, ly = WIDTH - RIGHT + 20, TOP + 8 + n * 20
    shown = label if len(label) <= 24 else label[:23] + "…"
    rate = f" {last.rate:.0%}" if last else ""
    return [f'<rect x="{lx}" y="{ly - 8}" width="12" height="12" rx="2" fill="{color}"/>',
            f'<text x="{lx + 18}" y="{ly + 2}" fill="#1f2328">{html.escape(shown)}'
            f'<tspan fill="#656d76">{rate}</tspan><title>{html.escape(label)}</title></text>']
