"""The help screen: every key of the registry, by where it works (the app, each tab, each
screen), as the user's keymap makes it, with its id for the keymap; marked when it changes
the server. Its text scrolls at once with the arrows, PgUp/PgDn, Home/End and the list keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Static

from jobtui.dashboard.keys import KEYS, SCOPES
from jobtui.dashboard.lists import ScrollBox
from jobtui.dashboard.widgets import literal


def keys_table(read_only: str | None, keymap: Mapping[str, str] | None = None) -> Table:
    keymap = keymap or {}
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold")
    table.add_column()
    for scope, title in SCOPES.items():
        rows = [k for k in KEYS if k.scope == scope]
        if not rows:
            continue
        table.add_row("", Text(title, style="bold underline"))  # one block a scope, no gaps
        for k in rows:
            text = Text(k.help)
            if k.changes:
                text.append("  changes the server", style="yellow")
                if read_only:
                    text.append(" · disabled (read-only)", style="dim")
            text.append(f"  {k.id}", style="dim italic")
            table.add_row(literal(k.shown_with(keymap)), text)
    table.add_row("ctrl+p", "Command palette: every action above, by name")
    table.add_row("", Text("Ids (dim) name a key in the config: dashboard.keymap", style="dim"))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, read_only: str | None, keymap: Mapping[str, str] | None = None):
        super().__init__(classes="dialog")
        self._read_only = read_only
        self._keymap = keymap or {}

    def compose(self) -> ComposeResult:
        with ScrollBox(id="help") as box:
            box.border_title = "Keys"
            box.border_subtitle = "↑↓ j k PgUp PgDn g G to scroll · esc to close"
            if self._read_only:
                yield Static(literal(f"Read-only: {self._read_only}", "yellow"), id="help-ro")
            yield Static(keys_table(self._read_only, self._keymap), id="help-keys")

    def on_mount(self) -> None:
        self.query_one("#help", ScrollBox).focus()  # the keys scroll it without a Tab first
