"""Table columns sized to the room they have: a table's columns are defined once, as
:class:`Column` rows, and :func:`fit` gives each its width at the table's width (a column
that wants more gets its least, one that can go is left out first, one takes the rest).

A DataTable's automatic widths are measured on idle, cost about a second per 10,000 rows and
raced refills (STACK-NOTES), so widths are computed here, from the width alone: again only
when the table's width changes, never on a poll.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from textual.widgets import DataTable

PAD = 2  # a DataTable's cell padding: one cell on each side


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    key: str
    width: int  # the cells it wants
    least: int | None = None  # the fewest it is shown with (default: ``width``)
    rest: bool = False  # takes the room the others leave (one a table)
    optional: bool = False  # left out, last first, when even the least do not fit

    @property
    def smallest(self) -> int:
        return self.width if self.least is None else self.least


def fit(columns: Sequence[Column], room: int) -> dict[str, int]:
    """The width of each column shown in ``room`` cells, by key, in the columns' order; a
    column left out has no entry. Columns first get their least, then grow to their
    width in order; the ``rest`` column takes what is left after that."""
    shown = list(columns)

    def need(cols: Sequence[Column]) -> int:
        return sum(c.smallest + PAD for c in cols)

    while need(shown) > room and any(c.optional for c in shown):
        shown.remove(next(c for c in reversed(shown) if c.optional))
    widths = {c.key: c.smallest for c in shown}
    spare = room - need(shown)
    for c in shown:
        if spare > 0:
            grow = min(spare, c.width - widths[c.key])
            widths[c.key] += grow
            spare -= grow
    for c in shown:
        if c.rest:
            widths[c.key] += max(0, spare)
    return widths


def set_columns(
    table: DataTable[Any], columns: Sequence[Column], widths: Mapping[str, int]
) -> None:
    """Put the columns shown at ``widths`` in ``table``, emptied (every column before any
    row: adding a column after rows made later rows quadratic)."""
    table.clear(columns=True)
    for c in columns:
        if c.key in widths:
            table.add_column(c.label, key=c.key, width=widths[c.key])


def row(cells: Mapping[str, Any], widths: Mapping[str, int]) -> list[Any]:
    """The cells of the columns shown, in their order."""
    return [cells[key] for key in widths]
