"""Dialogs: a yes/no question before anything that changes the server, and the base of
every dialog that must answer only once (and of those that read-only closes)."""

from __future__ import annotations

from typing import ClassVar, TypeVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from jobtui.dashboard.actions import read_only_refusal
from jobtui.dashboard.widgets import literal

T = TypeVar("T")


class Dialog(ModalScreen[T]):
    """A dialog that answers once. A second Enter or click can arrive after the first closed
    it; dismissing again would close the screen under it.

    One that confirms a change of the server (``CHANGES``, answered by ``REFUSED`` when it
    cannot be done) follows the app's read-only: it closes, and says why, when that begins."""

    CHANGES: ClassVar[bool] = False
    REFUSED: ClassVar[object] = None

    def on_mount(self) -> None:
        if self.CHANGES and hasattr(self.app, "read_only"):
            self.watch(self.app, "read_only", self._read_only)

    def _read_only(self, reason: str | None) -> None:
        if reason and self.is_active:
            explain = getattr(self.app, "explain", self.app.notify)
            explain(read_only_refusal(reason))
            self.dismiss(cast(T, self.REFUSED))

    def answer(self, result: T) -> None:
        if self.is_active:
            self.dismiss(result)


class ConfirmScreen(Dialog[bool]):
    """Answers True for y / the yes button, False for n, Esc or the no button. The title and
    the body are shown as :func:`literal` text (they may name a job or a backup)."""

    CHANGES = True
    REFUSED = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, body: str | Text, yes: str = "Yes", *, danger: bool = True):
        super().__init__(classes="dialog")
        self._title = title
        self._body = body
        self._yes = yes
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as box:
            box.border_title = literal(self._title)
            yield Static(literal(self._body, lines=True), id="dialog-body")
            with Horizontal(id="dialog-buttons"):
                yield Button(
                    f"{self._yes} (y)", id="yes", variant="error" if self._danger else "primary"
                )
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.answer(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.answer(event.button.id == "yes")
