"""From a store snapshot to the contract's health answer and metrics sample.

The definitions (documented in the README) live here and nowhere else; the judgement of the
figures is :mod:`jobtui.rules`'.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psutil

from jobtui.agent.store import Snapshot
from jobtui.config import AgentConfig
from jobtui.contract import (
    Health,
    HealthDetails,
    HealthMetrics,
    Operational,
    PerformanceMetrics,
    SystemStatus,
)
from jobtui.rules import Figures, Thresholds, alert_line, evaluate, status_of

HostReader = Callable[[], tuple[float, float, float]]  # → CPU %, memory %, 5-minute load


def read_host() -> HostReader:
    """A reader of this host's CPU % (since its previous call), memory % and 5-minute load.
    Each call returns at once (psutil reads ``/proc``; nothing sleeps)."""
    psutil.cpu_percent(None)  # prime: the first call measures since now

    def read() -> tuple[float, float, float]:
        try:
            load5 = os.getloadavg()[1]
        except OSError:  # no load average on this platform
            load5 = 0.0
        return psutil.cpu_percent(None), psutil.virtual_memory().percent, load5

    return read


@dataclass(frozen=True, slots=True)
class HostReading:
    at: float  # the meter's clock, seconds
    cpu: float
    memory: float
    load5: float

    @property
    def busiest(self) -> float:
        return max(self.cpu, self.memory)


@dataclass(frozen=True, slots=True)
class HostFigures:
    """Means of the readings over a span, and the newest 5-minute load."""

    cpu: float
    memory: float
    load5: float
    cores: int
    utilization: float  # mean of each reading's busiest resource (CPU or memory)


class HostMeter:
    """The agent's host, read in the background (:meth:`sample`, every few seconds) and kept
    for ``window`` seconds; the answers report means over it, so one busy reading does not
    flip health's badge. ``read`` and ``clock`` are seams for tests."""

    def __init__(
        self,
        window: float,
        *,
        read: HostReader | None = None,
        clock: Callable[[], float] = time.monotonic,
        cores: int | None = None,
    ) -> None:
        self.window = window
        self._read = read or read_host()
        self._clock = clock
        self.cores = cores or psutil.cpu_count() or 1
        self._readings: deque[HostReading] = deque()
        self._memory = psutil.virtual_memory().percent  # until the first reading

    def sample(self) -> HostReading:
        now = self._clock()
        cpu, memory, load5 = self._read()
        reading = HostReading(now, float(cpu), float(memory), float(load5))
        self._readings.append(reading)
        while self._readings[0].at < now - self.window:
            self._readings.popleft()
        return reading

    def figures(self, span: float | None = None) -> HostFigures | None:
        """Means over the last ``span`` seconds (the window by default); the newest reading
        alone when none is that recent; None before the first reading."""
        if not self._readings:
            return None
        since = self._clock() - (self.window if span is None else min(span, self.window))
        recent = [r for r in self._readings if r.at >= since] or [self._readings[-1]]
        n = len(recent)
        return HostFigures(
            cpu=sum(r.cpu for r in recent) / n,
            memory=sum(r.memory for r in recent) / n,
            load5=self._readings[-1].load5,
            cores=self.cores,
            utilization=sum(r.busiest for r in recent) / n,
        )

    @property
    def utilization(self) -> float:
        """Health's ``resourceUtilization``: the window's mean; memory before any reading."""
        f = self.figures()
        return self._memory if f is None else f.utilization


@dataclass(frozen=True, slots=True)
class Computed:
    """The contract's figures, computed from a snapshot (see the README's definitions)."""

    counts: dict[str, int]
    queue_depth: int
    processing: int
    capacity: int
    success_rate: float
    error_rate: float
    average_processing_time: float
    wait_time: float
    jobs_per_hour: int
    jobs_per_day: int
    stuck: int
    stalled_for: timedelta | None
    last_processed_at: datetime | None


def compute(snap: Snapshot, now: datetime, cfg: AgentConfig, stalled_after: timedelta) -> Computed:
    queue = snap.counts.get("pending", 0)
    processing = snap.counts.get("processing", 0)
    finished = snap.completed + snap.failed
    success = 100.0 if finished == 0 else round(snap.completed * 100.0 / finished, 2)
    # Stalled: jobs wait, and nothing finished since the later of the last finish and the
    # arrival of the oldest job still unfinished (so a job arriving after a quiet day is not).
    stalled = None
    marks = [t for t in (snap.last_finished, snap.oldest_unfinished) if t is not None]
    if queue > 0 and marks and now - max(marks) > stalled_after:
        stalled = now - max(marks)
    return Computed(
        counts=dict(snap.counts),
        queue_depth=queue,
        processing=processing,
        capacity=max(0, cfg.max_concurrent_jobs - processing),
        success_rate=success,
        error_rate=round(100.0 - success, 2),
        average_processing_time=round(snap.run_ms / snap.run_n, 1) if snap.run_n else 0.0,
        wait_time=round(snap.wait_ms / snap.wait_n, 1) if snap.wait_n else 0.0,
        jobs_per_hour=snap.finished_hour,
        jobs_per_day=snap.finished_day,
        stuck=snap.stuck,
        stalled_for=stalled,
        last_processed_at=snap.last_finished,
    )


def build_health(
    c: Computed,
    now: datetime,
    cfg: AgentConfig,
    thresholds: Thresholds,
    utilization: float,
    *,
    monitor: bool,
    processing_enabled: bool,
    collection_enabled: bool,
) -> Health:
    figures = Figures(
        queue_depth=c.queue_depth,
        error_rate=c.error_rate,
        average_processing_time=c.average_processing_time,
        stuck_jobs=c.stuck,
        wait_time=c.wait_time,
        resource_utilization=utilization,
        stalled_for=c.stalled_for,
    )
    findings = evaluate(figures, thresholds)
    status = status_of(findings)
    if not findings:
        message = "All systems operational"
    else:
        worst = sorted(findings, key=lambda f: f.level != "critical")[0]
        more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
        message = f"{worst.text}{more}"
    recommendations = list(dict.fromkeys(f.recommendation for f in findings))
    return Health(
        status=status,
        message=message,
        timestamp=now,
        system_status=SystemStatus(monitor=monitor, manager=True, config=True),
        metrics=HealthMetrics(
            queue_depth=c.queue_depth,
            processing_capacity=c.capacity,
            success_rate=c.success_rate,
            average_processing_time=c.average_processing_time,
            jobs_per_hour=c.jobs_per_hour,
            error_rate=c.error_rate,
            wait_time=c.wait_time,
            resource_utilization=round(utilization, 1),
            last_processed_at=c.last_processed_at,
        ),
        health=HealthDetails(
            alerts=tuple(alert_line(f.level, f.text) for f in findings),
            recommendations=tuple(recommendations),
            stuck_jobs_count=c.stuck,
        ),
        operational=Operational(
            auto_processing_enabled=processing_enabled,
            metrics_collection_enabled=collection_enabled,
            processing_interval=cfg.processing_interval,
            max_concurrent_jobs=cfg.max_concurrent_jobs,
        ),
    )


def unavailable_health(now: datetime, cfg: AgentConfig) -> Health:
    """The 503 answer when the job store cannot be reached: same shape, status critical."""
    return Health(
        status="critical",
        message="Database connection failed",
        timestamp=now,
        system_status=SystemStatus(monitor=False, manager=False, config=True),
        metrics=HealthMetrics(0, 0, 0.0, 0.0, 0, 0.0),
        health=HealthDetails(
            alerts=(alert_line("critical", "Database connection failed"),),
            recommendations=("Check database connectivity and credentials",),
            stuck_jobs_count=0,
        ),
        operational=Operational(False, False, cfg.processing_interval, cfg.max_concurrent_jobs),
    )


def build_sample(
    c: Computed, now: datetime, utilization: float, host: HostFigures | None = None
) -> PerformanceMetrics:
    return PerformanceMetrics(
        timestamp=now,
        queue_depth=c.queue_depth,
        processing_rate=round(c.jobs_per_hour / 60, 3),
        success_rate=c.success_rate,
        error_rate=c.error_rate,
        average_processing_time=c.average_processing_time,
        resource_utilization=round(utilization, 1),
        jobs_per_hour=c.jobs_per_hour,
        jobs_per_day=c.jobs_per_day,
        cpu_percent=None if host is None else round(host.cpu, 1),
        memory_percent=None if host is None else round(host.memory, 1),
        load_average=None if host is None else round(host.load5, 2),
        cpu_count=None if host is None else host.cores,
    )
