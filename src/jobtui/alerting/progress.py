"""Processing progress as a client sees it, for servers that do not send ``lastProcessedAt``.

The seed's app reports how many jobs finished in the last hour (``jobsPerHour``, in health and
in each metrics-history sample, beside ``jobsPerDay``), not when the last one finished. A
rolling count that grows proves that a job finished between two looks; one that does not grow
is the only sign of a stall the client has. :class:`Run` is the current stretch of looks with
jobs pending and no such growth: ``since`` is its first look, so ``now - since`` is how long
processing has been seen stalled (a lower bound). Looks come from the metrics history (when the
server has one) and from the polls themselves (``jobtui watch`` keeps the run in its state file,
so ``--once`` from cron continues it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobtui.contract import Health, MetricsHistory, iso, parse_time
from jobtui.errors import ClientError

if TYPE_CHECKING:
    from jobtui.client import Client


@dataclass(frozen=True, slots=True)
class Look:
    """One reading of the figures that tell progress."""

    at: datetime
    queue_depth: float
    jobs_per_hour: float
    jobs_per_day: float | None = None  # history samples only


@dataclass(frozen=True, slots=True)
class Run:
    """The current stretch of looks with jobs pending and no job seen finishing."""

    since: datetime | None  # None: nothing pending at the last look
    last: Look | None  # the latest look taken into account
    looks: int = 0  # how many looks led here (capped): 1 means nothing to compare with yet


EMPTY = Run(None, None)


def from_health(h: Health, at: datetime) -> Look:
    return Look(at, h.metrics.queue_depth, h.metrics.jobs_per_hour)


def from_history(history: MetricsHistory) -> list[Look]:
    return [
        Look(m.timestamp, m.queue_depth, m.jobs_per_hour, m.jobs_per_day) for m in history.metrics
    ]


def finished_between(a: Look, b: Look) -> bool:
    """Did a rolling count of finished jobs grow from ``a`` to ``b``?"""
    if b.jobs_per_hour > a.jobs_per_hour:
        return True
    return (
        a.jobs_per_day is not None
        and b.jobs_per_day is not None
        and b.jobs_per_day > a.jobs_per_day
    )


def advance(run: Run, looks: Iterable[Look]) -> Run:
    """The run after some more looks (older ones than ``run.last`` are ignored)."""
    for look in sorted(looks, key=lambda x: x.at):
        last = run.last
        if last is not None and look.at <= last.at:
            continue
        if look.queue_depth <= 0:
            since = None
        elif last is None or run.since is None or finished_between(last, look):
            since = look.at
        else:
            since = run.since
        run = Run(since, look, min(run.looks + 1, 1000))
    return run


def needed(h: Health) -> bool:
    """Only a server that does not say when a job last finished needs the client's looks."""
    return h.metrics.last_processed_at is None


async def look(
    client: Client, h: Health, at: datetime, prior: Run, stalled_after: timedelta
) -> Run:
    """The run after this poll's answer, and the metrics history the server keeps (asked for
    only while jobs are pending and the run does not yet cover ``stalled_after``; a server
    without one, or that fails to answer, leaves the polls alone to judge)."""
    looks = [from_health(h, at)]
    covered = prior.since is not None and at - prior.since > stalled_after
    if needed(h) and h.metrics.queue_depth > 0 and not covered:
        hours = max(1, math.ceil(stalled_after.total_seconds() / 3600))
        try:
            history = await client.metrics_history(hours)
        except ClientError:
            history = None
        if history is not None:
            # samples the server took up to now, not after this poll's answer
            looks += [x for x in from_history(history) if x.at < at]
    return advance(prior, looks)


# --------------------------------------------------------------------------- the state file


def encode_run(run: Run) -> dict[str, Any] | None:
    if run.last is None:
        return None
    last = run.last
    return {
        "looks": run.looks,
        "since": None if run.since is None else iso(run.since),
        "last": {
            "at": iso(last.at),
            "queueDepth": last.queue_depth,
            "jobsPerHour": last.jobs_per_hour,
            "jobsPerDay": last.jobs_per_day,
        },
    }


def decode_run(data: Any) -> Run:
    if data is None:
        return EMPTY
    last = data["last"]
    day = last.get("jobsPerDay")
    look = Look(
        parse_time(last["at"]),
        float(last["queueDepth"]),
        float(last["jobsPerHour"]),
        None if day is None else float(day),
    )
    since = None if data["since"] is None else parse_time(data["since"])
    return Run(since, look, int(data["looks"]))


# --------------------------------------------------------------------------- the server's word

_STALLED = re.compile(r"^(?:CRITICAL: )?(Processing stalled\b.*)$", re.IGNORECASE)


def reported_stall(alerts: Iterable[str]) -> str | None:
    """A server's own "Processing stalled" alert line (our agent's ``CRITICAL: Processing
    stalled: …``), without its level prefix; None when it reports none."""
    for line in alerts:
        m = _STALLED.match(line.strip())
        if m:
            return m.group(1)
    return None
