"""The Overview tab: status, alerts, cards with sparklines, components, settings, stuck jobs,
recommendations, the local host (the seed's SystemHealth component) and the capacity
recommendation (scale up / hold / scale down, from the metrics history and this host)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical, VerticalScroll
from textual.widgets import Static

from jobtui.capacity import CapacityConfig, Recommendation, recommend
from jobtui.config import Target
from jobtui.contract import Health
from jobtui.dashboard.format import ago, local, ms, pct, shown_name, since, size, span
from jobtui.dashboard.standing import Standing
from jobtui.dashboard.state import State
from jobtui.dashboard.widgets import Card, Fitted, Text1, literal
from jobtui.host import Host

STATUS_STYLE = {"healthy": "green", "warning": "yellow", "critical": "red"}
LEVEL_STYLE = {**STATUS_STYLE, "unknown": "white", "paused": "white"}  # a Standing's colours
CAPACITY_LINES = 4  # reasons shown under the capacity verdict
CAPACITY_REDRAW = 30.0  # seconds: the capacity panel's figures, when its verdict stays
CAPACITY_STYLE = {"scale up": "bold yellow", "hold": "bold green", "scale down": "bold cyan"}
CAPACITY_ICON = {"scale up": "▲", "hold": "●", "scale down": "▼"}
REASON_MARK = {"up": ("▲ ", "yellow"), "down": ("▼ ", "cyan"), "hold": ("= ", "dim"),
               "unknown": ("? ", "dim")}  # fmt: skip
REASON_ORDER = {"up": 0, "unknown": 1, "hold": 2, "down": 3}
SLOW_RESPONSE = 1.0  # seconds: a health answer this slow is shown on the banner while live
CLOCK_SKEW = 60.0  # seconds: a server clock this far from ours is shown while live


class OverviewView(VerticalScroll):
    """Everything about the system's health on one screen."""

    def __init__(
        self,
        *,
        capacity: CapacityConfig | None = None,
        capacity_problem: str | None = None,
        **kwargs: Any,
    ) -> None:
        """``capacity``: the thresholds of the ``capacity:`` section; ``capacity_problem``:
        why that section could not be read (shown in the panel instead)."""
        super().__init__(**kwargs)
        self.capacity = capacity or CapacityConfig()
        self.capacity_problem = capacity_problem
        self.recommendation: Recommendation | None = None
        self._capacity_inputs: tuple[Any, Any] = (None, None)
        self._capacity_drawn: datetime | None = None
        self._capacity_next: Recommendation | None = None  # the newest, drawn or not yet
        self._capacity_now = False  # a new history: draw the next verdict at once
        self._host_title: str | None = None  # the host panel's title, as last set

    def compose(self) -> ComposeResult:
        with Vertical(id="banner", classes="-unknown"):
            yield Text1(id="banner-head")
            yield Text1(id="banner-where")
            yield Text1(id="banner-stale")
        with Grid(id="notes"):
            yield Listing(id="alerts", classes="panel")
            yield Listing(id="recommendations", classes="panel")
        with Grid(id="cards"):
            yield Card("Queue depth", id="card-queue")
            yield Card("Success rate", id="card-success")
            yield Card(("Avg processing time", "Processing time", "Avg time"), id="card-time")
            yield Card("Throughput", id="card-throughput")
        with Grid(id="facts"):
            yield Text1(id="components", classes="panel")
            yield Text1(id="operational", classes="panel")
            yield Brief(id="stuck", classes="panel")
            yield Brief(id="host", classes="panel")
        yield Text1(id="capacity", classes="panel")

    def on_mount(self) -> None:
        titles = {
            "#alerts": "Active alerts",
            "#components": "System components",
            "#operational": "Operational settings",
            "#stuck": "Stuck jobs",
            "#host": "This host",
            "#recommendations": "Recommendations",
            "#capacity": "Capacity",
        }
        for selector, title in titles.items():
            self.query_one(selector).border_title = title

    # ------------------------------------------------------------------ rendering

    def show(self, state: State, target: Target, read_only: str | None, top: Standing) -> None:
        now = state.clock()
        self.tick(state, target, now, top)
        h = state.health.value
        self._alerts(h)
        self._cards(state, h, now)
        self._components(h)
        self._operational(h)
        self._stuck(h, read_only)
        self._host(state.host.value)
        self._recommendations(h)

    def tick(self, state: State, target: Target, now: datetime, top: Standing) -> None:
        """Every second: the banner, which repaints only when what it says changes (an age
        is shown, and moves, only once the answer is not current), and the capacity panel
        when a redraw is due. ``top`` is what the top line may say now:
        figures from an answer that is not current are marked stale."""
        self.query_one("#banner-head", Text1).set(banner_head(top, target))
        where = banner_where(state, target, now, top.current)
        self.query_one("#banner-where", Text1).set(where)
        stale = banner_stale(top, state, now)
        stale_widget = self.query_one("#banner-stale", Text1)
        stale_widget.display = stale is not None
        stale_widget.set(stale or "")
        banner_widget = self.query_one("#banner", Vertical)
        old = not top.current and state.health.value is not None
        for name in ("healthy", "warning", "critical"):
            banner_widget.set_class(top.level == name, f"-{name}")
        banner_widget.set_class(top.level in ("unknown", "paused"), "-unknown")
        banner_widget.set_class(old, "-stale")
        self.set_class(old, "-stale")
        if state.health.value is not None:  # its age moves with the clock
            self.query_one("#card-throughput", Card).reword(last_finished(state.health.value, now))
        self._capacity(state, now)

    def _alerts(self, h: Health | None) -> None:
        widget = self.query_one("#alerts", Listing)
        if h is None:
            widget.show((), "", "", Text("—", style="dim"))
            return
        colour = STATUS_STYLE.get(h.status, "yellow")
        widget.show(h.health.alerts, "▲ ", colour, Text("No active alerts", style="dim"))

    def _cards(self, state: State, h: Health | None, now: datetime) -> None:
        t = state.trends.snapshot()
        queue = self.query_one("#card-queue", Card)
        success = self.query_one("#card-success", Card)
        time_ = self.query_one("#card-time", Card)
        throughput = self.query_one("#card-throughput", Card)
        if h is None:
            for card in (queue, success, time_, throughput):
                card.show("—", "", [])
            return
        m = h.metrics
        free = m.processing_capacity
        queue.show(
            f"{m.queue_depth:,}",
            (f"{free} free worker slots", f"{free} free slots", f"{free} free"),
            t.queue_depth,
        )
        success.show(pct(m.success_rate), f"error rate {pct(m.error_rate)}", t.error_rate)
        wait = f"wait {ms(m.wait_time)}" if m.wait_time is not None else "mean over 24 h"
        time_.show(ms(m.average_processing_time), wait, t.processing_time)
        throughput.show(f"{m.jobs_per_hour:,} /h", last_finished(h, now), t.jobs_per_hour)

    def _components(self, h: Health | None) -> None:
        widget = self.query_one("#components", Text1)
        if h is None:
            widget.set(Text("—", style="dim"))
            return
        text = Text()
        parts = (
            ("Job monitor", h.system_status.monitor),
            ("Job manager", h.system_status.manager),
            ("Configuration", h.system_status.config),
        )
        for i, (name, up) in enumerate(parts):
            text.append("\n" if i else "")
            text.append("● " if up else "✖ ", style="green" if up else "red bold")
            text.append(name)
            if not up:
                text.append("  down", style="red")
        widget.set(text)

    def _operational(self, h: Health | None) -> None:
        widget = self.query_one("#operational", Text1)
        if h is None:
            widget.set(Text("—", style="dim"))
            return
        o = h.operational
        text = Text()
        rows = (
            ("Auto processing", on_off(o.auto_processing_enabled)),
            ("Metrics", on_off(o.metrics_collection_enabled)),
            ("Interval", Text(span(o.processing_interval / 1000))),
            ("Max concurrent", Text(f"{o.max_concurrent_jobs} jobs")),
        )
        for i, (name, value) in enumerate(rows):
            text.append("\n" if i else "")
            text.append(f"{name:<16}", style="dim")
            text.append_text(value)
        widget.set(text)

    def _stuck(self, h: Health | None, read_only: str | None) -> None:
        widget = self.query_one("#stuck", Brief)
        if h is None:
            widget.show(Text("—", style="dim"))
            return
        n = h.health.stuck_jobs_count
        count = Text()
        count.append(f"{n}", style="bold yellow" if n else "bold")
        count.append(" stuck" if n else " — none stuck")
        if not n:
            widget.show(count)
            return
        if read_only:
            repair = Text("recovery disabled", style="dim")
        else:
            repair = Text()
            repair.append(" R ", style="bold reverse")
            repair.append(" reset to pending")
        full = Text.assemble(count, ("\nprocessing, no update", "dim"), "\n", repair)
        widget.show(full, Text.assemble(count, "  ", repair))

    def _host(self, s: Host | None) -> None:
        widget = self.query_one("#host", Brief)
        if s is None:
            widget.show(Text("—", style="dim"))
            return
        title = f"This host: {s.hostname}"
        if title != self._host_title:  # setting a title repaints, even to the same one
            self._host_title = title
            widget.border_title = literal(title)
        cpu = Text()
        if s.cpu_percent is None:
            cpu.append("measuring…", style="dim")
        else:
            cpu.append(f"{s.cpu_percent:.0f}%", style=level(s.cpu_percent))
        memory = Text(f"{s.memory_percent:.0f}%", style=level(s.memory_percent))
        load_style = level(100 * s.load[0] / max(1, s.cores))
        load = Text(" ".join(f"{x:.2f}" for x in s.load), style=load_style)
        full = Text.assemble((f"{'CPU':<8}", "dim"), cpu)
        if s.cpu_percent is not None:
            full.append(f" of {s.cores} cores")
        full.append_text(Text.assemble((f"\n{'Memory':<8}", "dim"), memory))
        full.append(f" of {size(s.memory_total)}")
        full.append_text(Text.assemble((f"\n{'Load':<8}", "dim"), load))
        line = Text.assemble(("CPU ", "dim"), cpu, (" · mem ", "dim"), memory, (" · load ", "dim"))
        line.append(f"{s.load[0]:.2f}", style=load_style)
        widget.show(full, line)

    def _recommendations(self, h: Health | None) -> None:
        widget = self.query_one("#recommendations", Listing)
        empty = Text("No recommendations" if h else "—", style="dim")
        widget.show(h.health.recommendations if h else (), "→ ", "yellow", empty)

    def _capacity(self, state: State, now: datetime) -> None:
        """The scaling verdict, worked out again on a new metrics history or host reading
        (``recommend`` takes well under a millisecond on 500 samples: no thread). It is
        redrawn at once on a new history, a new verdict or the first host reading; new host
        figures alone, which change with every poll, every :data:`CAPACITY_REDRAW` seconds
        (the clock's tick draws them when due, even if no poll comes)."""
        widget = self.query_one("#capacity", Text1)
        if self.capacity_problem:
            widget.set(literal(f"capacity: {self.capacity_problem}", "red"))
            return
        history, stats = state.metrics.value, state.host.value
        last_history, last_stats = self._capacity_inputs
        if history is not last_history or stats is not last_stats:
            self._capacity_inputs = (history, stats)
            if history is None and stats is None:
                self.recommendation = self._capacity_next = None
                widget.set(Text("—", style="dim"))
                return
            fresh = recommend(history.metrics if history is not None else (), stats, self.capacity)
            self._capacity_next = fresh
            self._capacity_now = self._capacity_now or history is not last_history
        rec, shown = self._capacity_next, self.recommendation
        if rec is None or rec is shown:
            return
        drawn = self._capacity_drawn
        due = (
            self._capacity_now
            or shown is None
            or drawn is None
            or verdict(rec) != verdict(shown)
            or not 0 <= (now - drawn).total_seconds() < CAPACITY_REDRAW  # or the clock went back
        )
        if not due:
            return  # the same verdict on newer host figures: a frame of six lines saved
        self.recommendation, self._capacity_drawn, self._capacity_now = rec, now, False
        widget.set(capacity_text(rec))
        widget.border_subtitle = literal(capacity_source(rec))


def verdict(rec: Recommendation) -> tuple[str, bool, bool]:
    """What changes the capacity panel at once: the action, its urgency, whether the host
    is part of it."""
    return rec.action, rec.urgent, rec.host is not None


def capacity_text(rec: Recommendation) -> Text:
    """The verdict and its summary on one line, then the reasons that decided it, the ones
    that call for scaling up first (at most :data:`CAPACITY_LINES`)."""
    text = Text(no_wrap=True, overflow="ellipsis")  # a fixed box: cut, never reflow
    style = "bold red" if rec.urgent else CAPACITY_STYLE[rec.action]
    verdict = rec.action.upper() + (" (urgent)" if rec.urgent else "")
    text.append(f"{CAPACITY_ICON[rec.action]} {verdict}  ", style=style)
    text.append(rec.summary)
    reasons = sorted(rec.why(), key=lambda r: (REASON_ORDER[r.verdict], not r.critical))
    shown = reasons[:CAPACITY_LINES]
    for i, r in enumerate(shown):
        text.append("\n")
        if i == CAPACITY_LINES - 1 and len(reasons) > CAPACITY_LINES:
            text.append(f"… and {len(reasons) - i} more (jobtui capacity lists them)", "dim")
            break
        mark, colour = REASON_MARK[r.verdict]
        text.append(mark, style="red" if r.critical else colour)
        text.append(r.text)
    return text


def capacity_source(rec: Recommendation) -> str:
    """What the verdict is based on, for the panel's bottom border (a time of day, not an
    age: the panel is not redrawn every second)."""
    parts = []
    if rec.latest is not None:
        samples = f"{rec.samples} sample{'s' if rec.samples != 1 else ''}"
        parts.append(f"{samples}, newest at {local(rec.latest.timestamp, '%H:%M:%S')}")
    if rec.host is not None:
        parts.append(f"host {rec.host.hostname}")
    return " · ".join(parts)


class Brief(Static):
    """A panel's text, and the one line it comes down to when the panel has room for only
    one (the short layout): drawn at its size, so a resize needs no new data."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._texts: tuple[Text, Text] = (Text(), Text())

    def show(self, full: Text, line: Text | None = None) -> None:
        texts = (full, line if line is not None else full)
        if texts != self._texts:
            self._texts = texts
            self.refresh()  # a fixed box: no layout

    def render(self) -> Text:
        full, line = self._texts
        return full if self.content_size.height > full.plain.count("\n") else line


class Listing(Static):
    """Lines of a list (alerts, recommendations), fitted to the panel when drawn: each item
    wraps at word boundaries; what does not fit is summed up as "+N more"."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._data: tuple[tuple[str, ...], str, str, Text] = ((), "", "", Text())

    def show(self, items: Sequence[str], bullet: str, colour: str, empty: Text) -> None:
        data = (tuple(items), bullet, colour, empty)
        if data != self._data:
            self._data = data
            self.refresh()  # a fixed box: no layout

    def render(self) -> Text:
        items, bullet, colour, empty = self._data
        if not items:
            return empty
        size = self.content_size
        return listing(items, bullet, colour, size.width, size.height, self.app.console)


def last_finished(h: Health, now: datetime) -> Fitted:
    """The throughput card's line: how long ago the last job finished, in two widths."""
    last = h.metrics.last_processed_at
    if last is None:
        return ("jobs finished per hour", "finished per hour", "per hour")
    return (f"last finished {ago(last, now)}", f"last {ago(last, now)}")


def listing(
    items: Sequence[str], bullet: str, colour: str, width: int, height: int, console: Console
) -> Text:
    """``items`` in ``height`` lines of ``width`` cells: whole items first; the first one
    cut at a word (with "…") if even it does not fit; then "+N more" for the rest."""
    indent = len(bullet)
    room = max(1, width - indent)
    lines: list[Text] = []
    shown = 0
    for i, item in enumerate(items):
        wrapped = list(literal(item).wrap(console, room))
        for line in wrapped:
            line.rstrip()  # a space at the end of a line, before "…" or the border
        free = height - len(lines) - (1 if i < len(items) - 1 else 0)
        if len(wrapped) > free:
            if lines or free < 1:
                break
            wrapped = wrapped[:free]
            last = wrapped[-1]
            if last.cell_len >= room:
                last = Text(last.plain.rsplit(" ", 1)[0]) if " " in last.plain else last[:-1]
            wrapped[-1] = last + "…"
        for j, line in enumerate(wrapped):
            lines.append(Text.assemble((bullet, colour) if j == 0 else " " * indent, line))
        shown += 1
    if shown < len(items):
        lines.append(Text(f"+{len(items) - shown} more", style="dim"))
    return Text("\n").join(lines)


def banner_head(top: Standing, target: Target) -> Text:
    """The word of the top line and the server's message, or what is known instead."""
    text = Text()
    text.append(f"{top.icon} {top.word}  ", style=f"bold {LEVEL_STYLE[top.level]}")
    if top.current and top.message is not None:
        text.append_text(literal(top.message, "bold"))
    elif top.word == "CONNECTING":
        text.append_text(literal(f"waiting for the first answer from {target.shown_url}"))
    elif top.word == "PAUSED":
        text.append("polling is paused — press p to resume")
    else:
        text.append_text(literal(top.detail))
    return text


def banner_where(state: State, target: Target, now: datetime, current: bool) -> Text:
    """Where, how fresh, how fast. While the answer is ``current`` (the top line's verdict)
    the line says "live" and stays the same from poll to poll on a steady server: an age
    that only ever says "fresh", a response time and a server clock that move with every
    answer would repaint it every second for nothing. A slow response, or a server clock
    that disagrees with ours, is shown. Once the answer is not current, its age (which
    moves with the clock), the response time and the server's time are shown."""
    feed = state.health
    name = shown_name(target)
    text = literal(f"{name} · {target.shown_url}" if name else target.shown_url, "dim")
    h = feed.value
    if current and h is not None:
        text.append(" · live")
        if state.response is not None and state.response >= SLOW_RESPONSE:
            text.append(f" · slow: response {state.response:.1f} s", style="yellow")
        skew = clock_skew(h.timestamp, feed.updated)
        if skew is not None:
            text.append(f" · server clock {skew}", style="yellow")
        return text
    age = feed.age(now)
    if age is not None:
        text.append(f" · updated {since(age)}")
    if state.response is not None:
        text.append(f" · response {state.response * 1000:.0f} ms")
    if h is not None:
        text.append(f" · server time {local(h.timestamp)}")
    return text


def clock_skew(server: datetime, received: datetime | None) -> str | None:
    """How far the server's clock is from ours ("4 min ahead"), when it is off by at least
    :data:`CLOCK_SKEW` seconds; None when it agrees (or nothing is known). In whole minutes
    under an hour: the second an answer takes to arrive does not move it."""
    if received is None:
        return None
    off = (server - received).total_seconds()
    if abs(off) < CLOCK_SKEW:
        return None
    size = f"{round(abs(off) / 60)} min" if abs(off) < 3600 else span(abs(off), long=True)
    return f"{size} {'ahead' if off > 0 else 'behind'}"


def banner_stale(top: Standing, state: State, now: datetime) -> Text | None:
    """What the figures on screen are, when they are not current; None when they are."""
    if top.current or state.health.value is None:
        return None
    text = Text(top.since(now), style="yellow")
    text.append(" · the figures below are from then", style="dim")
    return text


def on_off(value: bool) -> Text:
    return Text("Enabled", style="green") if value else Text("Disabled", style="yellow")


def level(percent: float) -> str:
    return "red" if percent >= 90 else "yellow" if percent >= 80 else ""
