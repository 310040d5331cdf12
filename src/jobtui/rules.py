"""The rules: thresholds → findings → status, and error messages → categories.

One place for every judgement jobtui makes, shared by the agent (which answers the health
endpoint), ``jobtui check``, ``jobtui watch`` and the dashboard. The defaults are the seed's
``alertThresholds`` and ``errorPatterns``; config can override both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from jobtui.contract import Health, Priority, Status

Level = Literal["warning", "critical"]
RANK: dict[str, int] = {"healthy": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class Levels:
    """One level's thresholds; a figure strictly above its threshold trips it."""

    queue_depth: float
    error_rate: float  # percent
    processing_time: float  # ms
    wait_time: float  # ms
    resource_utilization: float  # percent
    stuck_jobs: float


SEED_WARNING = Levels(20, 10, 5 * 60_000, 3 * 60_000, 80, 2)
SEED_CRITICAL = Levels(50, 20, 15 * 60_000, 10 * 60_000, 90, 5)


@dataclass(frozen=True, slots=True)
class Thresholds:
    warning: Levels = SEED_WARNING
    critical: Levels = SEED_CRITICAL
    stalled_after: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures the rules judge, whoever measured them."""

    queue_depth: float
    error_rate: float
    average_processing_time: float
    stuck_jobs: float
    wait_time: float | None = None
    resource_utilization: float | None = None
    stalled_for: timedelta | None = None  # set when jobs are pending and none finished lately

    @classmethod
    def from_health(
        cls,
        h: Health,
        now: datetime,
        stalled_after: timedelta,
        idle_since: datetime | None = None,
    ) -> Figures:
        """Read a server's answer. "Stalled" is judged from ``lastProcessedAt`` when the server
        sends it, else from ``idle_since``: since when the client has seen jobs pending and no
        job finishing (see :mod:`jobtui.alerting.progress`)."""
        m = h.metrics
        stalled = None
        since = m.last_processed_at if m.last_processed_at is not None else idle_since
        if since is not None and m.queue_depth > 0:
            idle = now - since
            stalled = idle if idle > stalled_after else None
        return cls(
            queue_depth=m.queue_depth,
            error_rate=m.error_rate,
            average_processing_time=m.average_processing_time,
            stuck_jobs=h.health.stuck_jobs_count,
            wait_time=m.wait_time,
            resource_utilization=m.resource_utilization,
            stalled_for=stalled,
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that tripped: ``rule`` is stable (for silences and dedup), ``text`` is for people."""

    rule: str
    level: Level
    value: float
    threshold: float
    text: str
    recommendation: str


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    label: str
    unit: str  # "", "%", "ms"
    recommendation: str

    def show(self, value: float) -> str:
        if self.unit == "%":
            return f"{value:.1f}%"
        if self.unit == "ms":
            return human_ms(value)
        return f"{value:g}"


RULES: tuple[Rule, ...] = (
    Rule("queue_depth", "Queue depth", "", "Increase processing capacity or find what is slow."),
    Rule("error_rate", "Error rate", "%", "Investigate failing jobs: see the Errors tab."),
    Rule("processing_time", "Average processing time", "ms", "Investigate slow jobs."),
    Rule("wait_time", "Average wait time", "ms", "Jobs wait too long: add workers."),
    Rule("resource_utilization", "Resource utilization", "%", "Consider scaling up the host."),
    Rule(
        "stuck_jobs", "Stuck jobs", "", "Recover stuck jobs (R, or `jobtui recover --stuck-only`)."
    ),
)
STALLED = Rule("processing_stalled", "Processing stalled", "", "Restart the processing system.")
RESPONSE_TIME = Rule(
    "response_time", "Response time", "ms", "Check the server's load and database."
)
RULE_NAMES: tuple[str, ...] = (*(r.name for r in RULES), STALLED.name, "system_down")

FIGURE_OF: dict[str, str] = {  # rule → the Figures field it judges
    "queue_depth": "queue_depth",
    "error_rate": "error_rate",
    "processing_time": "average_processing_time",
    "wait_time": "wait_time",
    "resource_utilization": "resource_utilization",
    "stuck_jobs": "stuck_jobs",
}


def evaluate(fig: Figures, thresholds: Thresholds) -> list[Finding]:
    """Every rule that trips, at its highest level (critical suppresses the warning)."""
    found: list[Finding] = []
    order: tuple[tuple[Level, Levels], ...] = (
        ("critical", thresholds.critical),
        ("warning", thresholds.warning),
    )
    for rule in RULES:
        value = getattr(fig, FIGURE_OF[rule.name])
        if value is None:
            continue
        for level, levels in order:
            limit = getattr(levels, rule.name)
            if value > limit:
                text = f"{rule.label} {rule.show(value)} > {rule.show(limit)}"
                found.append(Finding(rule.name, level, value, limit, text, rule.recommendation))
                break
    if fig.stalled_for is not None:
        minutes = fig.stalled_for.total_seconds() / 60
        text = (
            f"Processing stalled: no job finished for {minutes:.0f} min "
            f"while {fig.queue_depth:g} jobs are pending"
        )
        limit = thresholds.stalled_after.total_seconds() / 60
        found.append(
            Finding(STALLED.name, "critical", minutes, limit, text, STALLED.recommendation)
        )
    return found


def judge_response_time(seconds: float, warning: float, critical: float) -> Finding | None:
    """The seed's uptime-monitor rule: a health answer slower than a limit (in seconds)."""
    r = RESPONSE_TIME
    order: tuple[tuple[Level, float], ...] = (("critical", critical), ("warning", warning))
    for level, limit in order:
        if seconds > limit:
            value, limit_ms = seconds * 1000, limit * 1000
            text = f"{r.label} {r.show(value)} > {r.show(limit_ms)}"
            return Finding(r.name, level, value, limit_ms, text, r.recommendation)
    return None


def status_of(findings: Iterable[Finding]) -> Status:
    return worst(f.level for f in findings)


def worst(statuses: Iterable[str]) -> Status:
    """The worst of some statuses ("healthy" when there are none)."""
    best: Status = "healthy"
    for s in statuses:
        if RANK.get(s, 0) > RANK[best]:
            best = "critical" if s == "critical" else "warning"
    return best


def human_ms(ms: float) -> str:
    """A duration in milliseconds, for people: ``850 ms``, ``12.5 s``, ``6.2 min``, ``3.1 h``."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    if ms < 3_600_000:
        return f"{ms / 60_000:.1f} min"
    return f"{ms / 3_600_000:.1f} h"


# --------------------------------------------------------------------------- error categories


@dataclass(frozen=True, slots=True)
class ErrorPattern:
    pattern: re.Pattern[str]
    category: str
    priority: Priority
    recommendation: str


def _p(regex: str, category: str, priority: Priority, recommendation: str) -> ErrorPattern:
    return ErrorPattern(re.compile(regex, re.IGNORECASE), category, priority, recommendation)


SEED_ERROR_PATTERNS: tuple[ErrorPattern, ...] = (
    _p(
        r"OpenAI API Error: Rate limit exceeded",
        "Rate Limiting",
        "high",
        "Implement rate limiting and backoff strategy for OpenAI API calls",
    ),
    _p(
        r"Database connection failed",
        "Database",
        "critical",
        "Check database connectivity and credentials",
    ),
    _p(
        r"Job exceeded maximum processing time",
        "Timeout",
        "medium",
        "Increase job timeout or optimize processing steps",
    ),
    _p(
        r"Out of memory",
        "Resources",
        "critical",
        "Increase memory allocation or optimize memory usage",
    ),
    _p(
        r"Maximum retries exceeded",
        "Retry",
        "high",
        "Investigate persistent failures and improve error handling",
    ),
    _p(r"Invalid input", "Validation", "low", "Improve input validation and user feedback"),
    _p(
        r"Network request failed",
        "Network",
        "medium",
        "Check network connectivity and external service status",
    ),
)
UNKNOWN = ErrorPattern(
    re.compile(""), "Unknown", "medium", "Investigate error and add to known patterns"
)
PRIORITY_RANK: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True, slots=True)
class ErrorRules:
    patterns: tuple[ErrorPattern, ...] = field(default=SEED_ERROR_PATTERNS)

    def classify(self, message: str | None) -> ErrorPattern:
        """The first pattern that matches, or Unknown (the seed's ``analyzeError``)."""
        if message:
            for p in self.patterns:
                if p.pattern.search(message):
                    return p
        return UNKNOWN
