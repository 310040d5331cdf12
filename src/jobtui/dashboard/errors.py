"""The Errors tab: failed jobs grouped by the seed's categories, most urgent first; the
highlighted category's recent failed jobs below (the seed's ErrorAnalysis)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable

from jobtui.contract import ErrorCategory, ErrorsReport, Job
from jobtui.dashboard import bulk, keys
from jobtui.dashboard.actions import Gated
from jobtui.dashboard.columns import Column, fit, row, set_columns
from jobtui.dashboard.format import ago, excerpt, short_id, stale_note
from jobtui.dashboard.lists import Table, retime
from jobtui.dashboard.messages import CategoryHighlighted, JobChosen
from jobtui.dashboard.state import Feed, State
from jobtui.dashboard.widgets import Text1, literal

PRIORITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}
CATEGORY_COLUMNS = (  # the recommendation takes the room left, cut with "…"
    Column("Priority", "priority", 9),
    Column("Category", "category", 16, least=12),
    Column("Count", "count", 6),
    Column("Last seen", "last", 10),
    Column("Recommendation", "recommendation", 12, rest=True),
)
JOB_COLUMNS = (  # the error takes the room left, cut with "…"; the detail shows it all
    Column("ID", "id", 8),
    Column("Type", "type", 18, least=11),
    Column("Tries", "attempts", 6),
    Column("Failed", "failed", 10),
    Column("Error", "error", 12, rest=True),
)


def counted(c: ErrorCategory, report: ErrorsReport | None) -> str:
    """A category's count, "≥ N" when the server counted only a sample of the window."""
    sampled = report is not None and report.analysed < report.total
    return f"≥ {c.count:,}" if sampled else f"{c.count:,}"


class ErrorsView(Gated, Vertical):
    """``GET /api/monitoring/errors``; the app fetches the jobs of the highlighted category."""

    SCOPE = "errors"
    BINDINGS = keys.bindings(SCOPE)
    can_focus = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._report: ErrorsReport | None = None
        self._categories: dict[str, ErrorCategory] = {}
        self._jobs: dict[str, Job] = {}
        self._current: str | None = None
        self._panel: ErrorCategory | None = None  # the category whose jobs are listed below
        self._panel_shown: tuple[ErrorCategory, list[Job], str | None, datetime] | None = None
        self._widths: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self._drawn: datetime | None = None  # the time the categories were drawn at

    def compose(self) -> ComposeResult:
        yield Text1(id="errors-head")
        yield Text1(id="errors-note")
        yield Table(id="categories", cursor_type="row")
        yield Text1(id="category-head")
        yield Table(id="category-jobs", cursor_type="row")

    def on_mount(self) -> None:
        self.query_one("#errors-note").display = False
        self._size_columns(self.app.size.width - 4)  # the view's padding, the scrollbar

    def on_resize(self, event: events.Resize) -> None:
        self._size_columns(self.query_one("#categories", DataTable).scrollable_content_region.width)

    def _size_columns(self, room: int) -> None:
        """Both tables' columns fitted to ``room`` cells, and what they show drawn again in
        them (only when the widths change: a resize, never a poll)."""
        widths = (fit(CATEGORY_COLUMNS, room), fit(JOB_COLUMNS, room))
        if widths == self._widths:
            return
        self._widths = widths
        cats, jobs = (
            self.query_one("#categories", DataTable),
            self.query_one("#category-jobs", DataTable),
        )
        set_columns(cats, CATEGORY_COLUMNS, widths[0])
        set_columns(jobs, JOB_COLUMNS, widths[1])
        if self._report is not None and self._drawn is not None:
            self._fill(cats, self._report, self._drawn)
        if self._panel_shown is not None:
            self.show_category(*self._panel_shown)

    def focus_main(self) -> None:
        table = self.query_one("#categories", DataTable)
        if table.display:
            table.focus()
        else:
            self.focus()  # the tab's keys still work (the table is hidden: not provided)

    # ------------------------------------------------------------------ keys

    def action_open(self) -> None:
        cats = self.query_one("#categories", DataTable)
        jobs = self.query_one("#category-jobs", DataTable)
        if cats.has_focus:
            if jobs.row_count:
                jobs.focus()
            return
        job = self._selected_job()
        if job is not None:
            self.post_message(JobChosen(job))

    def action_bulk(self, action: str) -> None:
        category = self._categories.get(self._current or "")
        if category is None or self._report is None:
            self.app.notify("No category selected.", timeout=2)
            return
        bulk.start(self.app, action, bulk.of_category(action, category, self._report.hours))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @on(DataTable.RowHighlighted, "#categories")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        category = self._categories.get(str(event.row_key.value))
        if category is not None and category.category != self._current:
            self._current = category.category
            self.post_message(CategoryHighlighted(category))

    def _selected_job(self) -> Job | None:
        table = self.query_one("#category-jobs", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self._jobs.get(str(key.value))

    # ------------------------------------------------------------------ rendering

    def show(self, state: State) -> None:
        feed = state.errors
        now = state.clock()
        report: ErrorsReport | None = feed.value
        note = self.query_one("#errors-note", Text1)
        cats = self.query_one("#categories", DataTable)
        head = self.query_one("#errors-head", Text1)
        if feed.not_provided:
            head.set(Text("Errors", style="bold"))
            note.set(Text(f"Errors: {feed.error}.", style="yellow"))
            note.display = True
            for w in self.query(DataTable):
                w.display = False
            self.query_one("#category-head").display = False
            return
        for w in self.query(DataTable):
            w.display = True
        self.query_one("#category-head").display = True
        head.set(self._head(feed, now))
        if report is not None and not report.categories:
            note.set(Text("No failed jobs in this period.", style="green"))
            note.display = True
        else:
            note.display = False
        if report is not None and report != self._report:
            self._fill(cats, report, now)
            self._report = report

    def tick(self, state: State) -> None:
        """Every second: the head's age of stale data, and "Last seen" and "Failed", each
        cell only where its text changed."""
        feed, now = state.errors, state.clock()
        if feed.not_provided:
            return
        self.query_one("#errors-head", Text1).set(self._head(feed, now))
        retime(self.query_one("#categories", DataTable), self._categories, {"last": last_seen}, now)
        retime(self.query_one("#category-jobs", DataTable), self._jobs, {"failed": failed}, now)

    @staticmethod
    def _head(feed: Feed[ErrorsReport], now: datetime) -> Text:
        report = feed.value
        text = Text()
        if report is None:
            text.append("Failed jobs: ", style="bold")
            error = feed.error
            text.append(literal(error or "waiting for the server…", "red" if error else "dim"))
        else:
            text.append(f"Failed jobs in the last {report.hours} h: ", style="bold")
            text.append(f"{report.total:,}", style="bold red" if report.total else "bold green")
            if report.analysed < report.total:
                text.append(f" (newest {report.analysed:,} analysed)", style="dim")
            text.append(f" · {len(report.categories)} categories", style="dim")
            text.append("   Enter: jobs of a category, then a job's detail", style="dim")
        if feed.stale:
            text.append(f"   {stale_note(feed.age(now))}", style="bold yellow")
        return text

    def _fill(self, table: DataTable[str | Text], report: ErrorsReport, now: datetime) -> None:
        current = self._current
        table.clear()
        self._drawn = now
        self._categories = {c.category: c for c in report.categories}
        widths = self._widths[0]
        for c in report.categories:
            cells = {
                "priority": Text(c.priority, style=PRIORITY_STYLE.get(c.priority, "")),
                "category": literal(excerpt(c.category, widths.get("category", 16))),
                "count": counted(c, report),
                "last": last_seen(c, now),
                "recommendation": literal(
                    excerpt(c.recommendation, widths.get("recommendation", 70))
                ),
            }
            table.add_row(*row(cells, widths), key=c.category)
        if current in self._categories:
            table.move_cursor(row=table.get_row_index(current), animate=False)
            if self._categories[current] != self._panel:  # its count or jobs changed
                self.post_message(CategoryHighlighted(self._categories[current]))
        elif report.categories:
            self._current = None
            table.move_cursor(row=0, animate=False)
            first = report.categories[0]
            self._current = first.category
            self.post_message(CategoryHighlighted(first))

    def show_category(
        self, category: ErrorCategory, jobs: list[Job], problem: str | None, now: datetime
    ) -> None:
        """The recent failed jobs of ``category`` (fetched by the app)."""
        if category.category != self._current:
            return
        self._panel = category
        self._panel_shown = (category, jobs, problem, now)
        head = Text()
        head.append_text(literal(category.category, "bold"))
        head.append(f" · {counted(category, self._report)} failed", style="dim")
        if category.sample:
            head.append("\nsample: ", style="dim")
            head.append(literal(excerpt(category.sample, 300), "red"))
        if problem:
            head.append("\n")
            head.append(literal(problem, "yellow"))
        elif not category.job_ids:
            head.append("\nthis server does not list the jobs of a category", style="dim")
        self.query_one("#category-head", Text1).set(head)
        table = self.query_one("#category-jobs", DataTable)
        table.clear()
        self._jobs = {j.id: j for j in jobs}
        widths = self._widths[1]
        for j in jobs:
            cells = {
                "id": literal(short_id(j.id, widths.get("id", 8))),
                "type": literal(excerpt(j.type, widths.get("type", 18))),
                "attempts": f"{j.attempts}/{j.max_attempts}",
                "failed": failed(j, now),
                "error": literal(excerpt(j.error, widths.get("error", 70)), "red"),
            }
            table.add_row(*row(cells, widths), key=j.id)


def last_seen(c: ErrorCategory, now: datetime) -> str:
    return ago(c.last_seen, now) if c.last_seen else ""


def failed(j: Job, now: datetime) -> str:
    return ago(j.completed_at or j.updated_at, now)
