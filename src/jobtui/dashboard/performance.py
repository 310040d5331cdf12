"""The Performance tab: timespan by key, summary cards, and three charts over time (the
seed's PerformanceDashboard). The charts are built the first time the tab is shown; on a
short terminal (80×24) one shows at a time, at a height its axes fit, and ``v`` switches."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical

from jobtui.contract import MetricsHistory
from jobtui.dashboard import keys
from jobtui.dashboard.format import ms, stale_note
from jobtui.dashboard.messages import TimespanChanged
from jobtui.dashboard.state import State
from jobtui.dashboard.widgets import Card, Text1, literal

TIMESPANS: dict[int, str] = {6: "6 hours", 24: "24 hours", 168: "7 days"}
CHARTS: dict[str, str] = {
    "queue": "Queue depth over time",
    "rates": "Success vs. error rate",
    "processing": "Processing performance",
}


class PerformanceView(Vertical):
    """Summary cards and charts of ``GET /api/monitoring/metrics?hours=N``."""

    BINDINGS = keys.bindings("performance")
    can_focus = True

    def __init__(self, hours: int = 24, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hours = hours
        self._plots: dict[str, Any] = {}  # name → TimeChart, once built
        self.current = "queue"  # the chart shown when one shows at a time
        self._short: bool | None = None  # whether one shows at a time, as last seen

    def compose(self) -> ComposeResult:
        yield Text1(id="perf-head")
        with Horizontal(id="perf-cards"):
            yield Card(
                ("Average queue depth", "Avg queue depth", "Queue"), spark=False, id="perf-queue"
            )
            yield Card("Success rate", spark=False, id="perf-success")
            yield Card(
                ("Avg processing time", "Processing time", "Avg time"), spark=False, id="perf-time"
            )
        yield Grid(id="charts")

    def action_timespan(self, hours: int) -> None:
        if hours != self.hours and hours in TIMESPANS:
            self.hours = hours
            self.post_message(TimespanChanged(hours))

    def action_next_chart(self) -> None:
        names = list(CHARTS)
        self.current = names[(names.index(self.current) + 1) % len(names)]
        for name, chart in self._plots.items():
            chart.set_class(name == self.current, "-current")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``v`` only where one chart shows at a time (the footer leaves it out elsewhere)."""
        return action != "next_chart" or self.screen.has_class("-short")

    def on_resize(self, event: events.Resize) -> None:
        short = self.screen.has_class("-short")
        if short != self._short:  # v comes or goes: the footer follows
            self._short = short
            self.refresh_bindings()

    def build_charts(self) -> None:
        """Mount the charts (importing plotext only now, off the start-up path)."""
        if self._plots:
            return
        from jobtui.dashboard.charts import TimeChart

        self._plots = {
            "queue": TimeChart(ylabel="jobs", id="chart-queue"),
            "rates": TimeChart(ylabel="%", ymax=100, id="chart-rates"),
            "processing": TimeChart(
                ylabel="jobs/min", ylabel_right="seconds", id="chart-processing"
            ),
        }
        for name, title in CHARTS.items():
            self._plots[name].border_title = title
            self._plots[name].set_class(name == self.current, "-current")
        self.query_one("#charts", Grid).mount_all(self._plots.values())

    # ------------------------------------------------------------------ rendering

    def show(self, state: State) -> None:
        self.build_charts()
        feed = state.metrics
        history: MetricsHistory | None = feed.value
        now = state.clock()
        head = Text()
        for i, (hours, label) in enumerate(TIMESPANS.items()):
            key = {6: "h", 24: "d", 168: "w"}[hours]
            style = "bold reverse" if hours == self.hours else "dim"
            head.append("  " if i else "Timespan: ")
            head.append(f" {label} ", style=style)
            head.append(f" {key}", style="dim")
        if history is not None:
            head.append(literal(f"   {history.count} samples over {history.timespan}", "dim"))
        age = feed.age(now)
        if feed.not_provided:
            head.append(literal(f"   {feed.error}", "yellow"))
        elif feed.stale:
            head.append(f"   {stale_note(age)}", style="bold yellow")
        elif feed.error and history is None:
            head.append(literal(f"   {feed.error}", "red"))
        self.query_one("#perf-head", Text1).set(head)
        self.set_class(feed.stale, "-stale")
        self._summary(history)
        self._charts(history)

    def _summary(self, history: MetricsHistory | None) -> None:
        queue = self.query_one("#perf-queue", Card)
        success = self.query_one("#perf-success", Card)
        time_ = self.query_one("#perf-time", Card)
        samples = history.metrics if history is not None else ()
        if not samples:
            queue.show("—", "jobs waiting to be processed")
            success.show("—", "jobs completed successfully")
            time_.show("—", "time to complete jobs")
            return
        n = len(samples)
        avg_queue = sum(m.queue_depth for m in samples) / n
        avg_success = sum(m.success_rate for m in samples) / n
        avg_time = sum(m.average_processing_time for m in samples) / n
        queue.show(f"{avg_queue:.1f}", "jobs waiting to be processed")
        success.show(f"{avg_success:.1f}%", "jobs completed successfully")
        time_.show(ms(avg_time), "time to complete jobs")

    def _charts(self, history: MetricsHistory | None) -> None:
        from jobtui.dashboard.charts import Series

        samples = history.metrics if history is not None else ()
        xs = [m.timestamp.timestamp() for m in samples]
        empty = (
            "No metrics data available for the selected timespan."
            if history is not None
            else "waiting for metrics…"
        )
        charts = self._plots
        if not charts:
            return
        charts["queue"].set_data(
            xs,
            [Series("queue depth", tuple(m.queue_depth for m in samples), "cyan", agg=max)],
            empty,
        )
        charts["rates"].set_data(
            xs,
            [
                Series("success %", tuple(m.success_rate for m in samples), "green"),
                Series("error %", tuple(m.error_rate for m in samples), "red"),
            ],
            empty,
        )
        charts["processing"].set_data(
            xs,
            [
                Series("jobs/min", tuple(m.processing_rate for m in samples), "green"),
                Series(
                    "avg processing time (s)",
                    tuple(m.average_processing_time / 1000 for m in samples),
                    "orange",
                    side="right",
                ),
            ],
            empty,
        )
