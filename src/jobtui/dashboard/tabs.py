"""The dashboard's screen: the top bar, four tabs, the status bar and the footer. A tab's view
is built the first time it is shown; a view is painted only while shown and after what it
shows has changed (``_dirty``); each tab tells the poller which feeds it needs.

A layer of the app (like :class:`~jobtui.dashboard.toasts.ToastingApp`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane

from jobtui.dashboard import chrome, feeds
from jobtui.dashboard.footer import KeyFooter
from jobtui.dashboard.messages import QueryChanged, TimespanChanged
from jobtui.dashboard.overview import OverviewView

if TYPE_CHECKING:
    from jobtui.capacity import CapacityConfig
    from jobtui.config import DashboardConfig, Target
    from jobtui.dashboard.poller import Poller
    from jobtui.dashboard.standing import Standing
    from jobtui.dashboard.state import State

TABS = ("overview", "performance", "jobs", "errors")
METRICS_TABS = ("overview", "performance")  # the charts, and the Overview's capacity panel


def _build_view(tab: str) -> Any:
    """A new view of ``tab`` (not the Overview's): its module is imported only now."""
    if tab == "performance":
        from jobtui.dashboard.performance import PerformanceView

        return PerformanceView(feeds.DEFAULT_HOURS, id="performance-view")
    if tab == "jobs":
        from jobtui.dashboard.jobs import JobsView

        return JobsView(id="jobs-view")
    from jobtui.dashboard.errors import ErrorsView

    return ErrorsView(id="errors-view")


class DashboardTabs(TabbedContent):
    """Tabs that change only by key or click: a focus arriving late from the tab being left
    (focus moves into a tab's view after it is built) must not switch back to it."""

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        event.stop()
        event.prevent_default()


class TabbedApp(App[int]):
    """The app's main screen and its tabs."""

    if TYPE_CHECKING:  # the dashboard's, used here
        target: Target
        settings: DashboardConfig
        state: State
        poller: Poller
        capacity: CapacityConfig | None
        capacity_problem: str | None
        read_only: str | None

        @property
        def leaving(self) -> bool: ...
        def guard(self, what: str, fn: Callable[..., Any], *args: Any) -> None: ...
        def standing(self) -> Standing: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dirty: set[str] = set(TABS)  # views to paint when shown
        self._views: dict[str, Any] = {}
        self._shown_tab = "overview"  # for the poller's thread (the DOM is not thread-safe)
        self._mounting: dict[str, asyncio.Future[None]] = {}

    def compose(self) -> ComposeResult:
        yield chrome.TopBar(id="topbar")
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
        yield chrome.StatusBar(id="statusbar")
        yield KeyFooter()

    @property
    def main(self) -> Screen[Any]:
        """The dashboard's own screen (``query_one`` on the app would search the top screen,
        which is a dialog while one is open)."""
        return self.screen_stack[0]

    @property
    def active_tab(self) -> str:
        return self.main.query_one("#tabs", TabbedContent).active or "overview"

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
            view = _build_view(tab)
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
            view.show(self.state, self.target, self.read_only, self.standing())
        else:
            view.show(self.state)

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
            "metrics", every if tab == "performance" else feeds.overview_metrics(self.settings)
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

    @on(TimespanChanged)
    def _timespan(self, message: TimespanChanged) -> None:
        self.poller.set_fetch("metrics", feeds.metrics_fetch(message.hours))
        self._dirty.add("performance")
        self._render_tab("performance")

    @on(QueryChanged)
    def _jobs_query_changed(self, message: QueryChanged) -> None:
        self.poller.set_fetch("jobs", feeds.jobs_fetch(message.query, self.settings.jobs_page_size))
        self._dirty.add("jobs")
        self._render_tab("jobs")
