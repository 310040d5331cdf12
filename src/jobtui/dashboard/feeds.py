"""What the dashboard polls: each feed's question and how often it is asked.

No Textual here: ``jobtui`` builds and starts the poller first, so the first answer is on its
way while the UI is still being imported.
"""

from __future__ import annotations

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
    """The local host's figures, sampled in the poller's thread (psutil is imported there)."""

    def __init__(self, sampler: Callable[[], Any] | None = None):
        self._sampler = sampler

    async def __call__(self, client: Client) -> Any:
        if self._sampler is None:
            from jobtui.host import HostSampler

            self._sampler = HostSampler()
        return self._sampler()


def make_poller(
    target: Target,
    settings: DashboardConfig,
    *,
    timeout: float = 10.0,
    host_sampler: Callable[[], Any] | None = None,
    client_factory: ClientFactory | None = None,
) -> Poller:
    """The dashboard's feeds. Health and the host every health interval; metrics every
    metrics interval while the Performance tab is shown, at most every
    :data:`OVERVIEW_METRICS` on the Overview (where the dashboard starts); jobs and errors
    only while their tab is shown; the admin check once."""
    p = Poller(target, timeout=timeout, client_factory=client_factory)
    p.add("health", lambda c: c.health(), settings.health_interval)
    p.add("host", HostFeed(host_sampler), settings.health_interval)
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
