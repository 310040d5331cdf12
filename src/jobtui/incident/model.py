"""What an incident is made of: the seed's severity levels, the evidence gathered, the
findings and assessment, the response's steps, and the seed's response team and procedure."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from jobtui.alerting.state import WatchState
    from jobtui.contract import BackupList, ErrorsReport, Health, Job, MetricsHistory


@dataclass(frozen=True, slots=True)
class IncidentLevel:
    """One of the seed's four severity levels."""

    number: int
    name: str
    response: str
    respond_within: timedelta


# The seed's "Severity Levels", and the examples that place an incident in each (as rules,
# :mod:`jobtui.incident.classify`):
#   1 Critical: system completely down, database connection failure, complete processing
#     stoppage, data corruption, security breach (declared by hand);
#   2 High: a figure above its critical threshold (queue depth > 50, error rate > 20 %,
#     processing time > 15 min, stuck jobs > 5, wait time, utilization);
#   3 Medium: a figure above its warning threshold (queue depth > 20, error rate > 10 %,
#     processing time > 5 min, stuck jobs > 2, …);
#   4 Low: isolated errors (failed jobs in the last hour, the error rate at or below its
#     threshold), slightly elevated processing times (above half the warning threshold),
#     stuck jobs at or below the warning threshold.
LEVELS: dict[int, IncidentLevel] = {
    1: IncidentLevel(1, "Critical", "Immediate (within 15 minutes)", timedelta(minutes=15)),
    2: IncidentLevel(2, "High", "Within 1 hour", timedelta(hours=1)),
    3: IncidentLevel(3, "Medium", "Within 4 hours", timedelta(hours=4)),
    4: IncidentLevel(4, "Low", "Within 24 hours", timedelta(hours=24)),
}

# The seed's "Response Team".
TEAM: tuple[tuple[str, str], ...] = (
    ("Primary Responder", "First person to acknowledge the incident"),
    ("Incident Manager", "Coordinates response efforts"),
    ("Technical Lead", "Directs technical investigation and fixes"),
    ("Communications Lead", "Handles stakeholder communications"),
)

# The seed's seven-phase "Response Procedure", each phase with its tasks.
PROCEDURE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Detection & Reporting", ("Monitor alerts from health check system",
                               "User-reported issues", "Log anomalies",
                               "Performance degradation")),
    ("Assessment & Triage", ("Determine severity level", "Identify affected components",
                             "Estimate impact (users affected, data at risk)",
                             "Assign incident owner")),
    ("Containment", ("Isolate affected components", "Implement temporary workarounds",
                     "Protect user data",
                     "Consider service degradation vs. complete outage")),
    ("Investigation", ("Review logs and metrics", "Identify root cause", "Document findings",
                       "Develop fix strategy")),
    ("Resolution", ("Implement fixes", "Test in isolated environment", "Deploy to production",
                    "Verify resolution")),
    ("Recovery", ("Restore full functionality", "Process backlogged jobs",
                  "Verify data integrity", "Return to normal operations")),
    ("Post-Incident Review", ("Document incident timeline", "Identify root cause",
                              "Document lessons learned", "Implement preventative measures")),
)  # fmt: skip

ADMIN = "admin actions"  # the part of the evidence read from the agent's log


@dataclass(frozen=True, slots=True)
class IncidentFinding:
    """One reason for the incident's level. ``identified``: it names a cause (a system that
    does not answer, or a level declared without a summary, names none)."""

    level: int
    text: str
    component: str
    impact: str
    recommendation: str = ""
    identified: bool = True


@dataclass
class Evidence:
    """What could be learned about the system, and why the rest could not."""

    at: datetime
    target: str
    url: str
    health: Health | None = None
    health_status: int | None = None
    history: MetricsHistory | None = None
    errors: ErrorsReport | None = None
    recent_errors: ErrorsReport | None = None  # the last hour
    stuck: tuple[Job, ...] | None = None
    backups: BackupList | None = None
    state: WatchState | None = None
    admin_actions: tuple[tuple[datetime, str], ...] = ()  # the agent's audit lines, last 24 h
    problems: dict[str, str] = field(default_factory=dict)  # part → why it is missing


@dataclass(frozen=True, slots=True)
class Assessment:
    severity: int | None  # None: no incident
    findings: tuple[IncidentFinding, ...]
    declared: str | None = None  # a summary given by hand

    @property
    def level(self) -> IncidentLevel | None:
        return LEVELS.get(self.severity) if self.severity else None

    @property
    def identified(self) -> bool:
        """A cause was classified (the seed's status IDENTIFIED)."""
        return any(f.identified for f in self.findings)

    @property
    def title(self) -> str:
        if self.severity is None:
            return "No incident: the system is healthy"
        lead = self.declared or next(
            (f.text for f in self.findings if f.level == self.severity), "declared by hand"
        )
        more = len([f for f in self.findings if f.text != lead])
        extra = f" (+{more} more)" if more else ""
        lv = LEVELS[self.severity]
        return f"Level {lv.number} ({lv.name}): {lead}{extra}"


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    ok: bool
    detail: str
    at: datetime
    seconds: float


Delivery = list[tuple[str, str | None]]  # (notifier, error or None) for each one tried


class Send(Protocol):
    """Alert the response's notifiers (``only``: just these names); failures are returned."""

    def __call__(
        self, kind: str, subject: str, text: str, only: frozenset[str] | None = None
    ) -> Awaitable[Delivery]: ...


@dataclass(frozen=True, slots=True)
class Response:
    """What ``--respond`` did: its steps and, when one failed, the urgent alert's delivery."""

    steps: tuple[Step, ...] = ()
    urgent: Delivery | None = None  # None: no step failed, nothing urgent to send
    notifiers: int = 0  # how many notifiers the response could alert

    @property
    def failed(self) -> list[Step]:
        return [s for s in self.steps if not s.ok]

    @property
    def loud(self) -> str | None:
        """What must be the first thing an engineer reads, when anything is."""
        if not self.steps:
            return None
        if self.notifiers == 0:
            return (
                "NO NOTIFIER CONFIGURED: this incident response alerted nobody "
                "(add notifiers: to the config)"
            )
        if self.urgent is not None and not any(e is None for _, e in self.urgent):
            return (
                "URGENT: Incident Response Failed, and no notifier could deliver the alert: "
                "immediate manual intervention required"
            )
        return None


@dataclass(frozen=True, slots=True)
class Written:
    """What :func:`jobtui.incident.write_report` made."""

    path: Path
    assessment: Assessment
    response: Response = Response()

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.response.steps

    @property
    def failed(self) -> list[Step]:
        return self.response.failed
