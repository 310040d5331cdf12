"""Small widgets shared by the views: text that only repaints when it changes, metric cards."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from jobtui.literal import printable


def literal(text: str | None, style: str = "", *, lines: bool = False) -> Text:
    """Text from a server, a job, a log or a config, as Rich text shown exactly as it is:
    never parsed as markup, control characters escaped (see :mod:`jobtui.literal`)."""
    return Text(printable(text or "", lines=lines), style=style)


class Text1(Static):
    """A Static that ignores updates to what it already shows (no repaint, no layout)."""

    DEFAULT_CSS = "Text1 { width: 1fr; }"

    def __init__(self, content: str | Text = "", **kwargs: object) -> None:
        super().__init__(content, **kwargs)  # type: ignore[arg-type]
        self._shown: str | Text | None = content

    def set(self, content: str | Text) -> None:
        if content == self._shown:
            return
        old, self._shown = self._shown, content
        self.update(content, layout=self._reflows(old, content))

    def _reflows(self, old: str | Text | None, new: str | Text) -> bool:
        """Whether the new text may change this widget's size (a layout pass of the whole
        screen); if not, a repaint of the widget is enough, which is much cheaper."""
        if old is None or not self.is_mounted:
            return True
        height = self.styles.height
        fixed = height is not None and height.is_cells and self.styles.max_height is None
        if fixed and not (self.styles.width is None or self.styles.width.is_auto):
            return False  # a fixed box: the text is clipped or wrapped inside it
        old_lines = str(old).split("\n")
        new_lines = str(new).split("\n")
        if len(old_lines) != len(new_lines):
            return True
        if self.styles.width is None or self.styles.width.is_auto:
            return max(map(len, old_lines)) != max(map(len, new_lines))
        room = self.content_size.width
        return room <= 0 or max(map(len, old_lines + new_lines)) >= room  # may wrap

    def flag(self, name: str, on: bool) -> None:
        """Add or remove one CSS class."""
        self.set_class(on, name)


BLOCKS = " ▁▂▃▄▅▆▇█"


def spark_rows(values: Sequence[float], width: int, rows: int = 2) -> list[str]:
    """A sparkline of ``values`` (oldest first) in ``rows`` lines of ``width`` block
    characters, top row first: one column per value, the most recent on the right (values
    beyond the width are merged by their maximum)."""
    if width <= 0 or not values:
        return [" " * max(0, width) for _ in range(rows)]
    cols = list(values)
    if len(cols) > width:  # merge runs so the newest value keeps its own column
        n = len(cols)
        cols = [max(cols[i * n // width : (i + 1) * n // width] or [0.0]) for i in range(width)]
    lo, hi = min(cols), max(cols)
    levels = rows * 8
    out = [[" "] * len(cols) for _ in range(rows)]
    for x, v in enumerate(cols):
        h = 1 + round((v - lo) / (hi - lo) * (levels - 1)) if hi > lo else 1
        for r in range(rows):  # r = 0 is the bottom row
            fill = min(8, max(0, h - r * 8))
            out[rows - 1 - r][x] = BLOCKS[fill]
    return ["".join(row).rjust(width) for row in out]


class Card(Static):
    """A titled figure with a line under it and, optionally, a two-line sparkline of recent
    values: one widget (drawn here), so a new value repaints one thing, not three."""

    def __init__(self, title: str, *, spark: bool = True, id: str | None = None) -> None:
        super().__init__(id=id, classes="card")
        self.border_title = title
        self._spark = spark
        self._data: tuple[str, str, tuple[float, ...]] = ("—", "", ())

    def show(self, value: str, sub: str = "", data: Sequence[float] | None = None) -> None:
        new = (value, sub, tuple(data or ()))
        if new != self._data:
            self._data = new
            self.refresh()  # same size: no layout

    def render(self) -> Text:
        value, sub, data = self._data
        text = Text(value, style="bold", no_wrap=True, overflow="ellipsis")
        text.append("\n")
        text.append(sub, style="dim")
        if self._spark:  # two rows, or the one left in a short card
            rows = min(2, self.content_size.height - 2)
            for row in spark_rows(data, self.content_size.width, rows) if rows > 0 else ():
                text.append("\n")
                text.append(row, style="cyan")
        return text
