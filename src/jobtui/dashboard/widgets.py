"""Small widgets shared by the views: text that only repaints when it changes, and metric cards.
The lists (tables, choices, logs) are in :mod:`.lists`, loaded with the first view that has one."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import accumulate

from rich.cells import cell_len
from rich.text import Span, Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Static

from jobtui.literal import escapes, printable


def literal(text: str | Text | None, style: str = "", *, lines: bool = False) -> Text:
    """Text from a server, a job, a log or a config, as Rich text shown exactly as it is:
    never parsed as markup, control characters escaped (see :mod:`jobtui.literal`). A Rich
    ``Text`` keeps its styles, each escape styled as the character it stands for."""
    if not isinstance(text, Text):
        return Text(printable(text or "", lines=lines), style=style)
    plain = text.plain
    found = list(escapes(plain, lines=lines))
    if not found:
        return text
    at = [offset for offset, _ in found]
    grown = [0, *accumulate(len(escape) - 1 for _, escape in found)]

    def moved(offset: int) -> int:  # past the escapes before it, each longer than its char
        return offset + grown[bisect_left(at, offset)]

    pieces: list[str] = []
    last = 0
    for offset, escape in found:
        pieces += (plain[last:offset], escape)
        last = offset + 1
    pieces.append(plain[last:])
    out = text.blank_copy("".join(pieces))
    out.spans = [Span(moved(s.start), moved(s.end), s.style) for s in text.spans]
    return out


class Text1(Static):
    """A Static that ignores updates to what it already shows (no repaint, no layout). What
    it is given is shown as :func:`literal` text: a ``str`` is never parsed as markup, and a
    control character that reached a ``Text`` is escaped."""

    DEFAULT_CSS = "Text1 { width: 1fr; }"

    def __init__(
        self, content: str | Text = "", *, id: str | None = None, classes: str | None = None
    ) -> None:
        content = literal(content, lines=True)
        super().__init__(content, id=id, classes=classes)
        self._shown: str | Text | None = content

    def set(self, content: str | Text) -> None:
        content = literal(content, lines=True)
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
SPARK_SECONDS = 10.0  # a card's sparkline under an unchanged figure: redrawn at most this often


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


Fitted = str | Sequence[str]
"""A line, or its wordings longest first: the first that fits the width is shown."""


def fitted(wordings: Fitted, width: int) -> str:
    """The first of ``wordings`` that fits ``width`` cells, else the shortest (which the widget
    cuts with "…"): a narrow terminal gets "5 free slots", never "5 free worker …"."""
    if isinstance(wordings, str):
        return wordings
    options = list(wordings) or [""]
    return next((w for w in options if cell_len(w) <= width), options[-1])


class Card(Static):
    """A titled figure with a line under it and, optionally, a two-line sparkline of recent
    values: one widget (drawn here), so a new value repaints one thing, not three. The title
    and the line may each come in several wordings (:data:`Fitted`), fitted to the width."""

    def __init__(self, title: Fitted, *, spark: bool = True, id: str | None = None) -> None:
        super().__init__(id=id, classes="card")
        self._title = title
        self.border_title = fitted(title, 1000)
        self._spark = spark
        self._data: tuple[str, Fitted, tuple[float, ...]] = ("—", "", ())
        self._drawn: tuple[str, str, tuple[str, ...]] | None = None  # what render() drew
        self._drawn_at = 0.0  # when, on :attr:`clock`
        self.clock: Callable[[], float] = time.monotonic

    def render_lines(self, crop: Region) -> list[Strip]:
        # fitted to the width drawn now: the Resize event can come after the first frame
        title = fitted(self._title, self.size.width - 4)  # corners and padding
        if title != self.border_title:
            self.border_title = title
        return super().render_lines(crop)

    def show(self, value: str, sub: Fitted = "", data: Sequence[float] | None = None) -> None:
        """Repaints only when what is drawn changes: a new figure or line at once; a
        sparkline that moved under the same figure (a steady value filling the buffer
        lengthens its line by a column per poll) at most every :data:`SPARK_SECONDS`."""
        self._data = (value, sub if isinstance(sub, str) else tuple(sub), tuple(data or ()))
        lines, drawn = self._lines(), self._drawn
        if lines == drawn:
            return
        if drawn is not None and lines[:2] == drawn[:2]:
            since = self.clock() - self._drawn_at
            if 0 <= since < SPARK_SECONDS:
                return  # drawn with a later poll's show (or any repaint before it)
        self.refresh()  # same size: no layout

    def reword(self, sub: Fitted) -> None:
        """A new line under the same figure and sparkline (an age that moved)."""
        self.show(self._data[0], sub, self._data[2])

    def _lines(self) -> tuple[str, str, tuple[str, ...]]:
        """The figure, its line and the sparkline's rows at the card's size now."""
        value, sub, data = self._data
        width = self.content_size.width
        rows = min(2, self.content_size.height - 2) if self._spark else 0
        spark = spark_rows(data, width, rows) if rows > 0 else []
        return value, fitted(sub, width), tuple(spark)

    def render(self) -> Text:
        self._drawn = drawn = self._lines()
        self._drawn_at = self.clock()
        value, sub, spark = drawn
        text = Text(value, style="bold", no_wrap=True, overflow="ellipsis")
        text.append("\n")
        text.append(sub, style="dim")
        for row in spark:  # two rows, or the one left in a short card
            text.append("\n")
            text.append(row, style="cyan")
        return text
