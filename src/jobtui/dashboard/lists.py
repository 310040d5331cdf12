"""The lists that take the registry's list keys (j/k a line, g/G either end): tables, choices,
a log and a scrolling box; and :func:`retime`, the clock's cells of a table.

Apart from :mod:`.widgets` because Textual's DataTable brings Rich's pretty printer (and attrs)
with it: the Overview, the first tab shown, has no list, so its frame comes without them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, OptionList, RichLog

from jobtui.dashboard import keys

R = TypeVar("R")


class Table(DataTable[str | Text]):
    """A table of rows with the list keys: j/k a row, g/G the first and last."""

    BINDINGS: ClassVar[list[BindingType]] = list(keys.bindings("lists"))

    def action_first(self) -> None:
        self.action_scroll_top()

    def action_last(self) -> None:
        self.action_scroll_bottom()


class Choices(OptionList):
    """A list of options with the list keys (OptionList's own actions carry their names)."""

    BINDINGS: ClassVar[list[BindingType]] = list(keys.bindings("lists"))


class Scrolling:
    """The list keys' actions where there is no cursor: the view scrolls a line, or to either
    end, as the arrows and Home/End do. A mixin before a scrolling widget (Textual merges the
    BINDINGS of widgets only, so each class below names them)."""

    def action_scroll_up(self: Any) -> None:
        # a write that scrolled to the end can leave the target past it (the view grew
        # after, e.g. a note above it went): the first key up would only move the target
        self.scroll_target_y = min(self.scroll_target_y, self.max_scroll_y)
        super().action_scroll_up()  # type: ignore[misc]  # a mixin: the widget after it has it

    def action_cursor_down(self: Any) -> None:
        self.action_scroll_down()

    def action_cursor_up(self: Any) -> None:
        self.action_scroll_up()

    def action_first(self: Any) -> None:
        self.action_scroll_home()

    def action_last(self: Any) -> None:
        self.action_scroll_end()


class LogLines(Scrolling, RichLog):
    """A log of lines with the list keys."""

    BINDINGS: ClassVar[list[BindingType]] = list(keys.bindings("lists"))


class ScrollBox(Scrolling, VerticalScroll):
    """A scrolling box (the help's text, a job's detail) with the list keys."""

    BINDINGS: ClassVar[list[BindingType]] = list(keys.bindings("lists"))


def retime(
    table: DataTable[Any],
    rows: Mapping[str, R],
    cells: Mapping[str, Callable[[R, datetime], str]],
    now: datetime,
) -> None:
    """The cells of ``table`` that change with the clock (ages, running durations): for each
    row key and column key, ``cells[column](row, now)``, written only where it differs from
    the text shown (a table whose texts did not change is not repainted). A column the
    table's width leaves out is skipped."""
    shown = {column: text_of for column, text_of in cells.items() if column in table.columns}
    for key, row in rows.items():
        if key not in table.rows:
            continue
        for column, text_of in shown.items():
            text = text_of(row, now)
            if table.get_cell(key, column) != text:
                table.update_cell(key, column, text)
