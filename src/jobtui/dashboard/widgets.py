"""Small widgets shared by the views: text that only repaints when it changes, metric cards."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static


class Text1(Static):
    """A Static that ignores updates to what it already shows (no repaint, no layout)."""

    def __init__(self, content: str | Text = "", **kwargs: object) -> None:
        super().__init__(content, **kwargs)  # type: ignore[arg-type]
        self._shown: str | Text | None = content

    def set(self, content: str | Text) -> None:
        if content == self._shown:
            return
        self._shown = content
        self.update(content)

    def flag(self, name: str, on: bool) -> None:
        """Add or remove one CSS class."""
        self.set_class(on, name)


class Card(Vertical):
    """A titled figure with a line under it and, optionally, a sparkline of recent values."""

    def __init__(self, title: str, *, spark: bool = True, id: str | None = None) -> None:
        super().__init__(id=id, classes="card")
        self.border_title = title
        self._spark = spark

    def compose(self) -> ComposeResult:
        yield Text1("—", classes="card-text")
        if self._spark:
            yield Sparkline([], classes="card-spark")

    def show(self, value: str, sub: str = "", data: Sequence[float] | None = None) -> None:
        text = Text(value, style="bold")
        text.append("\n")
        text.append(sub, style="dim")
        self.query_one(".card-text", Text1).set(text)
        if self._spark and data is not None:
            spark = self.query_one(Sparkline)
            values = list(data)
            if values != list(spark.data or []):
                spark.data = values
