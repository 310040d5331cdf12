"""What the dashboard knows: the last good answer of each feed, its age, and the last error.

A feed that fails keeps its last good value; the views show it marked stale with its age,
next to the one-line error. A 404 on an optional endpoint marks the feed ``not_provided``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from jobtui.contract import Health, utcnow
from jobtui.errors import NotProvided

T = TypeVar("T")
Clock = Callable[[], datetime]
FeedName = Literal["health", "metrics", "jobs", "errors", "host", "admin"]

TREND_POINTS = 60  # values kept per Overview sparkline


@dataclass(frozen=True, slots=True)
class Update:
    """One poll's outcome, sent by the poller to the app."""

    feed: FeedName
    value: Any = None
    error: str | None = None  # one line
    kind: type[BaseException] | None = None  # the error's type (see jobtui.errors)
    seconds: float | None = None  # how long the request took
    retry_in: float | None = None  # seconds until the next try, after an error
    epoch: int = 0  # the poller's target serial it was asked under (dropped after a switch)


@dataclass
class Feed(Generic[T]):
    """The last good answer of one endpoint and what went wrong since."""

    value: T | None = None
    updated: datetime | None = None  # when the last good value arrived
    error: str | None = None  # the last failure, one line; None once it works again
    kind: type[BaseException] | None = None  # the last failure's type
    failed: datetime | None = None
    retry_in: float | None = None
    failures: int = 0
    not_provided: bool = False

    def ok(self, value: T, now: datetime) -> None:
        self.value, self.updated = value, now
        self.error, self.kind, self.failed, self.retry_in = None, None, None, None
        self.failures = 0
        self.not_provided = False

    def fail(
        self, message: str, kind: type[BaseException] | None, now: datetime, retry_in: float | None
    ) -> None:
        self.error, self.kind = one_line(message), kind
        self.failed, self.retry_in = now, retry_in
        self.failures += 1
        self.not_provided = failed_as(kind, NotProvided)

    @property
    def stale(self) -> bool:
        """There is data, but the last poll failed."""
        return self.value is not None and self.error is not None

    def age(self, now: datetime) -> float | None:
        return None if self.updated is None else max(0.0, (now - self.updated).total_seconds())


@dataclass(frozen=True, slots=True)
class Trends:
    """Recent values of the Overview cards, oldest first."""

    queue_depth: tuple[float, ...] = ()
    error_rate: tuple[float, ...] = ()
    processing_time: tuple[float, ...] = ()
    jobs_per_hour: tuple[float, ...] = ()


class TrendBuffer:
    """Recent health values for the sparklines, seeded once from the server's history."""

    def __init__(self, size: int = TREND_POINTS):
        self._rows: deque[tuple[float, float, float, float]] = deque(maxlen=size)
        self._seeded = False

    def add(self, h: Health) -> None:
        m = h.metrics
        self._rows.append((m.queue_depth, m.error_rate, m.average_processing_time, m.jobs_per_hour))

    def seed(self, rows: Iterable[tuple[float, float, float, float]]) -> None:
        """Put the server's recent samples before the live values, the first time only."""
        if self._seeded:
            return
        self._seeded = True
        live = list(self._rows)
        self._rows.clear()
        self._rows.extend([*rows, *live])

    def clear(self) -> None:
        self._rows.clear()
        self._seeded = False

    def snapshot(self) -> Trends:
        cols = list(zip(*self._rows, strict=True)) if self._rows else [(), (), (), ()]
        return Trends(*(tuple(c) for c in cols))


@dataclass
class State:
    """Everything the views show; changed only by :meth:`apply` in the UI thread."""

    clock: Clock = utcnow
    health: Feed[Health] = field(default_factory=Feed)
    response: float | None = None  # seconds the last good health poll took
    metrics: Feed[Any] = field(default_factory=Feed)
    jobs: Feed[Any] = field(default_factory=Feed)
    errors: Feed[Any] = field(default_factory=Feed)
    host: Feed[Any] = field(default_factory=Feed)
    admin: Feed[bool] = field(default_factory=Feed)
    trends: TrendBuffer = field(default_factory=TrendBuffer)

    def feed(self, name: str) -> Feed[Any]:
        feed = getattr(self, name, None)
        if not isinstance(feed, Feed):
            raise KeyError(name)
        return feed

    def apply(self, update: Update) -> None:
        now = self.clock()
        feed = self.feed(update.feed)
        if update.error is not None:
            feed.fail(update.error, update.kind, now, update.retry_in)
            return
        value = update.value
        if update.feed == "health":
            self.response = update.seconds
            self.trends.add(value)
        if update.feed == "metrics":
            self.trends.seed(
                (m.queue_depth, m.error_rate, m.average_processing_time, m.jobs_per_hour)
                for m in value.metrics[-TREND_POINTS // 2 :]
            )
        feed.ok(value, now)

    def reset(self) -> None:
        """Forget everything (another target)."""
        for name in ("health", "metrics", "jobs", "errors", "admin"):
            setattr(self, name, Feed())
        self.response = None
        self.trends.clear()


def failed_as(kind: type[BaseException] | None, *of: type[BaseException]) -> bool:
    """Whether a failure of type ``kind`` is one of ``of`` (False when nothing failed)."""
    return kind is not None and issubclass(kind, of)


def one_line(text: str, limit: int = 300) -> str:
    """Any message as one line a status bar can show."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
