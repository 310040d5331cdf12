"""One job in full: every field, every timestamp, the whole error; retry and cancel from here."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from jobtui.contract import Job
from jobtui.dashboard import keys
from jobtui.dashboard.actions import JobKeys, job_actions
from jobtui.dashboard.format import ago, local, took
from jobtui.dashboard.jobs import JOB_STYLE, duration
from jobtui.dashboard.lists import ScrollBox
from jobtui.dashboard.messages import JobChosen
from jobtui.dashboard.widgets import literal


class JobDetailScreen(JobKeys, ModalScreen[None]):
    """Shows a job; the app refreshes it (``GET /api/jobs/{id}``) and runs retry / cancel."""

    SCOPE = "detail"
    BINDINGS = keys.bindings(SCOPE)
    TOASTS = True  # the outcome of retry and cancel shows over it (see toasts.py)

    def __init__(self, job: Job, now: datetime):
        super().__init__(classes="dialog")
        self.job = job
        self._now = now
        self._problem: str | None = None
        self._rows: list[tuple[str, str | Text]] = []  # what the grid shows

    def compose(self) -> ComposeResult:
        with ScrollBox(id="detail") as box:
            box.border_title = literal(f"Job {self.job.id}")
            yield Static(id="detail-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#detail", ScrollBox).focus()  # the arrows and list keys scroll it
        self._paint()

    def show(self, job: Job | None, now: datetime, problem: str | None = None) -> None:
        if job is not None:
            before, self.job = self.job, job
            if job_actions(job) != job_actions(before):
                self.refresh_bindings()  # the footer offers what this job allows now
        self._now, self._problem = now, problem
        self._paint()

    def tick(self, now: datetime) -> None:
        """Every second: the ages and a running job's duration (repainted if they changed)."""
        self._now = now
        self._paint()

    def _paint(self) -> None:
        if not self.is_mounted:
            return  # the clock's tick can come before the screen is composed
        rows = self._lines()
        if rows == self._rows:
            return
        self._rows = rows
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", justify="right")
        grid.add_column()
        for label, value in rows:
            grid.add_row(label, value)
        self.query_one("#detail-body", Static).update(grid)

    def _lines(self) -> list[tuple[str, str | Text]]:
        j, now = self.job, self._now
        rows: list[tuple[str, str | Text]] = [
            ("ID", literal(j.id)),
            ("Type", literal(j.type)),
            ("Status", Text(j.status, style=f"bold {JOB_STYLE.get(j.status, '')}")),
            ("Progress", f"{j.progress}%"),
            ("Attempts", f"{j.attempts} of {j.max_attempts}"),
        ]
        for label, when in (
            ("Created", j.created_at),
            ("Started", j.started_at),
            ("Updated", j.updated_at),
            ("Completed", j.completed_at),
        ):
            rows.append((label, f"{local(when)}  ({ago(when, now)})" if when else "—"))
        ran = duration(j, now)
        if ran:
            rows.append(("Ran for", ran))
        if j.started_at is not None:
            rows.append(("Waited", took((j.started_at - j.created_at).total_seconds())))
        rows.append(("Message", literal(j.message, lines=True) if j.message else "—"))
        rows.append(("Error", literal(j.error, "red", lines=True) if j.error else "—"))
        if self._problem:
            rows.append(("", literal(self._problem, "yellow")))
        return rows

    def action_retry(self) -> None:
        self.post_message(JobChosen(self.job, "retry"))

    def action_cancel_job(self) -> None:
        self.post_message(JobChosen(self.job, "cancel"))

    def action_close(self) -> None:
        self.dismiss(None)

    def acted_on(self) -> Job | None:
        return self.job
