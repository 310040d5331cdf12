"""The Jobs tab: one page of jobs at a time (keyset pagination), filtered by status with keys,
searched with ``/``; Enter opens a job, retry and cancel are confirmed by the app."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Input

from jobtui.contract import Job
from jobtui.dashboard import bulk, keys
from jobtui.dashboard.actions import JobKeys, job_actions
from jobtui.dashboard.columns import Column, fit, row, set_columns
from jobtui.dashboard.feeds import JobsQuery, JobsResult
from jobtui.dashboard.format import excerpt, short_id, span, stale_note, took
from jobtui.dashboard.lists import Table, retime
from jobtui.dashboard.messages import JobAction, JobChosen, QueryChanged
from jobtui.dashboard.state import State
from jobtui.dashboard.widgets import Text1, literal

STATUS_CYCLE: tuple[str | None, ...] = (
    None,
    "pending",
    "processing",
    "failed",
    "completed",
    "cancelled",
)
JOB_STYLE = {
    "pending": "cyan",
    "processing": "blue",
    "completed": "green",
    "failed": "red",
    "cancelled": "dim",
}
COLUMNS = (  # at 80 columns: Progress left out, Type shortened, the Error column shown
    Column("ID", "id", 8),
    Column("Type", "type", 18, least=11),
    Column("Status", "status", 10),
    Column("Progress", "progress", 8, optional=True),
    Column("Tries", "attempts", 5),
    Column("Age", "age", 7, least=6),
    Column("Duration", "duration", 8),
    Column("Error", "error", 14, rest=True),  # cut with "…"; the detail shows it all
)


class JobsView(JobKeys, Vertical):
    """A page of ``GET /api/jobs``; the app polls the current page while the tab is shown."""

    SCOPE = "jobs"
    BINDINGS = keys.bindings(SCOPE)
    can_focus = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.query_ = JobsQuery()
        self._cursors: list[str | None] = [None]  # the cursor of each page so far
        self._next: str | None = None
        self._shown: JobsResult | None = None
        self._jobs: dict[str, Job] = {}
        self._allowed: frozenset[str] = frozenset()  # what the footer offers for the cursor's job
        self._widths: dict[str, int] = {}
        self._now: datetime | None = None  # the time the page shown was drawn at

    def compose(self) -> ComposeResult:
        yield Text1(id="jobs-head")
        yield Input(
            placeholder="search id, type, message or error — Enter to search, Esc to close",
            id="jobs-search",
            select_on_focus=False,  # what was typed before its focus landed stays, unselected
        )
        yield Text1(id="jobs-note")
        table = Table(id="jobs-table", cursor_type="row")
        table.zebra_stripes = True
        yield table

    def on_mount(self) -> None:
        self.query_one("#jobs-search", Input).display = False
        self.query_one("#jobs-note").display = False
        self._size_columns(self.app.size.width - 4)  # the view's padding, the scrollbar

    def on_resize(self, event: events.Resize) -> None:
        table = self.query_one("#jobs-table", DataTable)
        self._size_columns(table.scrollable_content_region.width)

    def _size_columns(self, room: int) -> None:
        """The columns fitted to ``room`` cells, and the page drawn again in them (only when
        the widths change: a resize, never a poll)."""
        widths = fit(COLUMNS, room)
        if widths == self._widths:
            return
        self._widths = widths
        table = self.query_one("#jobs-table", DataTable)
        if self._shown is not None and self._now is not None:
            self._fill(table, self._shown, self._now, columns=True)  # the selection kept
        else:
            set_columns(table, COLUMNS, widths)

    def focus_main(self) -> None:
        box = self.query_one("#jobs-search", Input)
        table = self.query_one("#jobs-table", DataTable)
        if box.display:
            box.focus()  # a search being typed keeps the keys (the tab may be shown after `/`)
        elif table.display:
            table.focus()
        else:
            self.focus()  # the tab's keys still work (the table is hidden: not provided)

    # ------------------------------------------------------------------ keys

    def _ask(self, query: JobsQuery) -> None:
        self.query_ = query
        self.post_message(QueryChanged(query))

    def _restart(self, **changes: Any) -> None:
        self._cursors = [None]
        self._next = None
        self._ask(replace(self.query_, cursor=None, page=1, **changes))

    def action_search(self) -> None:
        box = self.query_one("#jobs-search", Input)
        box.display = True
        box.value = self.query_.q or ""
        box.focus()

    @on(Input.Submitted, "#jobs-search")
    def _searched(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip() or None
        event.input.display = False
        self.focus_main()
        if text != self.query_.q:
            self._restart(q=text)

    def on_key(self, event: events.Key) -> None:
        """While the search box shows, what is typed is the search, even if the box's focus
        has not landed yet (the keys would run the tab's commands: `s`, `e`, `b` …)."""
        box = self.query_one("#jobs-search", Input)
        if not box.display:
            return
        if event.key == "escape":
            box.display = False
            self.focus_main()
        elif event.is_printable and event.character and not box.has_focus:
            box.focus()
            box.insert_text_at_cursor(event.character)
        else:
            return
        event.stop()
        event.prevent_default()

    def action_cycle_status(self) -> None:
        i = STATUS_CYCLE.index(self.query_.status)
        self._restart(status=STATUS_CYCLE[(i + 1) % len(STATUS_CYCLE)])

    def action_status(self, status: str) -> None:
        if status:
            self._restart(status=status)
        else:
            self._restart(status=None, q=None)

    def action_page(self, delta: int) -> None:
        if delta > 0:
            if self._next is None:
                self.app.notify("This is the last page.", timeout=2)
                return
            self._cursors.append(self._next)
        else:
            if len(self._cursors) <= 1:
                self.app.notify("This is the first page.", timeout=2)
                return
            self._cursors.pop()
        self._ask(replace(self.query_, cursor=self._cursors[-1], page=len(self._cursors)))

    def selected(self) -> Job | None:
        table = self.query_one("#jobs-table", DataTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:
            return None
        return self._jobs.get(str(key.value))

    def _choose(self, what: JobAction) -> None:
        job = self.selected()
        if job is None:
            self.app.notify("No job selected.", timeout=2)
            return
        self.post_message(JobChosen(job, what))

    def action_open_job(self) -> None:
        self._choose("open")

    def action_retry(self) -> None:
        self._choose("retry")

    def action_cancel_job(self) -> None:
        self._choose("cancel")

    def action_bulk(self, action: str) -> None:
        bulk.start(self.app, action, bulk.of_jobs(action, self.query_))

    @on(DataTable.RowSelected, "#jobs-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._choose("open")

    @on(DataTable.RowHighlighted, "#jobs-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._follow_cursor()

    def acted_on(self) -> Job | None:
        return self.selected()

    def _follow_cursor(self) -> None:
        """Retry and cancel follow the job under the cursor: the footer is redrawn when what
        it allows changes (not on every move)."""
        job = self.selected()
        allowed = job_actions(job) if job is not None else frozenset()
        if allowed != self._allowed:
            self._allowed = allowed
            self.refresh_bindings()

    # ------------------------------------------------------------------ rendering

    def show(self, state: State) -> None:
        feed = state.jobs
        now = state.clock()
        result: JobsResult | None = feed.value
        note = self.query_one("#jobs-note", Text1)
        table = self.query_one("#jobs-table", DataTable)
        if feed.not_provided:
            note.set(Text(f"Jobs: {feed.error}.", style="yellow"))
            note.display = True
            if table.has_focus:
                self.focus()  # the tab's keys still work (its bulk keys say why they cannot)
            table.display = False
            self.query_one("#jobs-head", Text1).set(Text("Jobs", style="bold"))
            return
        table.display = True
        if result is not None and result.query == self.query_:
            self._next = result.page.next_cursor
        self.query_one("#jobs-head", Text1).set(self._head(feed.stale, feed.age(now), result))
        if feed.error and not feed.stale and result is None:
            note.set(literal(feed.error, "red"))
            note.display = True
        elif result is not None and not result.page.jobs:
            note.set(Text("No jobs match.", style="dim"))
            note.display = True
        else:
            note.display = False
        if result is not None and result != self._shown:
            self._fill(table, result, now)
            self._shown = result

    def tick(self, state: State) -> None:
        """Every second: the head's age of stale data, and the cells that change with the
        clock (ages, running durations), each only where its text changed."""
        feed, now = state.jobs, state.clock()
        table = self.query_one("#jobs-table", DataTable)
        if feed.not_provided or not table.display:
            return
        self.query_one("#jobs-head", Text1).set(self._head(feed.stale, feed.age(now), feed.value))
        retime(table, self._jobs, CLOCKED, now)

    def _head(self, stale: bool, age: float | None, result: JobsResult | None) -> Text:
        q = self.query_
        text = Text()
        text.append("Status ", style="dim")
        text.append(q.status or "all", style=f"bold {JOB_STYLE.get(q.status or '', '')}")
        text.append("  (s next, f failed, a all)", style="dim")
        if q.q:
            text.append("   Search ", style="dim")
            text.append(literal(f"“{q.q}”", "bold"))
        text.append("   / search", style="dim")
        if result is not None:
            n = len(result.page.jobs)
            text.append(f"   Page {q.page}", style="bold")
            text.append(f" · {n} jobs" if n != 1 else " · 1 job", style="dim")
            more = "more: ]" if result.page.next_cursor else "last page"
            back = "  [ back" if q.page > 1 else ""
            text.append(f" · {more}{back}", style="dim")
        if stale:
            text.append(f"   {stale_note(age)}", style="bold yellow")
        return text

    def _fill(
        self, table: DataTable[str | Text], result: JobsResult, now: datetime, columns: bool = False
    ) -> None:
        """The page in the table, the selected job kept; with ``columns``, the columns at
        their new widths first."""
        keep = self.selected()
        keep_id = keep.id if keep is not None else None
        row_index = table.cursor_row
        if columns:
            set_columns(table, COLUMNS, self._widths)
        else:
            table.clear()
        self._now = now
        self._jobs = {j.id: j for j in result.page.jobs}
        for j in result.page.jobs:
            table.add_row(*row(self._cells(j, now, self._widths), self._widths), key=j.id)
        if keep_id is not None and keep_id in self._jobs:
            table.move_cursor(row=table.get_row_index(keep_id), animate=False)
        elif table.row_count:
            table.move_cursor(row=min(row_index, table.row_count - 1), animate=False)
        self._follow_cursor()

    @staticmethod
    def _cells(j: Job, now: datetime, widths: dict[str, int]) -> dict[str, str | Text]:
        return {
            "id": literal(short_id(j.id)),
            "type": literal(excerpt(j.type, widths.get("type", 18))),
            "status": Text(j.status, style=JOB_STYLE.get(j.status, "")),
            "progress": f"{j.progress}%",
            "attempts": f"{j.attempts}/{j.max_attempts}",
            "age": job_age(j, now),
            "duration": duration(j, now),
            "error": literal(excerpt(j.error, widths.get("error", 14)), "red"),
        }


def job_age(j: Job, now: datetime) -> str:
    return span((now - j.created_at).total_seconds())


def duration(j: Job, now: datetime) -> str:
    """How long it ran (finished jobs) or has been running (processing ones)."""
    if j.started_at is None:
        return ""
    end = j.completed_at or (now if j.status == "processing" else None)
    if end is None:
        return ""
    return took((end - j.started_at).total_seconds())


CLOCKED = {"age": job_age, "duration": duration}  # the cells that change with the clock, by column
