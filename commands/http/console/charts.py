"""Charts drawn on the server as SVG: no script, no network, and they print as they show."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


@dataclass(frozen=True)
class Series:
    name: str  # shown in the legend
    key: str  # passed to the link maker
    values: Sequence[int]


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[Series],
    link: Callable[[str, str], str] | None = None,
    title: str = "",
    width: int = 720,
    height: int = 260,
) -> Markup:
    """Bars per label, each stacked from the series; ``link(label, key)`` makes each segment
    a link (to the list behind the figure)."""
    left, top, legend_w = 44, 12, 150
    step = (width - left - legend_w) / max(len(labels), 1)
    # Labels wider than their bar's room are slanted (and the plot left room below for them).
    slant = max((len(label) * 6 for label in labels), default=0) > step
    bottom = 28 + (max(len(label) for label in labels) * 4 if slant else 0)
    plot_w, plot_h = width - left - legend_w, height - bottom - top
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    tick_step = max(1, math.ceil(max([*totals, 1]) / 4))
    peak = tick_step * 4  # whole-number ticks, the tallest bar under the top one
    bar = max(step * 0.7, 2)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
    ]
    for tick in range(5):
        value = tick_step * tick
        y = top + plot_h - plot_h * tick / 4
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">'
            f"{value:.0f}</text>"
        )
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        x = left + i * step + (step - bar) / 2
        y = top + plot_h
        for n, s in enumerate(series):
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / peak
            y -= h
            rect = (
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}"'
                f' fill="{PALETTE[n % len(PALETTE)]}"><title>{escape(label)} '
                f"{escape(s.name)}: {value}</title></rect>"
            )
            if link is not None:
                rect = f'<a href="{escape(link(label, s.key))}">{rect}</a>'
            out.append(rect)
        if i % every == 0 and slant:
            cx, cy = x + bar / 2, top + plot_h + 12
            out.append(
                f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="end" font-size="10"'
                f' transform="rotate(-35 {cx:.1f} {cy:.1f})">{escape(label)}</text>'
            )
        elif i % every == 0:
            out.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 10}" text-anchor="middle"'
                f' font-size="10">{escape(label)}</text>'
            )
    for n, s in enumerate(series):
        y = top + 14 * n
        colour = PALETTE[n % len(PALETTE)]
        out.append(
            f'<rect x="{width - legend_w + 8}" y="{y}" width="10" height="10"'
            f' fill="{colour}"/><text x="{width - legend_w + 22}" y="{y + 9}"'
            f' font-size="11">{escape(s.name)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def line(
    labels: Sequence[str],
    values: Sequence[float | None],
    title: str = "",
    width: int = 720,
    height: int = 160,
    peak: float = 5.0,
) -> Markup:
    """A line of one value per label (gaps where there is none), from 0 to ``peak``."""
    left, bottom, top = 44, 28, 12
    plot_w, plot_h = width - left - 20, height - bottom - top
    step = plot_w / max(len(labels) - 1, 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
    ]
    for tick in range(int(peak) + 1):
        y = top + plot_h - plot_h * tick / peak
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"'
            f' stroke="#ddd"/><text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end"'
            f' font-size="10">{tick}</text>'
        )
    points = []
    every = max(1, len(labels) // 12)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + i * step
        if value is not None:
            y = top + plot_h - plot_h * value / peak
            points.append(f"{x:.1f},{y:.1f}")
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PALETTE[0]}">'
                f"<title>{escape(label)}: {value}</title></circle>"
            )
        if i % every == 0:
            out.append(
                f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle"'
                f' font-size="10">{escape(label)}</text>'
            )
    if len(points) > 1:
        out.append(
            f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="2"'
            f' points="{" ".join(points)}"/>'
        )
    out.append("</svg>")
    return Markup("".join(out))
