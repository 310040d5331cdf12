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
    """One rule's facts, for every module that names, shows or explains it."""

    name: str
    label: str
    unit: str  # "", "%", "ms"
    recommendation: str
    figure: str = ""  # the Figures field it judges ("" when it judges none)
    component: str = ""  # the part of the system it concerns (incident reports)
    impact: str = ""  # what it means for users while it trips (incident reports)

    def show(self, value: float) -> str:
        if self.unit == "%":
            return f"{value:.1f}%"
        if self.unit == "ms":
            return human_ms(value)
        return f"{value:g}"

    def trip(self, value: float, limits: Iterable[tuple[Level, float]]) -> Finding | None:
        """The first limit (worst first) that ``value`` is strictly above, as a finding."""
        for level, limit in limits:
            if value > limit:
                text = f"{self.label} {self.show(value)} > {self.show(limit)}"
                return Finding(self.name, level, value, limit, text, self.recommendation)
        return None

    def judge(self, value: float | None, thresholds: Thresholds) -> Finding | None:
        """This rule on one figure: critical, else warning, else None (also for no figure)."""
        if value is None:
            return None
        crit = float(getattr(thresholds.critical, self.name))
        warn = float(getattr(thresholds.warning, self.name))
        return self.trip(value, (("critical", crit), ("warning", warn)))


RULES: tuple[Rule, ...] = (
    Rule("queue_depth", "Queue depth", "", "Increase processing capacity or find what is slow.",
         "queue_depth", "job queue", "Jobs wait longer before they are processed."),
    Rule("error_rate", "Error rate", "%", "Investigate failing jobs: see the Errors tab.",
         "error_rate", "jobs (errors)", "Many jobs fail; users do not get their results."),
    Rule("processing_time", "Average processing time", "ms", "Investigate slow jobs.",
         "average_processing_time", "workers / processing", "Jobs take much longer to finish."),
    Rule("wait_time", "Average wait time", "ms", "Jobs wait too long: add workers.",
         "wait_time", "job queue", "Users wait long before their jobs start."),
    Rule("resource_utilization", "Resource utilization", "%", "Consider scaling up the host.",
         "resource_utilization", "host resources",
         "The host is near its limits; everything slows down."),
    Rule("stuck_jobs", "Stuck jobs", "", "Recover stuck jobs (R, or `jobtui recover --stuck-only`).",
         "stuck_jobs", "workers / processing",
         "Jobs hang in processing and will not finish by themselves."),
)  # fmt: skip
STALLED = Rule(
    "processing_stalled", "Processing stalled", "", "Restart the processing system.",
    component="workers / processing", impact="Jobs are accepted but none is processed.",
)  # fmt: skip
RESPONSE_TIME = Rule(
    "response_time", "Response time", "ms", "Check the server's load and database.",
    component="the server", impact="Every request to the server is slow.",
)  # fmt: skip
SERVER_STATUS = Rule(
    "server_status", "Server status", "", "See the server's alerts.",
    component="the server's own rules", impact="See the server's alerts.",
)  # fmt: skip
SYSTEM_DOWN = Rule(
    "system_down", "System down", "",
    "Check that the server runs and answers GET /api/jobs/health (immediate investigation).",
    component="the server (agent or app)", impact="No job can be created, processed or seen.",
)  # fmt: skip
RULE_NAMES: tuple[str, ...] = (*(r.name for r in RULES), STALLED.name, SYSTEM_DOWN.name)
BY_NAME: dict[str, Rule] = {
    r.name: r for r in (*RULES, STALLED, RESPONSE_TIME, SERVER_STATUS, SYSTEM_DOWN)
}
FIGURE_OF: dict[str, str] = {r.name: r.figure for r in RULES}  # rule → the Figures field


def label_of(rule: str) -> str:
    """A rule's label for people; an unknown name as it is."""
    r = BY_NAME.get(rule)
    return r.label if r else rule


def evaluate(fig: Figures, thresholds: Thresholds) -> list[Finding]:
    """Every rule that trips, at its highest level (critical suppresses the warning)."""
    found: list[Finding] = []
    for rule in RULES:
        f = rule.judge(getattr(fig, rule.figure), thresholds)
        if f is not None:
            found.append(f)
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
    limits: tuple[tuple[Level, float], ...] = (
        ("critical", critical * 1000),
        ("warning", warning * 1000),
    )
    return RESPONSE_TIME.trip(seconds * 1000, limits)


def status_of(findings: Iterable[Finding]) -> Status:
    return worst(f.level for f in findings)


def worst(statuses: Iterable[str]) -> Status:
    """The worst of some statuses ("healthy" when there are none)."""
    best: Status = "healthy"
    for s in statuses:
        if RANK.get(s, 0) > RANK[best]:
            best = "critical" if s == "critical" else "warning"
    return best


# --------------------------------------------------------------------------- alert lines


@dataclass(frozen=True, slots=True)
class AlertLine:
    """One line of a health answer's ``alerts``: ``CRITICAL: Queue depth 62 > 50``."""

    level: Level | None  # None: no level word (a server that words its alerts otherwise)
    text: str  # the line after its level word
    rule: Rule | None  # the rule whose label the text starts with, when one does

    def __str__(self) -> str:
        return alert_line(self.level, self.text) if self.level else self.text


def alert_line(level: str, text: str) -> str:
    """How a finding is written in a health answer's ``alerts`` (:func:`parse_alert` reads it)."""
    return f"{level.upper()}: {text}"


def parse_alert(line: str) -> AlertLine:
    """Read one alert line, ours or another server's: its level word, text and rule."""
    word, sep, rest = line.partition(": ")
    level: Level | None = None
    text = line.strip()
    if sep and word.strip().lower() in ("warning", "critical"):
        level = "critical" if word.strip().lower() == "critical" else "warning"
        text = rest.strip()
    folded = text.lower()
    rule = next(
        (
            r
            for r in BY_NAME.values()
            if folded.startswith(r.label.lower())
            and folded[len(r.label) : len(r.label) + 1] in ("", " ", ":")
        ),
        None,
    )
    return AlertLine(level, text, rule)


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
