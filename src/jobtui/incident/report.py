"""The Markdown incident report: summary, severity, timeline, figures, top errors, stuck jobs,
recommendations, the response, the seed's response team and procedure as a checklist, and its
communication templates filled in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobtui.contract import PerformanceMetrics
from jobtui.incident.config import IncidentConfig
from jobtui.incident.model import (
    ADMIN,
    LEVELS,
    PROCEDURE,
    TEAM,
    Assessment,
    Evidence,
    Response,
    Step,
)
from jobtui.incident.respond import URGENT_SUBJECT, describe
from jobtui.rules import BY_NAME, human_ms

if TYPE_CHECKING:
    from jobtui.config import Config


def report_status(a: Assessment, steps: Sequence[Step]) -> str:
    """The seed's statuses: RESOLVED (no incident), RESOLVING (recovery ran), IDENTIFIED (a
    cause was classified), else INVESTIGATING."""
    if a.severity is None:
        return "RESOLVED"
    if any(s.name == "recovery" and s.ok for s in steps):
        return "RESOLVING"
    if a.identified:
        return "IDENTIFIED"
    return "INVESTIGATING"


def _t(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def _hm(dt: datetime) -> str:
    return dt.strftime("%H:%M UTC")


def timeline(
    ev: Evidence, config: Config, steps: Sequence[Step] = ()
) -> list[tuple[datetime, str]]:
    """Events, oldest first: watch's alerts (fired, resolved, notified), threshold crossings
    in the metrics history, the agent's admin actions, the response's steps."""
    events: list[tuple[datetime, str]] = []
    if ev.state is not None:
        for a in ev.state.alerts.values():
            if a.started_at and a.phase in ("firing", "resolved"):
                events.append((a.started_at, f"watch: {a.level.upper()} {a.rule} fired — {a.text}"))
            if a.resolved_at:
                events.append((a.resolved_at, f"watch: {a.rule} resolved — {a.now_text or a.text}"))
            for name, sent in a.notified.items():
                events.append(
                    (sent.at, f"watch: {name} told {a.rule} is {sent.status} ({sent.level})")
                )
    if ev.history is not None:
        events += _crossings(ev.history.metrics, config)
    events += [(at, f"admin: {text}") for at, text in ev.admin_actions]
    for s in steps:
        events.append((s.at, f"response: {s.name} {'ok' if s.ok else 'FAILED'} — {s.detail}"))
    events.sort(key=lambda e: e[0])
    return events


# The history's figures on the timeline: the rule, and the sample's field it judges.
CROSSING_RULES = ("queue_depth", "error_rate", "processing_time")


def _crossings(samples: Sequence[PerformanceMetrics], config: Config) -> list[tuple[datetime, str]]:
    """Where a figure of the metrics history crossed a threshold, as the rules judge it."""
    out: list[tuple[datetime, str]] = []
    for name in CROSSING_RULES:
        rule = BY_NAME[name]
        prev = "normal"
        for m in sorted(samples, key=lambda m: m.timestamp):
            v = float(getattr(m, rule.figure))
            f = rule.judge(v, config.thresholds)
            level = f.level if f else "normal"
            if level != prev:
                if f is not None and (prev == "normal" or level == "critical"):
                    text = f"metrics: {f.text} ({level})"
                else:
                    text = f"metrics: {rule.label} back to {rule.show(v)} ({level})"
                out.append((m.timestamp, text))
                prev = level
    return out[-40:]


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def render(
    ev: Evidence,
    assessment: Assessment,
    config: Config,
    cfg: IncidentConfig,
    *,
    response: Response | None = None,
    path: Path | None = None,
) -> str:
    """The Markdown report; ``response``: what ``--respond`` did."""
    a, lv = assessment, assessment.level
    response = response or Response()
    steps = response.steps
    status = report_status(a, steps)
    sev = f"Level {lv.number} — {lv.name} (response: {lv.response})" if lv else "none (no incident)"
    out = [f"# Incident report: {a.title}", ""]
    if response.loud:
        out += [f"**{response.loud}.**", ""]
    out += [
        f"- **Time:** {_t(ev.at)}",
        f"- **Target:** {ev.target} ({ev.url})",
        f"- **Severity:** {sev}",
        f"- **Status:** {status}",
    ]
    if path is not None:
        out.append(f"- **Report:** `{path}`")
    out += ["", "## Summary", "", _summary(ev, a), ""]

    out += ["## Severity", ""]
    if not a.findings:
        out.append("Nothing matches the seed's severity examples.")
    for f in a.findings:
        out.append(f"- **Level {f.level} ({LEVELS[f.level].name})** — {f.text}. _{f.impact}_")
    out += ["", _levels_legend(config), ""]

    out += ["## Timeline", ""]
    events = timeline(ev, config, steps)
    if events:
        out += [_row("Time (UTC)", "Event"), _row("---", "---")]
        out += [_row(e[0].strftime("%Y-%m-%d %H:%M:%S"), e[1]) for e in events]
    else:
        out.append("No alert history or threshold crossing recorded.")
    out.append(f"\nReport written {_t(ev.at)}.")
    for part in TIMELINE_PARTS:
        if part in ev.problems:
            out.append(f"\n_{part}: {ev.problems[part]}_")
    out.append("")

    out += ["## Figures", "", *_figures(ev, config), ""]
    out += ["## Top errors (last 24 h)", "", *_errors(ev), ""]
    out += ["## Stuck jobs", "", *_stuck(ev, config), ""]
    out += ["## Recommendations", ""] + [f"- {r}" for r in _recommendations(ev, a)] + [""]
    if steps:
        out += ["## Response", "", *_response(response), ""]
    out += ["## Response team", "", *_team(), ""]
    out += ["## Response procedure", "", *_procedure(ev, a, response), ""]
    out += ["## Communication", "", *_templates(ev, a, cfg, status, path), ""]
    missing = {k: v for k, v in ev.problems.items() if k not in TIMELINE_PARTS}
    if missing:
        out += ["## What could not be read", ""]
        out += [f"- {k}: {v}" for k, v in missing.items()] + [""]
    return "\n".join(out)


TIMELINE_PARTS = ("watch state", "metrics history", ADMIN)  # noted under the timeline


def _summary(ev: Evidence, a: Assessment) -> str:
    if a.severity is None:
        return f"At {_hm(ev.at)} the background job system at {ev.target} looks healthy."
    h = ev.health
    parts = [f"At {_hm(ev.at)} the background job system at {ev.target} is in a "
             f"Level {a.severity} ({LEVELS[a.severity].name}) incident: "
             + "; ".join(f.text for f in a.findings[:4]) + "."]  # fmt: skip
    if h is not None:
        m = h.metrics
        parts.append(
            f"Server status {h.status}: {m.queue_depth} pending, {m.processing_capacity} free "
            f"worker slots, error rate {m.error_rate:.1f}%, average processing time "
            f"{human_ms(m.average_processing_time)}, {m.jobs_per_hour} jobs in the last hour."
        )
    return " ".join(parts)


def _figures(ev: Evidence, config: Config) -> list[str]:
    h = ev.health
    if h is None:
        return [f"No health answer: {ev.problems.get('health', 'no answer')}"]
    m, w, c = h.metrics, config.thresholds.warning, config.thresholds.critical
    rows = [
        ("Status", h.status, "", ""),
        ("Queue depth", f"{m.queue_depth}", f"{w.queue_depth:g}", f"{c.queue_depth:g}"),
        ("Processing capacity (free slots)", f"{m.processing_capacity}", "", ""),
        ("Success rate", f"{m.success_rate:.1f}%", "", ""),
        ("Error rate", f"{m.error_rate:.1f}%", f"{w.error_rate:g}%", f"{c.error_rate:g}%"),
        ("Average processing time", human_ms(m.average_processing_time),
         human_ms(w.processing_time), human_ms(c.processing_time)),
        ("Jobs per hour", f"{m.jobs_per_hour}", "", ""),
        ("Stuck jobs", f"{h.health.stuck_jobs_count}", f"{w.stuck_jobs:g}", f"{c.stuck_jobs:g}"),
    ]  # fmt: skip
    if m.wait_time is not None:
        rows.append(("Average wait time", human_ms(m.wait_time), human_ms(w.wait_time),
                     human_ms(c.wait_time)))  # fmt: skip
    if m.resource_utilization is not None:
        rows.append(("Resource utilization", f"{m.resource_utilization:.1f}%",
                     f"{w.resource_utilization:g}%", f"{c.resource_utilization:g}%"))  # fmt: skip
    if m.last_processed_at is not None:
        rows.append(("Last job finished", _t(m.last_processed_at), "", ""))
    out = [
        _row("Figure", "Now", "Warning above", "Critical above"),
        _row("---", "---", "---", "---"),
    ]
    out += [_row(*r) for r in rows]
    if ev.history is not None and ev.history.metrics:
        ms = ev.history.metrics
        peak_q = max(ms, key=lambda x: x.queue_depth)
        peak_e = max(ms, key=lambda x: x.error_rate)
        out.append(
            f"\nLast 24 h ({len(ms)} samples): peak queue depth {peak_q.queue_depth:g} at "
            f"{_hm(peak_q.timestamp)}, peak error rate {peak_e.error_rate:.1f}% at "
            f"{_hm(peak_e.timestamp)}."
        )
    if h.health.alerts:
        out.append("\nServer alerts: " + "; ".join(h.health.alerts))
    return out


def _errors(ev: Evidence) -> list[str]:
    e = ev.errors
    if e is None:
        return [f"Not available: {ev.problems.get('errors', '?')}"]
    if not e.categories:
        return ["No failed jobs in the last 24 hours."]
    out = [f"{e.total:,} failed jobs.", "",
           _row("Category", "Priority", "Count", "Last seen", "Recommendation", "Example"),
           _row("---", "---", "---:", "---", "---", "---")]  # fmt: skip
    for c in e.categories[:10]:
        sample = (c.sample or "")[:120]
        last = _t(c.last_seen) if c.last_seen else ""
        out.append(_row(c.category, c.priority, c.count, last, c.recommendation, f"`{sample}`"))
    return out


def _stuck(ev: Evidence, config: Config) -> list[str]:
    if ev.stuck is None:
        return [f"Not available: {ev.problems.get('stuck jobs', '?')}"]
    if not ev.stuck:
        return ["None."]
    out = [_row("Job", "Type", "Attempts", "Last update", "Stuck for"),
           _row("---", "---", "---", "---", "---")]  # fmt: skip
    for j in ev.stuck[:50]:
        age = human_ms((ev.at - j.updated_at).total_seconds() * 1000)
        out.append(
            _row(f"`{j.id}`", j.type, f"{j.attempts}/{j.max_attempts}", _t(j.updated_at), age)
        )
    if len(ev.stuck) > 50:
        out.append(f"\n… and {len(ev.stuck) - 50} more.")
    return out


def _recommendations(ev: Evidence, a: Assessment) -> list[str]:
    recs: list[str] = []

    def add(text: str) -> None:
        if text and text not in recs:
            recs.append(text)

    for f in a.findings:
        add(f.recommendation)
    if ev.health is not None:
        for r in ev.health.health.recommendations:
            add(r)
    if ev.errors is not None:
        for c in ev.errors.categories[:3]:
            add(f"{c.category} errors ({c.count}): {c.recommendation}")
    if ev.history is not None and ev.history.metrics:
        from jobtui.capacity import recommend

        rec = recommend(ev.history.metrics, None, now=ev.at)
        if rec.action != "hold":
            add(f"Capacity: {rec.action} — {rec.summary}")
    if a.severity is not None and a.severity <= 2:
        add("Run the critical-incident sequence if not done: `jobtui incident --respond`.")
    return recs or ["Nothing to do."]


def _response(response: Response) -> list[str]:
    steps = response.steps
    ok = sum(s.ok for s in steps)
    out = [_row("#", "Step", "Result", "Detail", "At (UTC)", "Took"),
           _row("---", "---", "---", "---", "---", "---:")]  # fmt: skip
    for i, s in enumerate(steps, 1):
        out.append(_row(i, s.name, "ok" if s.ok else "**FAILED**", s.detail,
                        s.at.strftime("%H:%M:%S"), f"{s.seconds:.1f} s"))  # fmt: skip
    failed = [s.name for s in response.failed]
    out.append("")
    if failed:
        out.append(
            f"{ok} of {len(steps)} steps succeeded; failed: {', '.join(failed)}. A failed step "
            "does not stop the ones after it: every step ran."
        )
    else:
        out.append(f"All {len(steps)} steps succeeded.")
    if response.urgent:
        out.append(f"\n**{URGENT_SUBJECT}** was sent: {describe(response.urgent)}.")
    elif response.urgent is not None:
        out.append(f"\n**{URGENT_SUBJECT}**, and no notifier to send it through.")
    return out


def _levels_legend(config: Config) -> str:
    """The levels as this config's thresholds place them (strictly above trips)."""

    def above(which: str) -> str:
        levels = getattr(config.thresholds, which)
        return ", ".join(
            f"{r.label.lower()} > {r.show(getattr(levels, r.name))}"
            for r in BY_NAME.values()
            if r.figure
        )

    return (
        "Levels: 1 Critical (system down, database failure, processing stopped, data "
        f"corruption, security breach) · 2 High (above a critical threshold: {above('critical')}) "
        f"· 3 Medium (above a warning threshold: {above('warning')}) · 4 Low (isolated errors, "
        "slightly elevated processing times, stuck jobs at or below the warning threshold)."
    )


def _team() -> list[str]:
    out = [_row("Role", "Responsibility", "Who"), _row("---", "---", "---")]
    out += [_row(f"**{role}**", duty, "") for role, duty in TEAM]
    out.append("\nFill in who holds each role for this incident.")
    return out


def _procedure(ev: Evidence, a: Assessment, response: Response) -> list[str]:
    """The seed's seven phases as a checklist; what this report or the response did is ticked."""
    done = {"Document incident timeline", "Document findings"}  # this report
    if ev.health is not None or ev.state is not None:
        done.add("Monitor alerts from health check system")
    if ev.errors is not None or ev.admin_actions:
        done.add("Log anomalies")
    if ev.history is not None or ev.health is not None:
        done.add("Performance degradation")
    if a.severity is not None:
        done |= {"Determine severity level", "Identify affected components",
                 "Estimate impact (users affected, data at risk)"}  # fmt: skip
    if ev.history is not None or ev.errors is not None:
        done.add("Review logs and metrics")
    ok = {s.name for s in response.steps if s.ok}
    if "backup" in ok:
        done.add("Protect user data")
    if "recovery" in ok:
        done.add("Restore full functionality")
    out: list[str] = []
    for n, (phase, tasks) in enumerate(PROCEDURE, 1):
        out.append(f"{n}. **{phase}**")
        out += [f"   - [{'x' if t in done else ' '}] {t}" for t in tasks]
    if a.identified:  # the classified cause, for "Identify root cause" (phases 4 and 7)
        cause = next(f.text for f in a.findings if f.identified)
        out.append(f"\nClassified cause: {cause}. Confirm it before ticking the root cause.")
    return out


def _templates(
    ev: Evidence, a: Assessment, cfg: IncidentConfig, status: str, path: Path | None
) -> list[str]:
    lv = a.level
    severity = lv.name.upper() if lv else "NONE"
    impact = " ".join(dict.fromkeys(f.impact for f in a.findings)) or "None."
    components = ", ".join(dict.fromkeys(f.component for f in a.findings)) or "none"
    actions = [status.capitalize() + (f" (report: {path})" if path else "")]
    actions += [f.recommendation for f in a.findings if f.recommendation][:3]
    next_update = ev.at + (lv.respond_within if lv else timedelta(hours=24))
    status_page = cfg.status_page_url or "[STATUS PAGE URL] (set incident.status_page_url)"
    service = cfg.service
    internal = [
        f"[INCIDENT] [{severity}] Background Job System Issue",
        "",
        f"Time: {_t(ev.at)}",
        f"Status: {status}",
        f"Impact: {impact}",
        f"Components: {components}",
        "",
        "Current Actions:",
        *[f"- {x}" for x in dict.fromkeys(actions)],
        "",
        f"Next Update: {_t(next_update)}",
    ]
    user = (
        f"We're currently experiencing issues with our {service} system. Our team is working "
        "to resolve this as quickly as possible. We apologize for any inconvenience.\n\n"
        f"Status updates will be posted here: {status_page}"
    )
    resolution = (
        f"The issues with our {service} system have been resolved. All services are now "
        "operating normally. We apologize for any inconvenience this may have caused.\n\n"
        "If you're still experiencing problems, please contact support."
    )
    return [
        "### Internal alert", "", "```", *internal, "```", "",
        "### User communication", "", "```", user, "```", "",
        "### Resolution notice", "", "```", resolution, "```",
    ]  # fmt: skip
