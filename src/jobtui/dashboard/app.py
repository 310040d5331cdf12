"""The dashboard app: four tabs over one target, polled off the UI thread, keys from one registry.

The app owns the :class:`~jobtui.dashboard.poller.Poller` (feeds), the
:class:`~jobtui.dashboard.state.State` (last good data) and the actions that change the
server, each confirmed first and all disabled when read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane

from jobtui.capacity import CapacityConfig, load_capacity_config
from jobtui.config import Config, ConfigError, DashboardConfig, Target
from jobtui.dashboard import feeds, keys
from jobtui.dashboard.backups import BackupsScreen, backed_up, backup_question
from jobtui.dashboard.confirm import ConfirmScreen
from jobtui.dashboard.detail import JobDetailScreen
from jobtui.dashboard.errors import ErrorsView
from jobtui.dashboard.feeds import JobsQuery
from jobtui.dashboard.footer import KeyFooter
from jobtui.dashboard.format import shown_name, span
from jobtui.dashboard.help import HelpScreen
from jobtui.dashboard.jobs import JobsView
from jobtui.dashboard.overview import STATUS_STYLE, OverviewView
from jobtui.dashboard.performance import PerformanceView
from jobtui.dashboard.poller import ClientFactory, Poller, describe, error_kind
from jobtui.dashboard.state import Clock, State, Update
from jobtui.dashboard.targets import TargetScreen
from jobtui.dashboard.widgets import Text1

if TYPE_CHECKING:
    from textual.driver import Driver

    from jobtui.client import Client
    from jobtui.contract import ErrorCategory, Job

T = TypeVar("T")
TABS = ("overview", "performance", "jobs", "errors")
METRICS_TABS = ("overview", "performance")  # the charts, and the Overview's capacity panel
OVERVIEW_METRICS = 30.0  # seconds at least: the capacity panel's 30-minute trends, not charts
CATEGORY_JOBS = 20  # failed jobs fetched for the highlighted category
COALESCE = 0.03  # seconds: answers arriving this close together are painted in one frame
LINUX_DRIVER = "textual.drivers.linux_driver.LinuxDriver"
FREEZE_AFTER = 3.0  # seconds: start-up is over, its objects are long-lived


def css_path() -> Path:
    """``jobtui/styles`` inside the installed package, else the repository's ``styles/``."""
    here = Path(__file__).resolve()
    for base in (here.parents[1] / "styles", here.parents[3] / "styles"):
        if (base / "jobtui.tcss").exists():
            return base / "jobtui.tcss"
    return here.parents[1] / "styles" / "jobtui.tcss"


class DashboardTabs(TabbedContent):
    """Tabs that change only by key or click: a focus arriving late from the tab being left
    (focus moves into a tab's view after it is built) must not switch back to it."""

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        event.stop()
        event.prevent_default()


class Polled(Message):
    """A feed's outcome, posted from the poller's thread."""

    def __init__(self, update: Update) -> None:
        super().__init__()
        self.update = update


class DashboardApp(App[int]):
    CSS_PATH = css_path()
    TITLE = "jobtui"
    AUTO_FOCUS = "#overview-view"
    BINDINGS = keys.bindings("app")
    # classes on every screen, for the stylesheet: two cards a row below 96 columns; the
    # short layout (what matters, without scrolling) below 36 rows, as on 80×24
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (96, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (36, "-tall")]

    def __init__(
        self,
        target: Target,
        *,
        targets: Mapping[str, Target] | None = None,
        settings: DashboardConfig | None = None,
        read_only: bool = False,
        timeout: float = 10.0,
        clock: Clock | None = None,
        host_sampler: Callable[[], Any] | None = None,
        client_factory: ClientFactory | None = None,
        handle_signals: bool = False,
        poller: Poller | None = None,
        config: Config | None = None,
    ):
        super().__init__()
        self.animation_level = "none"  # over SSH, animation is only traffic and CPU
        self.target = target
        self.targets = dict(targets or {})
        self.settings = settings or DashboardConfig()
        self.config = config or Config()  # the capacity, logging and incident sections
        self.capacity: CapacityConfig | None = None
        self.capacity_problem: str | None = None
        try:
            self.capacity = load_capacity_config(self.config)
        except ConfigError as exc:
            self.capacity_problem = str(exc)
        self.state = State(clock=clock) if clock else State()
        self.read_only: str | None = "started with --read-only" if read_only else None
        self._flag_read_only = read_only
        self._handle_signals = handle_signals
        self._dirty: set[str] = set(TABS)
        self._jobs_query = JobsQuery()
        self._hours = feeds.DEFAULT_HOURS
        self.display_error: str | None = None
        self._views: dict[str, Any] = {}
        self._shown_tab = "overview"  # for the poller's thread (the DOM is not thread-safe)
        self._parked: dict[str, Update] = {}  # background answers, by feed, newest only
        self._taken: dict[str, int] = {}  # the newest answer taken, by feed (its seq)
        self._flush_pending = False
        self._chrome_dirty = False
        self._mounting: dict[str, asyncio.Future[None]] = {}
        self._incident = False  # a report is being written
        self.poller = poller or feeds.make_poller(
            target,
            self.settings,
            timeout=timeout,
            host_sampler=host_sampler,
            client_factory=client_factory,
        )

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Text1(Text("jobtui", style="bold"), id="brand")
            yield Text1(id="where")
            yield Text1(id="pill")
        with DashboardTabs(initial="overview", id="tabs"):
            with TabPane("1 Overview", id="overview"):
                yield OverviewView(
                    id="overview-view",
                    capacity=self.capacity,
                    capacity_problem=self.capacity_problem,
                )
            # the other views are built the first time their tab is shown (a faster start)
            yield TabPane("2 Performance", id="performance")
            yield TabPane("3 Jobs", id="jobs")
            yield TabPane("4 Errors", id="errors")
        with Horizontal(id="statusbar"):
            yield Text1(id="status")
            yield Text1(id="readonly")
        yield KeyFooter()

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this platform; on Linux and macOS, one whose input thread
        does not wake up while nobody types (unless ``TEXTUAL_DRIVER`` names one)."""
        from textual import constants

        driver = super().get_driver_class()
        chosen = constants.DRIVER is not None
        if not chosen and f"{driver.__module__}.{driver.__qualname__}" == LINUX_DRIVER:
            from jobtui.dashboard.driver import QuietDriver

            return QuietDriver
        return driver

    def on_mount(self) -> None:
        if self._handle_signals:
            from jobtui.dashboard.hangup import Hangup

            Hangup(lambda: self.exit(129)).install(asyncio.get_running_loop())
        self.poller.start()
        mounting = threading.get_ident()

        def sink(u: Update) -> None:
            if threading.get_ident() == mounting:  # an answer from before the UI was up:
                self.guard(u.feed, self._take, u)  # it is in the first frame, not the next
            elif self._background(u.feed):
                self._parked[u.feed] = u  # no wake-up: taken with the next frame or tick
            else:
                self.post_message(Polled(u))

        self.poller.attach(sink)
        self.set_interval(1.0, self._tick)
        # What start-up built (Textual, the stylesheet, the widgets) lives as long as the app:
        # out of the collector's way, a full collection no longer walks it (≈50 ms each).
        self.set_timer(FREEZE_AFTER, lambda: gc.freeze())
        self._show_chrome()
        self._render_tab(self.active_tab)

    def on_unmount(self) -> None:
        self.poller.stop()

    def _print_error_renderables(self) -> None:
        """A bug of ours: one line on the terminal, the traceback in a file (never on screen)."""
        if not self._exit_renderables or not self._handle_signals:
            super()._print_error_renderables()
            return
        import os
        import sys
        import tempfile

        from rich.console import Console

        path = Path(tempfile.gettempdir()) / f"jobtui-crash-{os.getpid()}.txt"
        try:
            with path.open("w", encoding="utf-8") as fh:
                console = Console(file=fh, width=120, color_system=None)
                for renderable in self._exit_renderables:
                    console.print(renderable)
            where = f"details in {path}"
        except OSError:
            where = "no details could be saved"
        print(f"jobtui: internal error ({where}); please report it", file=sys.stderr)
        self._exit_renderables.clear()

    @property
    def leaving(self) -> bool:
        """The app is shutting down: its widgets may already be gone."""
        return self._exit or not self._running or not self.screen_stack

    @property
    def main(self) -> Screen[Any]:
        """The dashboard's own screen (``query_one`` on the app would search the top screen,
        which is a dialog while one is open)."""
        return self.screen_stack[0]

    @property
    def active_tab(self) -> str:
        return self.main.query_one("#tabs", TabbedContent).active or "overview"

    # ------------------------------------------------------------------ data in

    def guard(self, what: str, fn: Callable[..., Any], *args: Any) -> None:
        """Run a view update; a bug shows as one line in the status bar, never a traceback."""
        if self.leaving:
            return
        try:
            fn(*args)
        except Exception as exc:
            self.display_error = f"display error ({what}): {type(exc).__name__}: {exc}"
            self.log.error(self.display_error)
            with contextlib.suppress(Exception):
                self._show_status()

    @on(Polled)
    def _polled(self, message: Polled) -> None:
        self.guard(message.update.feed, self._apply, message.update)

    def _apply(self, u: Update) -> None:
        self._take_parked()
        self._take(u)
        self._chrome_dirty = True
        if not self._flush_pending:  # answers that arrive together are painted together
            self._flush_pending = True
            self.set_timer(COALESCE, self._flush)

    def _background(self, feed: str) -> bool:
        """Answers that need no frame of their own, nor a wake-up of the UI thread: the host
        reading, and the metrics history where no chart shows it. Called from the poller's
        thread, so it reads only a plain attribute."""
        return feed == "host" or (feed == "metrics" and self._shown_tab != "performance")

    def _take_parked(self) -> None:
        """The background answers that arrived since the last frame or tick."""
        for feed in list(self._parked):
            u = self._parked.pop(feed, None)
            if u is not None:
                self.guard(feed, self._take, u)

    def _take(self, u: Update) -> None:
        """Put an answer in the state and mark the views it touches; an answer for the
        previous target, or older than one already taken (parked answers overtake queued
        messages), is dropped."""
        if u.epoch != self.poller.serial or u.seq < self._taken.get(u.feed, 0):
            return
        self._taken[u.feed] = u.seq
        self.state.apply(u)
        if u.feed == "admin":
            self._admin_answered(u)
        if u.feed == "metrics" and self.active_tab not in METRICS_TABS:
            # asked once at the start (it seeds the sparklines); then only while shown
            self.poller.set_active("metrics", False)
        touched = {
            "health": ("overview",),
            "host": ("overview",),
            "metrics": ("performance", "overview"),
            "jobs": ("jobs",),
            "errors": ("errors",),
        }.get(u.feed, ())
        self._dirty.update(touched)

    def _flush(self) -> None:
        self._flush_pending = False
        if self.leaving:
            return
        if self._chrome_dirty:
            self._chrome_dirty = False
            self.guard("status", self._show_chrome)
        self._render_tab(self.active_tab)

    def _admin_answered(self, u: Update) -> None:
        if self._flag_read_only:
            return
        before = self.read_only
        if u.kind == "unauthorized":
            self.read_only = f"the admin check said: {u.error}"
        elif u.error is None:
            self.read_only = None
        if self.read_only != before:  # the footer rebuilds itself: only when it must
            self.refresh_bindings()
            self._dirty.add("overview")

    def _render_tab(self, tab: str) -> None:
        if tab not in self._dirty:
            return
        self._dirty.discard(tab)
        self.guard(tab, self._render_view, tab)

    def view(self, tab: str) -> Any:
        """The view of ``tab``, or None until it has been built (the first time it is shown)."""
        if tab == "overview":
            return self.main.query_one(OverviewView)
        return self._views.get(tab)

    async def _ensure_view(self, tab: str) -> Any:
        """Build the view of ``tab`` once; callers that come while it is mounting wait for it.
        None when the app is leaving."""
        if self.leaving:
            return None
        if tab == "overview":
            return self.main.query_one(OverviewView)
        if tab not in self._mounting:
            factory: dict[str, Callable[[], Any]] = {
                "performance": lambda: PerformanceView(self._hours, id="performance-view"),
                "jobs": lambda: JobsView(id="jobs-view"),
                "errors": lambda: ErrorsView(id="errors-view"),
            }
            view = factory[tab]()
            self._mounting[tab] = asyncio.ensure_future(self._mount_view(tab, view))
        await self._mounting[tab]
        return self._views.get(tab)

    async def _mount_view(self, tab: str, view: Any) -> None:
        if self.leaving:
            return
        await self.main.query_one(f"#{tab}", TabPane).mount(view)
        self._views[tab] = view
        self._dirty.add(tab)

    def _render_view(self, tab: str) -> None:
        view = self.view(tab)
        if view is None:
            self._dirty.add(tab)
        elif tab == "overview":
            view.show(self.state, self.target, self.read_only)
        else:
            view.show(self.state)

    def _tick(self) -> None:
        """Every second: the ages and countdowns, and the answers that waited for a frame."""
        if self.leaving:
            return
        self._take_parked()
        self.guard("status", self._show_status)
        if self.active_tab in self._dirty:
            self._render_tab(self.active_tab)
        elif self.active_tab == "overview":
            view = self.main.query_one(OverviewView)
            self.guard("overview", view.tick, self.state, self.target, self.state.clock())

    def _show_chrome(self) -> None:
        h = self.state.health
        where = Text()
        where.append(f"  {shown_name(self.target)} ", style="bold")
        where.append(self.target.url, style="dim")
        self.main.query_one("#where", Text1).set(where)
        pill = Text()
        if self.poller.paused:
            pill.append(" PAUSED ", style="bold reverse")
            pill.append(" ")
        if self.read_only:
            pill.append(" READ-ONLY ", style="bold reverse yellow")
            pill.append(" ")
        if h.value is None:
            pill.append(" NO DATA " if h.error else " CONNECTING ", style="bold reverse")
        else:
            style = STATUS_STYLE.get(h.value.status, "white")
            pill.append(f" {h.value.status.upper()} ", style=f"bold reverse {style}")
            if h.stale:
                pill.append(" STALE ", style="bold reverse yellow")
        self.main.query_one("#pill", Text1).set(pill)
        self._show_status()
        ro = self.main.query_one("#readonly", Text1)
        ro.set(Text(f"read-only: {self.read_only}", style="yellow") if self.read_only else "")

    def _show_status(self) -> None:
        self.main.query_one("#status", Text1).set(self.status_line(self.state.clock()))

    def status_line(self, now: datetime) -> Text:
        """One line: what went wrong and when we try again, or that all is well."""
        st = self.state
        text = Text()
        if self.display_error:
            text.append(f"✖ {self.display_error}", style="bold red")
            return text
        if self.poller.paused:
            text.append("⏸ paused", style="bold")
            text.append(" — press p to resume", style="dim")
            age = st.health.age(now)
            if age is not None:
                text.append(f" · data from {span(age)} ago", style="dim")
            return text
        for name in ("health", "metrics", "jobs", "errors"):
            feed = st.feed(name)
            if feed.error and not feed.not_provided:
                text.append("✖ ", style="bold red")
                if name != "health":
                    text.append(f"{name}: ", style="red")
                text.append(feed.error, style="red")
                if feed.value is not None:
                    text.append(
                        f" · showing data from {span(feed.age(now) or 0)} ago", style="yellow"
                    )
                if feed.retry_in is not None and feed.failed is not None:
                    left = feed.retry_in - (now - feed.failed).total_seconds()
                    text.append(f" · retry in {max(0, round(left))}s", style="dim")
                return text
        if st.health.value is None:
            text.append("connecting…", style="dim")
            return text
        text.append("● ", style="green")
        text.append(f"live · polling every {self.settings.health_interval:g}s", style="dim")
        return text

    # ------------------------------------------------------------------ tabs

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if self.leaving:
            return
        tab = event.pane.id or "overview"
        self._shown_tab = tab
        answered = self.state.metrics.updated is not None or self.state.metrics.failed is not None
        # the first answer seeds the sparklines; after it, metrics only while they are shown
        shown = tab in METRICS_TABS
        every = self.settings.metrics_interval
        self.poller.set_interval(
            "metrics", every if tab == "performance" else max(every, OVERVIEW_METRICS)
        )
        self.poller.set_active("metrics", shown or not answered, kick=tab == "performance")
        self.poller.set_active("jobs", tab == "jobs", kick=tab == "jobs")
        self.poller.set_active("errors", tab == "errors", kick=tab == "errors")
        view = await self._ensure_view(tab)
        if view is None or self.leaving or tab != self.active_tab:
            return  # another tab was chosen while this one was being built
        self.guard(tab, self._show_tab_view, tab, view)

    def _show_tab_view(self, tab: str, view: Any) -> None:
        if tab == "performance":
            view.build_charts()
            self._dirty.add("performance")
        self._render_tab(tab)
        if hasattr(view, "focus_main"):
            view.focus_main()
        else:
            view.focus()

    def action_show_tab(self, tab: str) -> None:
        if tab in TABS:
            self.main.query_one("#tabs", TabbedContent).active = tab

    @on(PerformanceView.TimespanChanged)
    def _timespan(self, message: PerformanceView.TimespanChanged) -> None:
        self._hours = message.hours
        self.poller.set_fetch("metrics", feeds.metrics_fetch(message.hours))
        self._dirty.add("performance")
        self._render_tab("performance")

    @on(JobsView.QueryChanged)
    def _jobs_query_changed(self, message: JobsView.QueryChanged) -> None:
        self._jobs_query = message.query
        self.poller.set_fetch("jobs", feeds.jobs_fetch(message.query, self.settings.jobs_page_size))
        self._dirty.add("jobs")
        self._render_tab("jobs")

    # ------------------------------------------------------------------ simple actions

    def action_refresh_now(self) -> None:
        self.poller.kick()
        self.notify("Refreshing…", timeout=1.5)

    def action_toggle_pause(self) -> None:
        self.poller.pause(not self.poller.paused)
        if not self.poller.paused:
            self.poller.kick()
        self._show_chrome()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.read_only))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if keys.changes(action, "app") and self.read_only:
            return None  # shown dimmed in the footer, does nothing
        return True

    async def request(self, fn: Callable[[Client], Awaitable[T]]) -> T:
        """One request on the poller's loop (never in the UI thread)."""
        return await asyncio.wrap_future(self.poller.call(fn))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for k in keys.KEYS:
            if k.scope in ("app", "performance", "jobs", "errors"):
                where = "" if k.scope == "app" else f" ({keys.SCOPES[k.scope]})"
                yield SystemCommand(
                    f"{k.label}{where}",
                    f"{k.help} — key {k.shown}",
                    partial(self.run_key, k),
                )
        scope = getattr(screen, "SCOPE", None)  # a screen's own keys, while it is shown
        for k in keys.scoped(scope) if scope in keys.SCREENS else ():
            yield SystemCommand(
                f"{k.label} ({keys.SCOPES[k.scope]})",
                f"{k.help} — key {k.shown}",
                partial(self.run_screen_key, k, screen),
            )

    async def run_key(self, key: keys.Key) -> None:
        """Do what ``key`` does, from the command palette (switching tab first if needed)."""
        if key.changes and self.read_only:
            self.notify(f"Disabled: read-only ({self.read_only}).", severity="warning")
            return
        if key.scope == "app":
            await self.run_action(key.action)
            return
        self.action_show_tab(key.scope)
        view = await self._ensure_view(key.scope)
        if view is not None:
            await self.run_action(key.action, view)

    # ------------------------------------------------------------------ actions on the server

    def _blocked(self) -> bool:
        if self.read_only:
            self.notify(f"Disabled: read-only ({self.read_only}).", severity="warning")
            return True
        return False

    def _failed(self, what: str, exc: BaseException) -> None:
        kind = error_kind(exc)
        severity = "warning" if kind == "not_provided" else "error"
        self.notify(f"{what}: {describe(exc)}", severity=severity, timeout=8)

    @work(exclusive=True, group="action", exit_on_error=False)
    async def action_recover_stuck(self) -> None:
        if self._blocked():
            return
        h = self.state.health.value
        count = "an unknown number of" if h is None else str(h.health.stuck_jobs_count)
        body = Text()
        body.append(f"Reset {count} stuck job(s) on {self.target.name} to pending?\n\n")
        body.append(
            "Stuck: processing, with no update for a while (the server decides how long). "
            "Jobs past their last attempt are marked failed instead.",
            style="dim",
        )
        if not await self.push_screen_wait(ConfirmScreen("Recover stuck jobs", body, "Recover")):
            return
        try:
            result = await self.request(lambda c: c.recover_stuck())
        except Exception as exc:
            if error_kind(exc) == "not_provided":
                await self._system_recovery()
                return
            self._failed("Recover stuck jobs", exc)
            return
        text = f"Recovered {result.recovered} stuck job(s)"
        if result.failed:
            text += f"; {result.failed} failed (maximum retries exceeded)"
        self.notify(text + ".", title="Recover stuck jobs", timeout=8)
        self.poller.kick()

    async def _system_recovery(self) -> None:
        """The seed's recovery (``POST /api/admin/recovery``), for servers without ours."""
        body = Text(
            "This server does not provide recover-stuck.\n\n"
            "Run its system recovery instead? It backs up the jobs table, resets stuck "
            "jobs and restarts processing."
        )
        if not await self.push_screen_wait(ConfirmScreen("System recovery", body, "Run recovery")):
            return
        try:
            result = await self.request(lambda c: c.recovery())
        except Exception as exc:
            self._failed("System recovery", exc)
            return
        text = result.message or "System recovery completed successfully"
        if result.recovered is not None:
            text += f" — {result.recovered} stuck job(s) reset"
        self.notify(text + ".", title="System recovery", timeout=8)
        self.poller.kick()

    @work(exclusive=True, group="action", exit_on_error=False)
    async def action_backup(self) -> None:
        if self._blocked():
            return
        try:
            listing = await self.request(lambda c: c.backups())
        except Exception as exc:
            self._failed("Backup", exc)
            return
        question = backup_question(self.target.name, listing.backups, self.state.clock())
        if not await self.push_screen_wait(question):
            return
        try:
            r = await self.request(lambda c: c.create_backup())
        except Exception as exc:
            self._failed("Backup", exc)
            return
        self.notify(backed_up(r), title="Backup", timeout=8)

    async def run_screen_key(self, key: keys.Key, screen: Screen[Any]) -> None:
        """Do what a screen's ``key`` does, from the command palette."""
        if key.changes and self.read_only:
            self.notify(f"Disabled: read-only ({self.read_only}).", severity="warning")
            return
        await self.run_action(key.action, screen)

    def action_backups(self) -> None:
        """The Backups screen; its keys that change the server are off when read-only."""
        if isinstance(self.screen, BackupsScreen):
            return
        self.push_screen(
            BackupsScreen(self.target.name, self.request, self.state.clock, self.poller.kick)
        )

    def action_log_view(self) -> None:
        """The agent's log file, followed while the screen is open."""
        from jobtui.dashboard.logview import LogViewScreen  # loads the logging module
        from jobtui.logs import load_logging_config

        if isinstance(self.screen, LogViewScreen):
            return
        try:
            path, problem = load_logging_config(self.config).agent_log_path(), None
        except ConfigError as exc:
            path, problem = None, str(exc)
        self.push_screen(LogViewScreen(path, problem))

    @work(group="incident", exit_on_error=False)
    async def action_incident(self) -> None:
        """Classify the incident and write its report (reads only: allowed when read-only)."""
        if self._incident:
            self.notify("The incident report is being written…", timeout=3)
            return
        self._incident = True
        self.notify("Writing the incident report…", title="Incident", timeout=4)
        target, config = self.target, self.config
        secrets = [target.token] if target.token else []

        async def write(c: Client) -> Any:
            from jobtui.alerting.observe import target_label  # off the UI thread
            from jobtui.incident import write_report

            return await write_report(c, config, target=target_label(target), secrets=secrets)

        try:
            written = await self.request(write)
        except Exception as exc:
            if isinstance(exc, ConfigError):
                reason = str(exc)
            elif isinstance(exc, OSError):
                reason = f"cannot write it: {exc.strerror or exc}"
            else:
                reason = describe(exc)
            self.notify(f"Incident report not written: {reason}", severity="error", timeout=10)
            return
        finally:
            self._incident = False
        level = written.assessment.severity
        severity = "error" if level in (1, 2) else "warning" if level == 3 else "information"
        self.notify(
            f"{written.assessment.title}\nReport: {written.path}",
            title="Incident report",
            severity=severity,
            timeout=20,
        )

    @work(exclusive=True, group="action", exit_on_error=False)
    async def action_switch_target(self) -> None:
        choices = list(self.targets.values())
        if not any(t.url == self.target.url for t in choices):
            choices.insert(0, self.target)
        if len(choices) < 2:
            self.notify(
                "Only one target. List environments under `targets:` in the config file "
                "(see config.example.yaml), then press t.",
                timeout=8,
            )
            return
        chosen = await self.push_screen_wait(TargetScreen(choices, self.target))
        if chosen is None or (chosen.url == self.target.url and chosen.name == self.target.name):
            return
        self.target = chosen
        self.state.reset()
        if not self._flag_read_only:
            self.read_only = None
            self.refresh_bindings()
        self.poller.set_target(chosen)
        self._dirty.update(TABS)
        self._show_chrome()
        self._render_tab(self.active_tab)
        self.notify(f"Now watching {chosen.name} ({chosen.url}).", timeout=4)

    # ------------------------------------------------------------------ jobs

    @on(JobsView.JobChosen)
    def _job_chosen(self, message: JobsView.JobChosen) -> None:
        if message.what == "open":
            self.open_job(message.job)
        else:
            self.job_action(message.job, message.what)

    @on(ErrorsView.JobChosen)
    def _error_job_chosen(self, message: ErrorsView.JobChosen) -> None:
        self.open_job(message.job)

    @on(JobDetailScreen.Action)
    def _detail_action(self, message: JobDetailScreen.Action) -> None:
        self.job_action(message.job, message.what)

    @work(group="detail", exit_on_error=False)
    async def open_job(self, job: Job) -> None:
        screen = JobDetailScreen(job, self.state.clock())
        await self.push_screen(screen)
        try:
            fresh = await self.request(lambda c: c.job(job.id))
        except Exception as exc:
            screen.show(None, self.state.clock(), f"could not refresh: {describe(exc)}")
            return
        screen.show(fresh, self.state.clock())

    @work(exclusive=True, group="action", exit_on_error=False)
    async def job_action(self, job: Job, what: str) -> None:
        if self._blocked():
            return
        verb = {"retry": "Retry", "cancel": "Cancel"}[what]
        body = Text()
        body.append(f"{verb} job {job.id}?\n\n")
        body.append(
            f"{job.type} · {job.status} · attempt {job.attempts} of {job.max_attempts}\n",
            style="dim",
        )
        body.append(
            "It goes back to pending, to run again."
            if what == "retry"
            else "It will not run; a worker that holds it stops at its next update.",
            style="dim",
        )
        label = "Retry" if what == "retry" else "Cancel job"
        if not await self.push_screen_wait(ConfirmScreen(f"{verb} job", body, label)):
            return
        try:
            if what == "retry":
                changed = await self.request(lambda c: c.retry_job(job.id))
            else:
                changed = await self.request(lambda c: c.cancel_job(job.id))
        except Exception as exc:
            self._failed(f"{verb} job {job.id}", exc)
            return
        self.notify(f"Job {job.id} is now {changed.status}.", title=f"{verb} job", timeout=6)
        if isinstance(self.screen, JobDetailScreen):
            self.screen.show(changed, self.state.clock())
        self.poller.kick("jobs", "health", "errors")

    # ------------------------------------------------------------------ errors

    @on(ErrorsView.CategoryHighlighted)
    def _category(self, message: ErrorsView.CategoryHighlighted) -> None:
        self.load_category(message.category)

    @work(exclusive=True, group="category", exit_on_error=False)
    async def load_category(self, category: ErrorCategory) -> None:
        ids = category.job_ids[:CATEGORY_JOBS]

        async def fetch(c: Client) -> list[Any]:
            return await asyncio.gather(*(c.job(i) for i in ids), return_exceptions=True)

        problem = None
        jobs: list[Job] = []
        if ids:
            try:
                answers = await self.request(fetch)
            except Exception as exc:
                answers, problem = [], describe(exc)
            failures = [a for a in answers if isinstance(a, BaseException)]
            jobs = [a for a in answers if not isinstance(a, BaseException)]
            if failures and not problem:
                problem = f"{len(failures)} job(s) could not be read: {describe(failures[0])}"
        view = self.view("errors")
        if view is not None:
            view.show_category(category, jobs, problem, self.state.clock())
