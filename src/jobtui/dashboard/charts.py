"""Time-series charts (textual-plotext): downsampled to the plot's width, readable time axes.

plotext's cost grows with the points (STACK-NOTES: 54 ms at 50, 468 ms at 3,600), so a series
is reduced to about one point per column before drawing, and only when the chart renders:
a hidden tab does not render. The y axes are ours too: round ticks from 0, as many as the
rows can hold apart (plotext's own put four on two rows, and labelled a flat 0 line
``33.3``); a chart with fewer rows than its axis needs says so instead of being drawn.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

Agg = Callable[[Sequence[float]], float]
AXIS_ROWS = 4  # plotext's rows around the plot: the frame's top and bottom, x labels, x title
MIN_ROWS = 5  # plot rows an axis needs: 0, the middle and the top each on a row of its own


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def downsample(
    xs: Sequence[float], ys: Sequence[float], points: int, agg: Agg = mean
) -> tuple[list[float], list[float]]:
    """At most ``points`` points: consecutive runs merged (x by mean, y by ``agg``)."""
    n = len(xs)
    points = max(1, points)
    if n <= points:
        return list(xs), list(ys)
    out_x: list[float] = []
    out_y: list[float] = []
    for i in range(points):
        lo, hi = i * n // points, (i + 1) * n // points
        if hi > lo:
            out_x.append(mean(xs[lo:hi]))
            out_y.append(agg(ys[lo:hi]))
    return out_x, out_y


_STEPS = (10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)


def time_ticks(t0: float, t1: float, width: int) -> tuple[list[float], list[str]]:
    """Tick positions (epoch seconds) on round local times, and their labels, for a plot
    ``width`` columns wide: about one label per 12 columns."""
    if t1 <= t0:
        return [t0], [_label(t0, 60, 0)]
    wanted = max(2, width // 12)
    step = next((s for s in _STEPS if (t1 - t0) / s <= wanted), _STEPS[-1])
    offset = _utcoffset(t0)
    first = math.ceil((t0 + offset) / step) * step - offset
    ticks: list[float] = []
    t = first
    while t <= t1:
        ticks.append(t)
        t += step
    return ticks, [_label(t, step, t1 - t0) for t in ticks]


def _utcoffset(t: float) -> float:
    off = datetime.fromtimestamp(t).astimezone().utcoffset()
    return off.total_seconds() if off else 0.0


def _label(t: float, step: float, spread: float) -> str:
    dt = datetime.fromtimestamp(t)
    if step >= 86400:
        return dt.strftime("%a %d")
    if spread > 86400:
        return dt.strftime("%a %H:%M")
    if step < 60:
        return dt.strftime("%H:%M:%S")
    return dt.strftime("%H:%M")


def nice_top(value: float) -> float:
    """The round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10ⁿ) at or above ``value``; 1 for
    nothing above 0 (a flat 0 line is labelled 0, at the bottom)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    steps = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
    return next(m * power for m in steps if m * power >= value * (1 - 1e-9))


def value_ticks(top: float, rows: int) -> tuple[list[float], list[str]]:
    """Ticks from 0 to ``top`` on a plot ``rows`` high, two rows apart at least: 4 or 2
    intervals that fall on rows exactly where the rows allow, else 2, else 1."""
    steps = rows - 1
    exact = [n for n in (4, 2) if steps % n == 0 and steps // n >= 2]
    intervals = exact[0] if exact else 2 if steps >= 4 else 1
    ticks = [top * i / intervals for i in range(intervals + 1)]
    return ticks, [f"{t:.3g}" for t in ticks]


def zone() -> str:
    return time.strftime("%Z")


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    ys: tuple[float, ...]
    color: str
    side: str = "left"  # or "right": a second y axis
    agg: Agg = mean


class TimeChart(PlotextPlot):
    """A line chart over time that draws itself at its current size."""

    DEFAULT_CSS = "TimeChart { width: 1fr; height: 1fr; min-height: 8; }"

    def __init__(
        self,
        *,
        ylabel: str = "",
        ylabel_right: str = "",
        ymax: float | None = None,
        id: str | None = None,
    ):
        super().__init__(id=id)
        self._ymax = ymax  # a fixed top of the left axis (100 for percentages)
        self._xs: tuple[float, ...] = ()
        self._series: tuple[Series, ...] = ()
        self._ylabels = (ylabel, ylabel_right)
        self._empty = "no data"
        self.points = 0  # the points of the longest series last drawn

    def set_data(self, xs: Sequence[float], series: Sequence[Series], empty: str) -> None:
        xs_t, series_t = tuple(xs), tuple(series)
        if xs_t == self._xs and series_t == self._series and empty == self._empty:
            return
        self._xs, self._series, self._empty = xs_t, series_t, empty
        self.refresh()

    def render(self) -> RenderResult:
        if not self._xs:
            return Text(self._empty, style="dim", justify="center")
        rows = self.size.height - AXIS_ROWS
        if rows < MIN_ROWS:
            need = MIN_ROWS + AXIS_ROWS - self.size.height
            return Text(f"{need} more row(s) needed for this chart", style="dim", justify="center")
        self._draw(self.size.width, rows)
        return super().render()

    def _draw(self, width: int, rows: int) -> None:
        plt = self.plt
        plt.clear_figure()
        plot_width = max(10, width - 14)  # the y axes and their labels take the rest
        self.points = 0
        for s in self._series:
            xs, ys = downsample(self._xs, s.ys, plot_width, s.agg)
            self.points = max(self.points, len(xs))
            plt.plot(xs, ys, label=s.label, color=s.color, marker="braille", yside=s.side)
        ticks, labels = time_ticks(self._xs[0], self._xs[-1], plot_width)
        plt.xticks(ticks, labels)
        plt.xlim(self._xs[0], self._xs[-1])
        if len(set(self._xs)) == 1:
            plt.xlim(self._xs[0] - 60, self._xs[0] + 60)
        left, right = self._ylabels
        # textual-plotext's stubs are wrong about the y side: ylabel takes ``yside`` (the stub
        # says ``xside``), and ylim and yticks take it as "left"/"right" (the stub says float).
        if left:
            plt.ylabel(left, yside="left")  # type: ignore[call-arg]
        if right:
            plt.ylabel(right, yside="right")  # type: ignore[call-arg]
        plt.xlabel(f"time ({zone()})")
        for side in ("left", "right"):
            if any(s.side == side for s in self._series):
                ymax = max(max(s.ys) for s in self._series if s.side == side)
                fixed = self._ymax if side == "left" else None
                top = fixed if fixed is not None else nice_top(ymax)
                plt.ylim(0, top, yside=side)  # type: ignore[arg-type]  # stub: see above
                plt.yticks(*value_ticks(top, rows), yside=side)  # type: ignore[arg-type]
