"""Charts as hand-written inline SVG: no script, no external file, a few hundred bytes each.

Pure functions from numbers to markup. Every text is escaped here; what a text *says*
(translated labels, formatted numbers) is the caller's. Each chart names itself for screen
readers (``role="img"``, ``<title>``, ``<desc>``) and each point or bar carries a
``<title>`` with its value and interval, which browsers show on hover or long press without
JavaScript; the pages also print every number in a table.

What is drawn is what the site displays: estimates clamped at zero, interval ends clamped
at zero (a count is never negative, so the clamped interval still holds the true count
whenever the unclamped one does). The open data keeps the unclamped values.

Geometry is in a 360-unit-wide view box (a small phone's width in CSS pixels), scaled by
CSS to the page. Time runs left to right in every language; bar charts follow the page's
direction (labels and bars start at the right in Arabic).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 360
LEFT = 40    # room for the y axis labels
RIGHT = 12
TOP = 10
AXIS = 24    # room for the x axis labels


@dataclass(frozen=True)
class Point:
    """One value with its 95 % interval, and the texts that go with it."""

    axis_label: str   # short, under the x axis (line charts) or above the bar
    estimate: float
    lower: float
    upper: float
    value_text: str   # e.g. "March 2025: 12 (95 % interval: 3 to 21)", for the tooltip
    short_text: str = ""  # e.g. "12", at the end of a bar

    @property
    def shown(self) -> tuple[float, float, float]:
        """(estimate, lower, upper) as displayed: rounded, clamped at zero."""
        return (max(0.0, float(round(self.estimate))), max(0.0, math.floor(self.lower)),
                max(0.0, math.ceil(self.upper)))


def nice_ceiling(value: float) -> tuple[float, float]:
    """A round axis maximum at or above `value`, and its tick step (1, 2 or 5 x 10^k)."""
    if value <= 0:
        return 1.0, 1.0
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1.0)  # counts: no fractional ticks
    return step * math.ceil(value / step), step


def axis_number(value: float) -> str:
    """Compact tick label: 1500 -> 1.5k, 2000000 -> 2M (ticks only; tables spell it out)."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _header(chart_id: str, title: str, desc: str, height: float, css: str,
            direction: str = "ltr") -> str:
    return (f'<svg class="{css}" viewBox="0 0 {WIDTH} {_f(height)}" role="img" '
            f'direction="{direction}" aria-labelledby="{chart_id}-t {chart_id}-d">'
            f'<title id="{chart_id}-t">{escape(title)}</title>'
            f'<desc id="{chart_id}-d">{escape(desc)}</desc>')


def line_chart(points: Sequence[Point], *, chart_id: str, title: str, desc: str,
               y_max: float | None = None, height: float = 200, small: bool = False
               ) -> Markup:
    """A time series: the estimate as a line with dots, the 95 % interval as a band."""
    top_value = max((p.shown[2] for p in points), default=0.0)
    axis_max, step = nice_ceiling(max(top_value, y_max or 0.0))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = height - TOP - AXIS
    n = len(points)

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / axis_max)

    out = [_header(chart_id, title, desc, height, "chart small" if small else "chart")]
    ticks = round(axis_max / step)
    every = max(1, math.ceil(ticks / (2 if small else 4)))
    for k in range(0, ticks + 1, every):
        v = k * step
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_f(y(v))}" '
                   f'y2="{_f(y(v))}"/><text class="tick" x="{LEFT - 4}" y="{_f(y(v) + 4)}" '
                   f'text-anchor="end">{escape(axis_number(v))}</text>')
    shown = [p.shown for p in points]
    if n:
        upper = " ".join(f"{_f(x(i))},{_f(y(s[2]))}" for i, s in enumerate(shown))
        lower = " ".join(f"{_f(x(i))},{_f(y(s[1]))}" for i, s in reversed(list(
            enumerate(shown))))
        out.append(f'<polygon class="band" points="{upper} {lower}"/>')
        line = " ".join(f"{_f(x(i))},{_f(y(s[0]))}" for i, s in enumerate(shown))
        out.append(f'<polyline class="line" points="{line}"/>')
    label_every = max(1, math.ceil(n / (6 if small else 12)))
    for i, (p, s) in enumerate(zip(points, shown, strict=True)):
        out.append(f'<circle class="dot" cx="{_f(x(i))}" cy="{_f(y(s[0]))}" '
                   f'r="{2 if small else 3}"><title>{escape(p.value_text)}</title></circle>')
        if i % label_every == 0:
            out.append(f'<text class="tick" x="{_f(x(i))}" y="{_f(height - AXIS + 14)}" '
                       f'text-anchor="middle">{escape(p.axis_label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text above went through escape()


ROW = 34  # label line, bar, gap
BAR = 12
VALUE_ROOM = 70  # right of the longest whisker, for the number


def bar_chart(points: Sequence[Point], *, chart_id: str, title: str, desc: str,
              rtl: bool = False) -> Markup:
    """Horizontal bars (estimate) with interval whiskers, a label above each bar."""
    height = TOP + ROW * len(points) + 4
    top_value = max((p.shown[2] for p in points), default=0.0)
    axis_max, _ = nice_ceiling(top_value)
    pad = 8
    plot_w = WIDTH - 2 * pad - VALUE_ROOM

    def x(v: float) -> float:
        """Distance along the bar axis, mirrored for right-to-left pages."""
        pos = pad + plot_w * v / axis_max
        return WIDTH - pos if rtl else pos

    out = [_header(chart_id, title, desc, height, "chart bars", "rtl" if rtl else "ltr")]
    for i, (p, (est, lo, hi)) in enumerate(zip(points, (p.shown for p in points),
                                               strict=True)):
        top = TOP + ROW * i
        label_x = WIDTH - pad if rtl else pad
        out.append(f'<text class="label" x="{label_x}" y="{top + 10}" '
                   f'text-anchor="start">{escape(p.axis_label)}</text>')
        bar_y = top + 15
        a, b = sorted((x(0), x(est)))
        out.append(f'<rect class="bar" x="{_f(a)}" y="{bar_y}" width="{_f(b - a)}" '
                   f'height="{BAR}"><title>{escape(p.value_text)}</title></rect>')
        mid = bar_y + BAR / 2
        out.append(f'<path class="whisker" d="M{_f(x(lo))},{_f(mid)}H{_f(x(hi))}'
                   f'M{_f(x(lo))},{_f(mid - 4)}V{_f(mid + 4)}'
                   f'M{_f(x(hi))},{_f(mid - 4)}V{_f(mid + 4)}"/>')
        value_x = x(hi) + (-6 if rtl else 6)
        out.append(f'<text class="value" x="{_f(value_x)}" y="{_f(mid + 4)}" '
                   f'text-anchor="start">{escape(p.short_text)}</text>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text above went through escape()
