"""The report's charts as hand-written, deterministic SVG: lines over epochs, and stacked bars
(matplotlib took longer to import and draw them than a 10,000-row MNIST run took to train).
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


def _el(tag: str, text: str | None = None, **attrs: object) -> str:
    """One SVG element: ``class_`` is class, ``text_anchor`` text-anchor, floats to a tenth, text escaped."""
    written = " ".join(f'{k.rstrip("_").replace("_", "-")}="{v:.1f}"' if isinstance(v, float)
                       else f'{k.rstrip("_").replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f"<{tag} {written}/>" if text is None else f"<{tag} {written}>{escape(text)}</{tag}>"


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
    return [10.0**e for e in range(a, b + 1, max(1, math.ceil((b - a + 1) / 8)))]


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
        if self.log:
            f = (math.log10(y) - math.log10(self.y0)) / (math.log10(self.y1) - math.log10(self.y0))
        else:
            f = (y - self.y0) / (self.y1 - self.y0)
        return self.height - BOTTOM - f * (self.height - TOP - BOTTOM)

    def frame(self, xlabel: str, ylabel: str, integer_x: bool, y_ticks: bool = True) -> None:
        """Grid, ticks and axis labels."""
        bottom, right, mid = self.height - BOTTOM, WIDTH - RIGHT, (TOP + self.height - BOTTOM) / 2
        for t in _nice_ticks(self.x0, self.x1, integer_x):
            x = self.px(t)
            self.parts += [_el("line", class_="grid", x1=x, y1=TOP, x2=x, y2=bottom),
                           _el("text", format_number(t), x=x, y=bottom + 16, text_anchor="middle")]
        yt = _log_ticks(self.y0, self.y1) if self.log else _nice_ticks(self.y0, self.y1)
        for t in yt if y_ticks else []:
            y = self.py(t)
            self.parts += [_el("line", class_="grid", x1=LEFT, y1=y, x2=right, y2=y),
                           _el("text", format_number(t, 3), x=LEFT - 6, y=y + 4, text_anchor="end")]
        self.parts += [_el("line", class_="axis", x1=LEFT, y1=bottom, x2=right, y2=bottom),
                       _el("line", class_="axis", x1=LEFT, y1=TOP, x2=LEFT, y2=bottom),
                       _el("text", xlabel, x=(LEFT + right) / 2, y=self.height - 8, text_anchor="middle"),
                       _el("text", ylabel, x=14, y=mid, text_anchor="middle",
                           transform=f"rotate(-90 14 {mid:.1f})")]

    def path(self, xs: np.ndarray, ys: np.ndarray, colour: str, dash: str = "") -> None:
        """A polyline through the finite points (a gap where y is not finite or, on a log axis, ≤ 0)."""
        ok = np.isfinite(ys) & ((ys > 0) if self.log else True)
        d, pen = [], "M"
        for x, y, good in zip(xs, ys, ok):
            if good:
                d.append(f"{pen}{self.px(x):.1f} {self.py(y):.1f}")
            pen = "L" if good else "M"
        if d:
            style = {"stroke_dasharray": dash} if dash else {}
            self.parts.append(_el("path", d=" ".join(d), fill="none", stroke=colour, stroke_width="1.8",
                                  **style))

    def rect(self, x0: float, x1: float, y0: float, y1: float, colour: str, **attrs: str) -> None:
        """A filled rectangle between data coordinates x0 … x1 and SVG heights y0 … y1."""
        self.parts.append(_el("rect", **attrs, x=self.px(x0), y=y0, width=self.px(x1) - self.px(x0),
                              height=y1 - y0, fill=colour))

    def legend(self, entries: Sequence[tuple[str, str]]) -> None:
        """Swatches and labels in a row above the plot area (never over the lines)."""
        x = LEFT
        for label, colour in entries:
            self.parts += [_el("rect", x=x, y=TOP - 20, width="14", height="4", fill=colour),
                           _el("text", label, x=x + 18, y=TOP - 14)]
            x += 18 + 0.62 * FONT * len(label) + 18

    def svg(self, title: str) -> str:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH:.0f} '
                f'{self.height:.0f}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
                + "".join(self.parts) + "</svg>")


def line_chart(lines: Sequence[tuple[str, np.ndarray, np.ndarray, str]], *, title: str, ylabel: str,
               log: bool = False, ylim: tuple[float, float] | None = None,
               bands: Sequence[tuple[float, float, str, str]] = (),
               vline: tuple[float, str, str] | None = None, height: float = 300.0) -> str:
    """Lines (label, epochs, values, colour) against the epoch; ``bands``: shaded y ranges (lo, hi,
    colour, legend label or "") under the lines; ``vline``: (epoch, label, colour), dashed."""
    xs = np.concatenate([np.asarray(x, dtype=float) for _, x, _, _ in lines])
    if ylim is None:
        ys = np.concatenate([np.asarray(y, dtype=float) for _, _, y, _ in lines])
        ys = ys[np.isfinite(ys) & ((ys > 0) if log else True)]
        lo, hi = (float(ys.min()), float(ys.max())) if ys.size else (1.0, 10.0)
        pad = 0.05 * (hi - lo)
        ylim = (lo / 1.2, hi * 1.2) if log else (lo - pad, hi + pad)
    axes = _Axes((1.0, float(max(xs.max(), 2.0))), ylim, height, log)
    for lo, hi, colour, _ in bands:
        top, bottom = axes.py(min(hi, ylim[1])), axes.py(max(lo, ylim[0]))
        axes.rect(axes.x0, axes.x1, top, bottom, colour, class_="band")
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


def bar_chart(labels: Sequence[str], stacks: Sequence[tuple[str, np.ndarray, str]], *, title: str,
              xlabel: str) -> str:
    """Horizontal bars, one per label, each stacking the shares of ``stacks`` (label, values,
    colour) on an axis from 0 to 1."""
    row = 30.0
    axes = _Axes((0.0, 1.0), (0.0, 1.0), TOP + BOTTOM + row * len(labels), log=False)
    axes.frame(xlabel, "", integer_x=False, y_ticks=False)
    left = np.zeros(len(labels))
    for _, values, colour in stacks:
        for n, v in enumerate(values):
            axes.rect(float(left[n]), float(left[n] + v), TOP + n * row + 5, TOP + n * row + row - 5, colour)
        left += values
    axes.parts += [_el("text", label, x=LEFT - 6, y=TOP + n * row + row / 2 + 4, text_anchor="end")
                   for n, label in enumerate(labels)]
    axes.legend([(label, colour) for label, _, colour in stacks])
    return axes.svg(title)


#: the charts' CSS
CSS = """
svg.chart { font-family: system-ui, sans-serif; font-size: 12px; fill: #333; }
svg.chart .grid { stroke: #e5e7eb; stroke-width: 1; }
svg.chart .axis { stroke: #555; stroke-width: 1; }
svg.chart .band { opacity: 0.7; }
"""
