"""The dashboard app: four tabs over one target, polled off the UI thread, keys from one registry.

The app owns the :class:`~jobtui.dashboard.poller.Poller` (feeds) and the
:class:`~jobtui.dashboard.state.State` (last good data), takes the poller's answers in (the one
way they enter the state, marking the views they touch) and keeps read-only
(:attr:`DashboardApp.read_only`, the one fact the footer and every screen follow). Its layers:
:mod:`~jobtui.dashboard.tabs` (the screen and its tabs), :mod:`~jobtui.dashboard.server_actions`
(what changes the server, each confirmed first) and :mod:`~jobtui.dashboard.toasts`;
:mod:`~jobtui.dashboard.chrome` says what the top and status bars show.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import SystemCommand
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen

from jobtui.capacity import CapacityConfig, load_capacity_config
from jobtui.config import Config, ConfigError, DashboardConfig, Target
from jobtui.dashboard import chrome, feeds, keys, textual_fixes
from jobtui.dashboard.actions import Gated
from jobtui.dashboard.overview import OverviewView
from jobtui.dashboard.poller import ClientFactory, Poller
from jobtui.dashboard.server_actions import ServerActions
from jobtui.dashboard.standing import Standing, standing
from jobtui.dashboard.state import Clock, FeedName, State, Update, failed_as
from jobtui.dashboard.tabs import METRICS_TABS, TABS, TabbedApp
from jobtui.dashboard.toasts import ToastingApp
from jobtui.dashboard.widgets import Text1
from jobtui.errors import Unauthorized
from jobtui.literal import printable

if TYPE_CHECKING:
    from textual.actions import ActionParseResult
    from textual.binding import BindingType
    from textual.dom import DOMNode
    from textual.driver import Driver
    from textual.notifications import SeverityLevel


TOUCHES: dict[FeedName, tuple[str, ...]] = {  # the tabs each feed's answer changes
    "health": ("overview",),
    "host": ("overview",),
    "metrics": ("performance", "overview"),
    "jobs": ("jobs",),
    "errors": ("errors",),
    "admin": (),
}
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


class Polled(Message):
    """Answers are waiting in the poller (posted from its thread)."""


class DashboardApp(Gated, ServerActions, TabbedApp, ToastingApp[int]):
    CSS_PATH = css_path()
    TITLE = "jobtui"
    AUTO_FOCUS = "#overview-view"
    SCOPE = "app"
    BINDINGS: ClassVar[list[BindingType]] = [*keys.bindings(SCOPE)]
    # classes on every screen, for the stylesheet: two cards a row below 96 columns; the
    # short layout (what matters, without scrolling) below 36 rows, as on 80×24 (no ClassVar:
    # Textual's annotation reads to mypy as an instance attribute's)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (96, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]  # noqa: RUF012

    read_only: var[str | None] = var(None, init=False)
    """Why keys that change the server are off (``--read-only``, or the admin check's 401/403),
    or None: the footer, every screen and the palette follow it."""

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
        textual_fixes.apply()
        super().__init__()
        self.animation_level = "none"  # over SSH, animation is only traffic and CPU
        self.target = target
        self.targets = dict(targets or {})
        self.settings = settings or DashboardConfig()
        self.set_keymap(self.settings.keymap)  # checked when the config was read
        self.config = config or Config()  # the capacity, logging and incident sections
        self.capacity: CapacityConfig | None = None
        self.capacity_problem: str | None = None
        try:
            self.capacity = load_capacity_config(self.config)
        except ConfigError as exc:
            self.capacity_problem = str(exc)
        self.state = State(clock=clock) if clock else State()
        self.set_reactive(DashboardApp.read_only, "started with --read-only" if read_only else None)
        self._flag_read_only = read_only
        self._explained: set[str] = set()  # refusals said since the last change of the gates
        self._nothing_stuck = False  # the last health answer counted 0 stuck jobs
        self._handle_signals = handle_signals
        self.display_error: str | None = None
        self._flush_pending = False
        self._chrome_dirty = False
        self._title = chrome.TerminalTitle()  # what the terminal's tab or tmux shows
        self._standing: Standing | None = None  # the top line's word, as last shown
        self.poller = poller or feeds.make_poller(
            target,
            self.settings,
            timeout=timeout,
            host_sampler=host_sampler,
            client_factory=client_factory,
            read_only=read_only,
        )

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
        self.poller.attach(self._wake, quiet=self._quiet)
        self._take_answers()  # answers from before the UI was up are in the first frame
        self.set_interval(1.0, self._tick)
        # What start-up built (Textual, the stylesheet, the widgets) lives as long as the app:
        # out of the collector's way, a full collection no longer walks it (≈50 ms each).
        self.set_timer(FREEZE_AFTER, lambda: gc.freeze())
        self._show_chrome()
        self._render_tab(self.active_tab)

    def on_unmount(self) -> None:
        self._title.restore(self._terminal())
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

    # ------------------------------------------------------------------ data in (intake)

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

    def _wake(self) -> None:
        """From the poller's thread: answers are waiting (once until they are taken)."""
        self.post_message(Polled())

    def _quiet(self, feed: FeedName) -> bool:
        """Answers that need no frame of their own, nor a wake-up of the UI thread: the host
        reading, and the metrics history where no chart shows it; they are taken with the
        next frame or tick. Called from the poller's thread: it reads a plain attribute."""
        return feed == "host" or (feed == "metrics" and self._shown_tab != "performance")

    @on(Polled)
    def _polled(self) -> None:
        if not self._flush_pending:  # answers that arrive together are painted together
            self._flush_pending = True
            self.set_timer(COALESCE, self._paint_answers)

    def _take_answers(self) -> None:
        """The one way answers enter the state: the newest of each feed, from the poller."""
        for u in self.poller.take():
            self.guard(u.feed, self._take, u)

    def _take(self, u: Update) -> None:
        """Put an answer in the state and mark what it touches."""
        self.state.apply(u)
        if u.feed == "admin":
            self._admin_answered(u)
        if u.feed == "health":
            self._stuck_answered()
        if u.feed == "metrics" and self.active_tab not in METRICS_TABS:
            # asked once at the start (it seeds the sparklines); then only while shown
            self.poller.set_active("metrics", False)
        self._dirty.update(TOUCHES[u.feed])
        if u.feed != "host":
            self._chrome_dirty = True

    def _paint_answers(self) -> None:
        self._flush_pending = False
        if self.leaving:
            return
        self._take_answers()
        if self._chrome_dirty:
            self._chrome_dirty = False
            self.guard("status", self._show_chrome)
        self._render_tab(self.active_tab)

    def _admin_answered(self, u: Update) -> None:
        if self._flag_read_only:
            return
        if failed_as(u.kind, Unauthorized):
            self.read_only = f"the admin check said: {u.error}"
        elif u.error is None:
            self.read_only = None

    def watch_read_only(self) -> None:
        self._dirty.add("overview")
        self._gates_changed()
        self.guard("status", self._show_chrome)

    def _stuck_answered(self) -> None:
        h = self.state.health.value
        nothing = h is not None and h.health.stuck_jobs_count == 0
        if nothing != self._nothing_stuck:
            self._nothing_stuck = nothing
            self._gates_changed()

    def retarget(self, target: Target) -> None:
        """Watch ``target`` from now on: its state starts empty, read-only is asked again."""
        self.target = target
        self.state.reset()
        self._stuck_answered()
        if not self._flag_read_only:
            self.read_only = None
        self.poller.set_target(target)
        self._dirty.update(TABS)
        self._show_chrome()
        self._render_tab(self.active_tab)

    def _gates_changed(self) -> None:
        """What the keys can do changed: every screen's footer is redrawn, and a refusal
        said before may be said again. (Footers rebuild themselves: only when they must.)"""
        self._explained.clear()
        for screen in self.screen_stack:
            screen.refresh_bindings()

    def _tick(self) -> None:
        """Every second: the ages and countdowns, and the answers that waited for a frame."""
        if self.leaving:
            return
        self._take_answers()
        if self._chrome_dirty:
            self._chrome_dirty = False
            self.guard("status", self._show_chrome)
        self.guard("status", self._show_status)
        word = self.standing()
        shown = self._standing
        if shown is None or (word.word, word.level) != (shown.word, shown.level):
            # e.g. the answer has just become too old: the badge, and the Overview's figures
            self.guard("status", self._show_pill)
            self._dirty.add("overview")
        tab = self.active_tab
        if tab in self._dirty:
            self._render_tab(tab)
        elif tab == "overview":
            view = self.main.query_one(OverviewView)
            now = self.state.clock()
            self.guard("overview", view.tick, self.state, self.target, now, word)
        elif (view := self.view(tab)) is not None and hasattr(view, "tick"):
            self.guard(tab, view.tick, self.state)
        top = self.screen  # a screen over the tabs (job detail, backups) has its own ages
        if top is not self.main and hasattr(top, "tick"):
            self.guard(type(top).__name__, top.tick, self.state.clock())

    def standing(self) -> Standing:
        """What the top line may say now (see :mod:`jobtui.dashboard.standing`)."""
        return standing(
            self.state,
            self.settings.health_interval,
            self.state.clock(),
            paused=self.poller.paused,
        )

    def _show_chrome(self) -> None:
        self.main.query_one("#where", Text1).set(chrome.where(self.target))
        self._show_pill()
        self._show_status()
        self.main.query_one("#readonly", Text1).set(chrome.read_only_note(self.read_only))

    def _show_pill(self) -> None:
        """The badge and the terminal title: the word of the top line, in its colour."""
        now = self._standing = self.standing()
        self.main.query_one("#pill", Text1).set(chrome.pill(now, self.read_only))
        self._title.set(f"jobtui · {now.word} · {self.target.address}", self._terminal())

    def _show_status(self) -> None:
        line = chrome.status_line(
            self.state,
            self.state.clock(),
            display_error=self.display_error,
            paused=self.poller.paused,
            every=self.settings.health_interval,
        )
        self.main.query_one("#status", Text1).set(line)

    @property
    def terminal_title(self) -> str | None:
        """What the terminal's tab or tmux shows (also when headless: nothing is written)."""
        return self._title.shown

    def _terminal(self) -> Driver | None:
        """The driver that writes to the terminal; None when headless."""
        return None if self.is_headless else self._driver

    # ------------------------------------------------------------------ simple actions

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast: its message is literal text unless ``markup`` is asked for (Textual's
        default is markup, but a job's id, a server's error or a backup's name must never be
        parsed as markup), and control characters are escaped in the message and the title."""
        super().notify(
            printable(message, lines=True),
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def action_refresh_now(self) -> None:
        self.poller.kick()
        self.notify("Refreshing…", timeout=1.5)

    def action_toggle_pause(self) -> None:
        self.poller.pause(not self.poller.paused)
        if not self.poller.paused:
            self.poller.kick()
        self._show_chrome()

    def action_help(self) -> None:
        from jobtui.dashboard.help import HelpScreen

        self.push_screen(HelpScreen(self.read_only, self.settings.keymap))

    def refusal(self, action: str) -> str | None:
        why = super().refusal(action)
        if why is None and action == "recover_stuck" and self._nothing_stuck:
            why = "Nothing is stuck: no job is processing without updates."
        return why

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """Run an action; one that cannot run now (dimmed in the footer) says why, once."""
        if await super().run_action(action, default_namespace, namespaces):
            return True
        space = self if default_namespace is None else default_namespace
        target, name, _ = self._parse_action(action, space, namespaces)
        why = target.refusal(name) if isinstance(target, Gated) else None
        if why:
            self.explain(why)
        return False

    def explain(self, why: str) -> None:
        """Say why a key does nothing: once, until what the keys can do changes."""
        if why not in self._explained:
            self._explained.add(why)
            self.notify(printable(why), severity="warning", timeout=5, markup=False)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        offered: set[tuple[str, str]] = set()  # one command an action (q and ctrl+c quit)
        for k in keys.KEYS:
            if k.scope in keys.PALETTE and (k.scope, k.action) not in offered:
                offered.add((k.scope, k.action))
                where = "" if k.scope == "app" else f" ({keys.SCOPES[k.scope]})"
                yield SystemCommand(
                    f"{k.label}{where}", self._command_help(k), partial(self.run_key, k)
                )
        scope = getattr(screen, "SCOPE", None)  # a screen's own keys, while it is shown
        for k in keys.scoped(scope) if scope in keys.SCREENS else ():
            yield SystemCommand(
                f"{k.label} ({keys.SCOPES[k.scope]})",
                self._command_help(k),
                partial(self.run_screen_key, k, screen),
            )

    def _command_help(self, k: keys.Key) -> str:
        off = " (off: read-only)" if k.changes and self.read_only else ""
        return f"{k.help} — key {k.shown_with(self.settings.keymap)}{off}"

    async def run_key(self, key: keys.Key) -> None:
        """Do what ``key`` does, from the command palette (switching tab first if needed)."""
        if key.scope == "app":
            await self.run_action(key.action)
            return
        self.action_show_tab(key.scope)
        view = await self._ensure_view(key.scope)
        if view is not None:
            await self.run_action(key.action, view)

    async def run_screen_key(self, key: keys.Key, screen: Screen[Any]) -> None:
        """Do what a screen's ``key`` does, from the command palette."""
        await self.run_action(key.action, screen)

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
