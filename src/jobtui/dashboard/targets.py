"""Choose another target (environment) from the config."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from jobtui.config import Target
from jobtui.dashboard.lists import Choices
from jobtui.dashboard.widgets import literal


class TargetScreen(ModalScreen[Target | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "Cancel")]

    def __init__(self, targets: Sequence[Target], current: Target):
        super().__init__(classes="dialog")
        self._targets = list(targets)
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="targets") as box:
            box.border_title = "Switch target"
            box.border_subtitle = "Enter to switch · esc to cancel"
            options = []
            for i, t in enumerate(self._targets):
                label = Text()
                label.append(literal(f"{t.name:<16}", "bold"))
                label.append(literal(t.url, "dim"))
                if t.name == self._current.name and t.url == self._current.url:
                    label.append("  (current)", style="green")
                options.append(Option(label, id=str(i)))
            yield Choices(*options, id="target-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._targets[int(event.option.id or 0)])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
