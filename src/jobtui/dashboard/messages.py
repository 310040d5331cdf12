"""What the views tell the app: a job chosen, a category or timespan picked, a search changed.

Apart from the views because the app handles these (``@on``) from the start, while a view's
module is imported only when its tab or screen is first shown (a faster first frame).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from textual.message import Message

if TYPE_CHECKING:
    from jobtui.contract import ErrorCategory, Job
    from jobtui.dashboard.feeds import JobsQuery

JobAction = Literal["open", "retry", "cancel"]


class JobChosen(Message):
    """Open a job's detail, or retry or cancel it (from a list, or from the detail itself)."""

    def __init__(self, job: Job, what: JobAction = "open") -> None:
        super().__init__()
        self.job = job
        self.what: JobAction = what


class QueryChanged(Message):
    """The Jobs tab's status filter or search changed."""

    def __init__(self, query: JobsQuery) -> None:
        super().__init__()
        self.query = query


class CategoryHighlighted(Message):
    """An error category was highlighted on the Errors tab: its jobs are to be read."""

    def __init__(self, category: ErrorCategory) -> None:
        super().__init__()
        self.category = category


class TimespanChanged(Message):
    """The Performance tab's timespan changed (hours)."""

    def __init__(self, hours: int) -> None:
        super().__init__()
        self.hours = hours
