"""Severity: the seed's "Incident Severity Examples" as rules; the worst level found is the
incident's. The figures are judged by :mod:`jobtui.rules`, as health, check and watch judge
them (a figure trips a threshold when strictly above it): above a critical threshold is
Level 2, above a warning threshold Level 3."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobtui.incident.config import IncidentConfig
from jobtui.incident.model import Assessment, Evidence, IncidentFinding
from jobtui.rules import (
    BY_NAME,
    STALLED,
    SYSTEM_DOWN,
    Figures,
    Rule,
    evaluate,
    human_ms,
    parse_alert,
)

if TYPE_CHECKING:
    from jobtui.config import Config

STUCK = BY_NAME["stuck_jobs"]
STOPPAGE = "Complete processing stoppage"


def level_of(rule_level: str) -> int:
    """A tripped rule's incident level: critical → 2 (High), warning → 3 (Medium)."""
    return 2 if rule_level == "critical" else 3


def classify(ev: Evidence, config: Config, cfg: IncidentConfig | None = None) -> Assessment:
    """The seed's severity examples as rules; the worst level found is the incident's."""
    cfg = cfg or IncidentConfig()
    t = config.thresholds
    out: list[IncidentFinding] = []

    def add(level: int, text: str, rule: Rule, recommendation: str = "", **kw: bool) -> None:
        out.append(IncidentFinding(level, text, rule.component, rule.impact, recommendation, **kw))

    h = ev.health
    if h is None:
        why = ev.problems.get("health", "no answer")
        out.append(
            IncidentFinding(1, f"System completely down: {why}", SYSTEM_DOWN.component,
                            SYSTEM_DOWN.impact, "Check the server process and its host; "
                            "`jobtui serve` logs.", identified=False)
        )  # fmt: skip
    elif ev.health_status == 503 or not h.system_status.manager:
        out.append(
            IncidentFinding(1, "Database connection failure: the server cannot reach its job "
                            "store", "job store (database)",
                            "Jobs are neither processed nor recorded.",
                            "Check database connectivity and credentials.")
        )  # fmt: skip
    if h is not None and ev.health_status != 503:
        fig = Figures.from_health(h, ev.at, t.stalled_after)
        for f in evaluate(fig, t):
            if f.rule == STALLED.name:
                add(1, f"{STOPPAGE}: {f.text}", STALLED, f.recommendation)
            else:
                add(level_of(f.level), f.text, BY_NAME[f.rule], f.recommendation)
        ours = {f.text for f in out}
        for line in h.health.alerts:
            alert = parse_alert(line)
            if alert.rule is STALLED:
                if not any(f.text.startswith(STOPPAGE) for f in out):
                    add(1, f"{STOPPAGE}: {alert.text}", STALLED, STALLED.recommendation)
            elif alert.level is not None and alert.text not in ours:
                rule = alert.rule or BY_NAME["server_status"]
                add(level_of(alert.level), f"The server reports: {alert.text}", rule,
                    rule.recommendation if alert.rule else "")  # fmt: skip
        stuck = h.health.stuck_jobs_count
        if 0 < stuck <= t.warning.stuck_jobs:  # the seed's "individual stuck jobs"
            add(4, f"Stuck jobs at or below the warning threshold: {stuck} "
                f"(warning above {STUCK.show(t.warning.stuck_jobs)})", STUCK,
                STUCK.recommendation)  # fmt: skip
        slight = t.warning.processing_time / 2
        if slight < fig.average_processing_time <= t.warning.processing_time:
            out.append(
                IncidentFinding(4, f"Slightly elevated processing times: "
                                f"{human_ms(fig.average_processing_time)} > {human_ms(slight)}",
                                "workers / processing", "Jobs take longer than usual.",
                                "Watch the processing-time trend (`jobtui capacity`).")
            )  # fmt: skip
        if (
            ev.recent_errors is not None
            and ev.recent_errors.total > 0
            and fig.error_rate <= t.warning.error_rate
        ):
            n = ev.recent_errors.total
            out.append(
                IncidentFinding(4, f"Isolated errors: {n} failed job{'s' * (n != 1)} in the "
                                "last hour", "jobs",
                                "A few jobs failed; users may have to retry them.",
                                "See `jobtui errors --hours 1`.")
            )  # fmt: skip
    for report in (ev.recent_errors, ev.errors):
        db = (
            next((c for c in report.categories if c.category == "Database"), None)
            if report
            else None
        )
        if db and db.last_seen and ev.at - db.last_seen <= cfg.recent:
            ago = max(0, int((ev.at - db.last_seen).total_seconds() // 60))
            out.append(
                IncidentFinding(1, f"Database connection failure: {db.count} job(s) failed "
                                f"with database errors, the last {ago} min ago",
                                "job store (database)",
                                "Jobs fail because the database cannot be reached.",
                                db.recommendation)
            )  # fmt: skip
            break
    if ev.backups is not None:
        bad = [b for b in ev.backups.backups if b.verified is False]
        if bad:
            names = ", ".join(b.name for b in bad[:3])
            out.append(
                IncidentFinding(1, f"Data corruption: {len(bad)} backup(s) fail their "
                                f"checksum ({names})", "backups",
                                "A restore from these backups would not be safe.",
                                "Take a fresh backup now (`jobtui backup`) and find what "
                                "damaged them.")
            )  # fmt: skip
    out.sort(key=lambda f: f.level)
    return Assessment(min((f.level for f in out), default=None), tuple(out))


def declare(a: Assessment, severity: int | None, summary: str | None) -> Assessment:
    """The on-call engineer's own judgement (a security breach, a UI issue) wins."""
    if severity is None and summary is None:
        return a
    level = severity or a.severity or 4
    finding = IncidentFinding(level, summary or f"Declared Level {level} by hand",
                              "declared by hand", summary or "See the summary.",
                              identified=summary is not None)  # fmt: skip
    return Assessment(level, (finding, *a.findings), declared=summary)
