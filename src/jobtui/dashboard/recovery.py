"""The seed's System Recovery: its question, and the view of its steps while it runs and after.

The server does the work in one request (``POST /api/admin/recovery``); jobtui's agent answers
with each step's result (pause, backup, stuck jobs, resume), the seed's app with success or an
error only. Everything the server says is shown as :func:`literal` text; a failed step reads
FAILED, and the headline says how many failed, never "done" over a failure.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from jobtui.contract import RecoveryResult
from jobtui.dashboard.confirm import Dialog
from jobtui.dashboard.widgets import literal
from jobtui.errors import TimedOut, describe

TITLE = "System recovery"
STEPS = "pause processing, back up the jobs table, reset stuck jobs, resume processing"


def recovery_question(target: str, stuck: int | None) -> Text:
    """What the confirmation says the recovery will do, step by step."""
    count = "the" if stuck is None else f"the {stuck}"
    body = Text()
    body.append("Run the system recovery on ")
    body.append(literal(target))
    body.append("?\n\n")
    body.append("1. Pause processing: workers take no new job\n")
    body.append("2. Back up the jobs table: a new backup on the server\n")
    body.append(f"3. Reset {count} stuck job(s) to pending (out of attempts: failed)\n")
    body.append("4. Resume processing\n\n")
    body.append(
        "Each step's result is shown; a failed step does not stop the others, and "
        "processing resumes whatever happens.\nR resets stuck jobs only, with no backup.",
        style="dim",
    )
    return body


def failed(result: RecoveryResult) -> list[str]:
    """The steps that failed (``["recovery"]`` when it failed without naming its steps)."""
    names = [s.step for s in result.steps if not s.ok]
    return names or ([] if result.success else ["recovery"])


def headline(result: RecoveryResult) -> tuple[str, str]:
    """One line for the outcome, and its style."""
    bad = failed(result)
    if not result.steps:
        if bad:
            return "FAILED: the server reports that the recovery failed.", "bold red"
        return "Done: the server reports success (it does not list its steps).", "bold green"
    if bad:
        n = len(result.steps)
        return f"FAILED: {len(bad)} of {n} steps failed ({', '.join(bad)}).", "bold red"
    return f"Done: all {len(result.steps)} steps succeeded.", "bold green"


def result_text(result: RecoveryResult) -> Text:
    """Each step as the server reports it; without steps, what its answer says."""
    text = Text()
    line, style = headline(result)
    text.append(line + "\n\n", style=style)
    for s in result.steps:
        text.append("ok     " if s.ok else "FAILED ", style="green" if s.ok else "bold red")
        text.append(literal(s.step))
        if s.detail:
            text.append(": ")
            text.append(literal(s.detail, lines=False))
        text.append("\n")
    if not result.steps:
        if result.backup is not None:
            text.append("backup: ")
            text.append(literal(result.backup))
            text.append("\n")
        if result.recovered is not None:
            text.append(f"stuck jobs reset: {result.recovered}\n")
        if result.message:
            text.append(literal(result.message))
            text.append("\n")
    return text


def error_text(exc: BaseException) -> Text:
    """The recovery's request failed: the client's one line, and what that leaves unknown."""
    text = Text("FAILED: ", style="bold red")
    text.append(literal(describe(exc)))
    if isinstance(exc, TimedOut):
        text.append(
            "\n\nThe server may still be running it: look at its health and its backups "
            "(B) before running it again.",
            style="dim",
        )
    return text


def summary(result: RecoveryResult | BaseException) -> tuple[str, bool]:
    """One line for a toast (when the view was closed before the answer), and whether it
    succeeded."""
    if isinstance(result, BaseException):
        return f"System recovery failed: {describe(result)}", False
    line, _ = headline(result)
    return f"System recovery: {line}", not failed(result)


class RecoveryScreen(Dialog[None]):
    """The recovery's progress, then each step's result. It can be closed while it runs: the
    outcome then arrives as a toast (see :meth:`ServerActions._recover`)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "close", "Close")]

    def __init__(self, target: str):
        super().__init__(classes="dialog")
        self._target = target
        self._started = time.monotonic()
        self.done = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-wide") as box:
            box.border_title = literal(f"{TITLE} on {self._target}")
            yield Static(self._progress(), id="recovery-steps")
            with Horizontal(id="dialog-buttons"):
                yield Button("Close (esc)", id="close")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#close", Button).focus()

    def _progress(self) -> Text:
        seconds = int(time.monotonic() - self._started)
        text = Text(f"Running… {seconds} s\n\n", style="bold")
        text.append(STEPS[0].upper() + STEPS[1:] + ": the server reports each step at the end.")
        return text

    def tick(self, now: datetime) -> None:
        """Every second, from the app: how long it has been running."""
        if not self.done:
            self.query_one("#recovery-steps", Static).update(self._progress())

    def show(self, result: RecoveryResult | BaseException) -> None:
        self.done = True
        text = error_text(result) if isinstance(result, BaseException) else result_text(result)
        self.query_one("#recovery-steps", Static).update(text)

    def action_close(self) -> None:
        self.answer(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.answer(None)
