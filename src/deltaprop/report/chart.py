"""The report's charts as hand-written SVG: lines over epochs, and stacked bars.

matplotlib took longer to import and draw the report's four charts than a 10,000-row MNIST
run took to train; these draw the same axes, ticks, legends and shaded bands in a few
milliseconds.  Tick labels are written by :func:`~deltaprop.report.numbers.format_number`.
Output is deterministic (the same history gives the same bytes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np

from deltaprop.report.numbers import format_number

__all__ = ["line_chart", "bar_chart"]

WIDTH, LEFT, RIGHT, TOP, BOTTOM = 960.0, 78.0, 16.0, 34.0, 44.0
FONT = 12.0


def _text_width(text: str, size: float = FONT) -> float:
    return 0.62 * size * len(text)


def _nice_ticks(lo: float, hi: float, integer: bool = False) -> list[float]:
    """About six round ticks within [lo, hi] (steps of 1, 2, 2.5 or 5 × 10ⁿ; whole with ``integer``)."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / 6
    mag = 10 ** math.floor(math.log10(raw))
    step = mag * next(s for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    if integer:
        step = max(1.0, round(step))
    first = math.ceil(lo / step - 1e-9) * step
    return [float(t) for t in np.arange(first, hi + step * 1e-9, step)]


def _log_ticks(lo: float, hi: float) -> list[float]:
    a, b = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
    every = max(1, math.ceil((b - a + 1) / 8))
    return [10.0**e for e in range(a, b + 1, every)]


class _Axes:
    """Data → SVG coordinates for one chart, x linear, y linear or log."""

    def __init__(self, x: tuple[float, float], y: tuple[float, float], height: float, log: bool):
        self.x0, self.x1 = x if x[1] > x[0] else (x[0] - 0.5, x[0] + 0.5)
        self.y0, self.y1 = y if y[1] > y[0] else (y[0] - 0.5, y[0] + 0.5)
        self.height, self.log = height, log
        self.parts: list[str] = []

    def px(self, x: float) -> float:
        return LEFT + (x - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)

    def py(self, y: float) -> float:
        f = (
            (math.log10(y) - math.log10(self.y0)) / (math.log10(self.y1) - math.log10(self.y0))
            if self.log
            else (y - self.y0) / (self.y1 - self.y0)
        )
        return self.height - BOTTOM - f * (self.height - TOP - BOTTOM)

    def frame(self, xlabel: str, ylabel: str, integer_x: bool, y_ticks: bool = True) -> None:
        """Grid, ticks and axis labels."""
        bottom, left = self.height - BOTTOM, LEFT
        yt = _log_ticks(self.y0, self.y1) if self.log else _nice_ticks(self.y0, self.y1)
        for t in _nice_ticks(self.x0, self.x1, integer_x):
            x = self.px(t)
            self.parts.append(
                f'<line class="grid" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom}"/>'
                f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{format_number(t)}</text>'
            )
        for t in yt if y_ticks else []:
            y = self.py(t)
            self.parts.append(
                f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>'
                f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(format_number(t, 3))}</text>'
            )
        mid = (TOP + bottom) / 2
        self.parts.append(
            f'<line class="axis" x1="{left}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}"/>'
            f'<line class="axis" x1="{left}" y1="{TOP}" x2="{left}" y2="{bottom}"/>'
            f'<text x="{(left + WIDTH - RIGHT) / 2:.1f}" y="{self.height - 8}" text-anchor="middle">'
            f"{escape(xlabel)}</text>"
            f'<text x="14" y="{mid:.1f}" text-anchor="middle" transform="rotate(-90 14 {mid:.1f})">'
            f"{escape(ylabel)}</text>"
        )

    def path(self, xs: np.ndarray, ys: np.ndarray, colour: str, dash: str = "") -> None:
        """A polyline through the finite points (a gap where y is not finite or, on a log axis, ≤ 0)."""
        ok = np.isfinite(ys) & ((ys > 0) if self.log else True)
        d, pen = [], "M"
        for x, y, good in zip(xs, ys, ok):
            if not good:
                pen = "M"
                continue
            d.append(f"{pen}{self.px(x):.1f} {self.py(y):.1f}")
            pen = "L"
        if d:
            style = f' stroke-dasharray="{dash}"' if dash else ""
            self.parts.append(
                f'<path d="{" ".join(d)}" fill="none" stroke="{colour}" stroke-width="1.8"{style}/>'
            )

    def legend(self, entries: Sequence[tuple[str, str]]) -> None:
        """Swatches and labels in a row above the plot area (never over the lines)."""
        x = LEFT
        for label, colour in entries:
            self.parts.append(
                f'<rect x="{x:.1f}" y="{TOP - 20}" width="14" height="4" fill="{colour}"/>'
                f'<text x="{x + 18:.1f}" y="{TOP - 14}">{escape(label)}</text>'
            )
            x += 18 + _text_width(label) + 18

    def svg(self, title: str) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" '
            f'viewBox="0 0 {WIDTH:.0f} {self.height:.0f}" '
            f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
            + "".join(self.parts)
            + "</svg>"
        )


def line_chart(
    lines: Sequence[tuple[str, np.ndarray, np.ndarray, str]],
    *,
    title: str,
    ylabel: str,
    log: bool = False,
    ylim: tuple[float, float] | None = None,
    bands: Sequence[tuple[float, float, str, str]] = (),
    vline: tuple[float, str, str] | None = None,
    height: float = 300.0,
) -> str:
    """Lines (label, epochs, values, colour) against the epoch; ``bands``: shaded y ranges
    (lo, hi, colour, legend label or "") drawn under the lines; ``vline``: (epoch, label, colour), dashed."""
    xs = np.concatenate([np.asarray(x, dtype=float) for _, x, _, _ in lines])
    if ylim is None:
        ys = np.concatenate([np.asarray(y, dtype=float) for _, _, y, _ in lines])
        ys = ys[np.isfinite(ys) & ((ys > 0) if log else True)]
        lo, hi = (float(ys.min()), float(ys.max())) if ys.size else (1.0, 10.0)
        pad = 0.0 if log else 0.05 * (hi - lo)
        ylim = (lo / 1.2, hi * 1.2) if log else (lo - pad, hi + pad)
    axes = _Axes((1.0, float(max(xs.max(), 2.0))), ylim, height, log)
    for lo, hi, colour, _ in bands:
        y0, y1 = axes.py(max(lo, ylim[0])), axes.py(min(hi, ylim[1]))
        axes.parts.append(
            f'<rect class="band" x="{LEFT}" y="{y1:.1f}" width="{WIDTH - LEFT - RIGHT}" '
            f'height="{y0 - y1:.1f}" fill="{colour}"/>'
        )
    axes.frame("epoch", ylabel, integer_x=True)
    legend = [(label, colour) for label, _, _, colour in lines]
    for _, x, y, colour in lines:
        axes.path(np.asarray(x, dtype=float), np.asarray(y, dtype=float), colour)
    if vline is not None:
        epoch, label, colour = vline
        axes.path(np.array([epoch, epoch]), np.array(ylim), colour, dash="5 4")
        legend.append((label, colour))
    axes.legend(legend + [(label, colour) for _, _, colour, label in bands if label])
    return axes.svg(title)


def bar_chart(
    labels: Sequence[str], stacks: Sequence[tuple[str, np.ndarray, str]], *, title: str, xlabel: str
) -> str:
    """Horizontal bars, one per label, each stacking the shares of ``stacks`` (label, values,
    colour) on an axis from 0 to 1."""
    row = 30.0
    height = TOP + BOTTOM + row * len(labels)
    axes = _Axes((0.0, 1.0), (0.0, 1.0), height, log=False)
    axes.frame(xlabel, "", integer_x=False, y_ticks=False)
    left = np.zeros(len(labels))
    for _, values, colour in stacks:
        for n, v in enumerate(values):
            x0 = axes.px(float(left[n]))
            axes.parts.append(
                f'<rect x="{x0:.1f}" y="{TOP + n * row + 5:.1f}" '
                f'width="{axes.px(float(left[n] + v)) - x0:.1f}" '
                f'height="{row - 10:.1f}" fill="{colour}"/>'
            )
        left += values
    for n, label in enumerate(labels):
        axes.parts.append(
            f'<text x="{LEFT - 6}" y="{TOP + n * row + row / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
    axes.legend([(label, colour) for label, _, colour in stacks])
    return axes.svg(title)


#: the charts' CSS
CSS = """
svg.chart { font-family: system-ui, sans-serif; font-size: 12px; fill: #333; }
svg.chart .grid { stroke: #e5e7eb; stroke-width: 1; }
svg.chart .axis { stroke: #555; stroke-width: 1; }
svg.chart .band { opacity: 0.7; }
"""
