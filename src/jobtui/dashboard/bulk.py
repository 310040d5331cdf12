"""Bulk repair by cause (keys ``E`` and ``C``): retry or cancel every job of a selection.

On the Errors tab the selection is the highlighted category over the tab's window; on the Jobs
tab, the status filter and the search. The server's dry run comes first: the dialog shows its
exact count and the first jobs, and takes an optional "oldest N only". The real request then
never changes more than was confirmed (``limit``), and a toast says what it did: matched,
changed, and skipped (a job that changed meanwhile is left as it is).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from jobtui.contract import BulkAction, BulkRequest, BulkResult, ErrorCategory, Job
from jobtui.dashboard.confirm import Dialog
from jobtui.dashboard.feeds import JobsQuery
from jobtui.dashboard.format import ago, excerpt, short_id
from jobtui.dashboard.widgets import literal

if TYPE_CHECKING:
    from jobtui.client import Client

VERB = {"retry": "Retry", "cancel": "Cancel"}
DONE = {"retry": "Retried", "cancel": "Cancelled"}
FIXED_ROWS = 20  # the dialog's rows besides the sample (and room for a wrapped line)
ACTED_ON = {  # words for people: the server decides which jobs an action applies to
    "retry": "failed or cancelled",
    "cancel": "pending or processing",
}


@dataclass(frozen=True, slots=True)
class Selection:
    """What a bulk key acts on: the request for the server and its words for people."""

    request: BulkRequest
    words: Text


def of_category(action: str, category: ErrorCategory, hours: int) -> Selection:
    """The Errors tab's highlighted category over its window. A retry takes its failed jobs
    (the ones the tab counts); a cancel, the jobs still pending or processing whose last
    error is of the category (their retries)."""
    words = Text(f"{VERB[action]} every ")
    if action == "retry":
        words.append("failed job")
        request = BulkRequest("retry", status="failed", category=category.category, hours=hours)
    else:
        words.append(f"{ACTED_ON[action]} job")
        request = BulkRequest("cancel", category=category.category, hours=hours)
    words.append(" whose error is of the category ")
    words.append_text(literal(category.category, "bold"))
    words.append(f", in the last {hours} h?")
    return Selection(request, words)


def of_jobs(action: str, query: JobsQuery) -> Selection:
    """The Jobs tab's status filter and search (every page of it, not only the one shown)."""
    words = Text(f"{VERB[action]} every ")
    words.append(query.status or ACTED_ON[action])
    words.append(" job")
    if query.q:
        words.append(" matching ")
        words.append_text(literal(f"“{query.q}”", "bold"))
    words.append("?")
    status = cast(Any, query.status)  # one of the statuses the Jobs tab cycles through
    return Selection(BulkRequest(cast(BulkAction, action), status=status, q=query.q), words)


def sample_line(job: Job, now: datetime) -> Text:
    """One job of the dry run's sample: short id, type, status, when it last changed, error."""
    line = Text("  ")
    line.append_text(literal(short_id(job.id), "bold"))
    line.append("  ")
    line.append_text(literal(excerpt(job.type, 18)))
    line.append(f"  {job.status}  {ago(job.completed_at or job.updated_at, now)}", style="dim")
    if job.error:
        line.append("  ")
        line.append_text(literal(excerpt(job.error, 60), "red"))
    return line


def parse_oldest(text: str, matched: int) -> int | None:
    """ "Oldest N only" as typed: N from 1 to ``matched``; empty means all of them."""
    text = text.strip()
    if not text:
        return matched
    n = int(text) if text.isdigit() else 0
    return n if 1 <= n <= matched else None


def outcome(action: str, r: BulkResult) -> str:
    """What the server did, in one line."""
    text = f"{DONE[action]} {r.changed:,} of {r.matched:,} matched job(s)"
    if r.skipped:
        text += f"; {r.skipped:,} skipped (they changed meanwhile)"
    return text + "."


class BulkScreen(Dialog[int | None]):
    """The dry run's count (at least one job) and first jobs, and "oldest N only". Answers
    how many of the oldest matched jobs to change (all by default), or None."""

    DEFAULT_CSS = """
    BulkScreen #bulk-dry-run, BulkScreen #bulk-prompt { height: auto; margin-top: 1; }
    BulkScreen #bulk-dry-run { text-wrap: nowrap; text-overflow: ellipsis; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, action: str, selection: Selection, dry_run: BulkResult, now: datetime, target: str
    ):
        super().__init__(classes="dialog")
        self.action = action
        self.selection = selection
        self.dry_run = dry_run
        self._now = now
        self._target = target

    def compose(self) -> ComposeResult:
        r = self.dry_run
        with Vertical(id="dialog", classes="-wide") as box:
            box.border_title = f"{VERB[self.action]} all"
            body = Text("On ", style="dim")
            body.append_text(literal(self._target, "bold"))
            body.append(": ", style="dim")
            yield Static(body + self.selection.words, id="dialog-body")
            text = Text("Dry run: ", style="bold")
            text.append(f"{r.matched:,} job(s) match", style="bold")
            text.append("; nothing was written yet.", style="dim")
            shown = r.sample[: max(1, self.app.size.height - FIXED_ROWS)]  # all of it at 80×24
            if shown:
                text.append(" The oldest first:", style="dim")
            for job in shown:
                text.append("\n")
                text.append_text(sample_line(job, self._now))
            if shown and r.matched > len(shown):
                text.append(f"\n  … and {r.matched - len(shown):,} more", style="dim")
            yield Static(text, id="bulk-dry-run")
            yield Static(Text(f"Only the oldest N (empty: all {r.matched:,}):"), id="bulk-prompt")
            yield Input(
                placeholder=f"1 to {r.matched:,}",
                id="bulk-oldest",
                restrict=r"[0-9]*",
                max_length=9,
            )
            with Horizontal(id="dialog-buttons"):
                yield Button("", id="yes", variant="error")
                yield Button("Cancel (esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#bulk-oldest", Input).focus()
        self._typed("")

    def _typed(self, value: str) -> None:
        n = parse_oldest(value, self.dry_run.matched)
        button = self.query_one("#yes", Button)
        button.disabled = not n
        button.label = f"{VERB[self.action]} {n:,} (enter)" if n else "Nothing to do"

    @on(Input.Changed, "#bulk-oldest")
    def _changed(self, event: Input.Changed) -> None:
        self._typed(event.value)

    @on(Input.Submitted, "#bulk-oldest")
    def _submitted(self, event: Input.Submitted) -> None:
        n = parse_oldest(event.value, self.dry_run.matched)
        if n:
            self.answer(n)
        else:
            self.app.notify(f"N: a number from 1 to {self.dry_run.matched:,}.", severity="warning")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        n = parse_oldest(self.query_one("#bulk-oldest", Input).value, self.dry_run.matched)
        self.answer(n if event.button.id == "yes" and n else None)

    def action_cancel(self) -> None:
        self.answer(None)


def start(app: Any, action: str, selection: Selection) -> None:
    """Run a bulk action as the app's action worker (one at a time; it says how it ended
    even when the tab was left meanwhile)."""
    app.run_worker(run(app, action, selection), group="action", exclusive=True, exit_on_error=False)


async def run(app: Any, action: str, selection: Selection) -> None:
    """The dry run, the dialog, the real request, the toast, and a poll of what it touched.
    The keys that start it are off while read-only (see actions.Gated)."""
    title = f"{VERB[action]} all"
    ask = selection.request

    async def dry_run(c: Client) -> BulkResult:
        return await c.bulk(replace(ask, dry_run=True))

    try:
        found = await app.request(dry_run)
    except Exception as exc:
        app._failed(title, exc)
        return
    if not found.matched:
        app.notify("No job matches: nothing to do.", title=title, timeout=6)
        return
    dialog = BulkScreen(action, selection, found, app.state.clock(), app.target.name)
    n = await app.push_screen_wait(dialog)
    if not n:
        return

    async def real(c: Client) -> BulkResult:
        return await c.bulk(replace(ask, limit=n))  # never more than was confirmed

    try:
        done = await app.request(real)
    except Exception as exc:
        app._failed(title, exc)
        return
    app.notify(outcome(action, done), title=title, timeout=10)
    app.poller.kick("jobs", "health", "errors")
