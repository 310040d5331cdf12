"""What the dashboard polls: each feed's question and how often it is asked.

No Textual here: ``jobtui`` builds and starts the poller first, so the first answer is on its
way while the UI is still being imported.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobtui.config import DashboardConfig, Target
from jobtui.contract import JobsPage
from jobtui.dashboard.poller import ClientFactory, Fetch, Poller

if TYPE_CHECKING:
    from jobtui.client import Client

ERRORS_HOURS = 24
DEFAULT_HOURS = 24  # the Performance tab's first timespan (the seed's default)
OVERVIEW_METRICS = 30.0  # seconds at least: the capacity panel's 30-minute trends, not charts
HOST_SECONDS = 10.0  # seconds at least between two readings of this host (see HostFeed)


@dataclass(frozen=True, slots=True)
class JobsQuery:
    status: str | None = None
    q: str | None = None
    cursor: str | None = None
    page: int = 1  # 1-based, for people


@dataclass(frozen=True, slots=True)
class JobsResult:
    query: JobsQuery
    page: JobsPage


def metrics_fetch(hours: int) -> Fetch:
    return lambda c: c.metrics_history(hours)


def jobs_fetch(query: JobsQuery, limit: int) -> Fetch:
    """One page (``limit`` jobs) of the query: keyset pagination, never everything."""

    async def fetch(c: Client) -> JobsResult:
        page = await c.jobs(status=query.status, q=query.q, limit=limit, cursor=query.cursor)
        return JobsResult(query, page)

    return fetch


async def admin_check(c: Client) -> bool:
    await c.admin_check()
    return True


class HostFeed:
    """The local host's figures, sampled in the poller's thread (psutil is imported there),
    at most every ``every`` seconds: asked more often, it answers the last reading again
    (the same object, so nothing that shows it is redrawn). The CPU figure is the mean
    since the reading before, so a reading every 10 s is as true as one every poll, and
    steadier; memory and the load averages hardly move in that time. A reading without a
    CPU figure yet (the first) is taken again at the next poll."""

    def __init__(
        self,
        sampler: Callable[[], Any] | None = None,
        every: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._sampler = sampler
        self._every = every
        self._clock = clock
        self._last: Any = None
        self._at = 0.0

    async def __call__(self, client: Client) -> Any:
        if self._sampler is None:
            from jobtui.host import HostSampler

            self._sampler = HostSampler()
        now = self._clock()
        last = self._last
        measured = last is not None and getattr(last, "cpu_percent", None) is not None
        if measured and 0 <= now - self._at < self._every:
            return last
        self._last, self._at = self._sampler(), now
        return self._last


def make_poller(
    target: Target,
    settings: DashboardConfig,
    *,
    timeout: float = 10.0,
    host_sampler: Callable[[], Any] | None = None,
    client_factory: ClientFactory | None = None,
    read_only: bool = False,
) -> Poller:
    """The dashboard's feeds. Health every health interval, the host with it but read at
    most every :data:`HOST_SECONDS`; metrics every
    metrics interval while the Performance tab is shown, at most every
    :data:`OVERVIEW_METRICS` on the Overview (where the dashboard starts); jobs and errors
    only while their tab is shown; the admin check once."""
    p = Poller(target, timeout=timeout, client_factory=client_factory, read_only=read_only)
    p.add("health", lambda c: c.health(), settings.health_interval)
    # an injected sampler (a test's, or a reader that keeps its own pace) is asked each poll
    every = HOST_SECONDS if host_sampler is None else 0.0
    p.add("host", HostFeed(host_sampler, every), settings.health_interval)
    p.add("metrics", metrics_fetch(DEFAULT_HOURS), overview_metrics(settings))
    p.add("admin", admin_check, None)
    p.add(
        "jobs",
        jobs_fetch(JobsQuery(), settings.jobs_page_size),
        settings.health_interval,
        active=False,
    )
    p.add("errors", errors_fetch(ERRORS_HOURS), settings.metrics_interval, active=False)
    return p


def overview_metrics(settings: DashboardConfig) -> float:
    """How often the Overview asks for the metrics history."""
    return max(settings.metrics_interval, OVERVIEW_METRICS)


def errors_fetch(hours: int) -> Callable[[Client], Awaitable[Any]]:
    return lambda c: c.errors(hours)
