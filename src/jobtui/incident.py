"""Incident response: the seed's severity levels, the incident report, the critical sequence.

- :func:`gather` reads what the server can tell (health, metrics history, errors, stuck jobs,
  backups), what ``jobtui watch`` saw (its state file) and the admin actions in the agent's
  log on this machine (``logging.agent_log``); any part may fail, and the report says which.
- :func:`classify` puts the situation in the seed's severity levels 1–4, its "Incident
  Severity Examples" as rules (see :data:`LEVELS`).
- :func:`respond` runs the seed's ``handleCriticalIncident``: backup, alert through the
  configured notifiers, health report, recovery (the agent pauses processing for it), and a
  recovery-status alert. Every step runs whatever happened to the ones before; each result
  is recorded.
- :func:`render` writes the Markdown report: summary, severity, timeline, figures, top errors,
  stuck jobs, recommendations, the response, and the seed's communication templates filled in.
- :func:`write_report` does it all but the response (the dashboard's ``i`` key);
  ``jobtui incident [--respond]`` is the command.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobtui.contract import (
    BackupList,
    ErrorsReport,
    Health,
    Job,
    MetricsHistory,
    PerformanceMetrics,
    utcnow,
)
from jobtui.rules import RULES, STALLED, Figures, evaluate, human_ms

STUCK = next(r for r in RULES if r.name == "stuck_jobs")

if TYPE_CHECKING:
    from jobtui.alerting.message import AlertStatus
    from jobtui.alerting.message import Level as AlertLevel
    from jobtui.alerting.notifiers import Notifier
    from jobtui.alerting.state import State
    from jobtui.client import Client
    from jobtui.config import Config


@dataclass(frozen=True, slots=True)
class Level:
    number: int
    name: str
    response: str
    respond_within: timedelta


# The seed's "Severity Levels", and the examples that place an incident in each (as rules):
#   1 Critical: system completely down, database connection failure, complete processing
#     stoppage, data corruption, security breach (declared by hand);
#   2 High: queue depth > 50, error rate > 20 %, processing time > 15 min, multiple stuck
#     jobs (the critical thresholds; wait time and utilization too: "significant performance
#     degradation");
#   3 Medium: queue depth > 20, error rate 10–20 %, processing time 5–15 min, one stuck job
#     (the warning thresholds);
#   4 Low: isolated errors (failed jobs in the last hour below the error-rate threshold),
#     slightly elevated processing times (above half the warning threshold).
LEVELS: dict[int, Level] = {
    1: Level(1, "Critical", "Immediate (within 15 minutes)", timedelta(minutes=15)),
    2: Level(2, "High", "Within 1 hour", timedelta(hours=1)),
    3: Level(3, "Medium", "Within 4 hours", timedelta(hours=4)),
    4: Level(4, "Low", "Within 24 hours", timedelta(hours=24)),
}


@dataclass(frozen=True, slots=True)
class IncidentConfig:
    """The ``incident:`` section."""

    dir: Path | None = None  # None: $XDG_STATE_HOME/jobtui/incidents
    service: str = "background job"  # "our <service> system" in the user communication
    status_page_url: str | None = None
    notifiers: tuple[str, ...] | None = None  # None: every configured notifier
    recent: timedelta = timedelta(minutes=15)  # database errors this recent are an outage

    def directory(self, env: Mapping[str, str] = os.environ) -> Path:
        if self.dir is not None:
            return self.dir
        base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(base) / "jobtui" / "incidents"


@dataclass(frozen=True, slots=True)
class Finding:
    level: int
    text: str
    component: str
    impact: str
    recommendation: str = ""


@dataclass
class Snapshot:
    """What could be learned, and why the rest could not."""

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
    state: State | None = None
    admin_actions: tuple[tuple[datetime, str], ...] = ()  # the agent's audit lines, last 24 h
    problems: dict[str, str] = field(default_factory=dict)  # part → why it is missing


@dataclass(frozen=True, slots=True)
class Assessment:
    severity: int | None  # None: no incident
    findings: tuple[Finding, ...]
    declared: str | None = None  # a summary given by hand

    @property
    def level(self) -> Level | None:
        return LEVELS.get(self.severity) if self.severity else None

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


@dataclass(frozen=True, slots=True)
class Written:
    """What :func:`write_report` made."""

    path: Path
    assessment: Assessment
    steps: tuple[Step, ...] = ()

    @property
    def failed(self) -> list[Step]:
        return [s for s in self.steps if not s.ok]


# --------------------------------------------------------------------------- gathering


async def gather(
    client: Client,
    config: Config,
    *,
    target: str,
    state_file: Path | None = None,
    agent_log: Path | None = None,
    now: datetime | None = None,
) -> Snapshot:
    """Ask the server everything at once; a part that fails is noted, never raised.
    ``agent_log``: the agent's ``all.log``, read for its admin actions."""
    from jobtui.errors import ClientError

    snap = Snapshot(now or utcnow(), target, client.shown_url)

    async def part(name: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await call()
        except ClientError as exc:
            snap.problems[name] = str(exc)
            return None

    async def stuck() -> tuple[Job, ...]:
        page = await client.jobs(status="processing", limit=500)
        return tuple(sorted(page.jobs, key=lambda j: j.updated_at))

    health, history, errors, recent, stuck_jobs, backups = await asyncio.gather(
        part("health", client.health),
        part("metrics history", lambda: client.metrics_history(24)),
        part("errors", lambda: client.errors(24)),
        part("recent errors", lambda: client.errors(1)),
        part("stuck jobs", stuck),
        part("backups", client.backups),
    )
    if health is not None:
        snap.health, snap.health_status = health.value, health.status
    snap.history, snap.errors, snap.recent_errors = history, errors, recent
    if stuck_jobs is not None:
        # The server's count is by its own stuck limit: the stuck jobs are the ones updated
        # longest ago. Without a count, this config's agent.stuck_after decides.
        if health is not None:
            stuck_jobs = stuck_jobs[: health.value.health.stuck_jobs_count]
        else:
            limit = snap.at - config.agent.stuck_after
            stuck_jobs = tuple(j for j in stuck_jobs if j.updated_at < limit)
    snap.stuck, snap.backups = stuck_jobs, backups
    if state_file is not None:
        from jobtui.alerting.state import StateError, StateFile

        if state_file.exists():
            try:
                snap.state = await asyncio.to_thread(StateFile(state_file).read)
            except StateError as exc:
                snap.problems["watch state"] = str(exc)
        else:
            snap.problems["watch state"] = f"{state_file}: none yet (is `jobtui watch` running?)"
    if agent_log is None:
        snap.problems[ADMIN] = "the agent's log is not known here (set logging.agent_log)"
    else:
        from jobtui.agent import audit

        try:
            if audit.log_files(agent_log):
                since = snap.at - timedelta(hours=24)
                snap.admin_actions = tuple(await asyncio.to_thread(audit.read, agent_log, since))
            else:
                snap.problems[ADMIN] = f"{agent_log}: no such file"
        except OSError as exc:
            snap.problems[ADMIN] = f"{agent_log}: {exc.strerror or exc}"
    return snap


ADMIN = "admin actions"


# --------------------------------------------------------------------------- severity


def classify(snap: Snapshot, config: Config, cfg: IncidentConfig | None = None) -> Assessment:
    """The seed's severity examples as rules; the worst level found is the incident's."""
    cfg = cfg or IncidentConfig()
    t = config.thresholds
    out: list[Finding] = []
    h = snap.health
    if h is None:
        why = snap.problems.get("health", "no answer")
        out.append(
            Finding(1, f"System completely down: {why}", "the server (agent or app)",
                    "No job can be created, processed or seen.",
                    "Check the server process and its host; `jobtui serve` logs.")
        )  # fmt: skip
    elif snap.health_status == 503 or not h.system_status.manager:
        out.append(
            Finding(1, "Database connection failure: the server cannot reach its job store",
                    "job store (database)", "Jobs are neither processed nor recorded.",
                    "Check database connectivity and credentials.")
        )  # fmt: skip
    if h is not None and snap.health_status != 503:
        fig = Figures.from_health(h, snap.at, t.stalled_after)
        for f in evaluate(fig, t):
            if f.rule == "processing_stalled":
                out.append(
                    Finding(1, f"Complete processing stoppage: {f.text}", "workers / processing",
                            "Jobs are accepted but none is processed.", f.recommendation)
                )  # fmt: skip
            elif f.rule != "stuck_jobs":
                level = 2 if f.level == "critical" else 3
                out.append(Finding(level, f.text, _COMPONENT[f.rule], _IMPACT[f.rule],
                                   f.recommendation))  # fmt: skip
        ours = {f.text for f in out}
        for alert in h.health.alerts:
            level_word, _, text = alert.partition(": ")
            if "processing stalled" in alert.lower():
                if not any(f.text.startswith("Complete processing stoppage") for f in out):
                    out.append(
                        Finding(1, f"Complete processing stoppage: {text or alert}",
                                "workers / processing", "Jobs are accepted but none is processed.",
                                STALLED.recommendation)
                    )  # fmt: skip
            elif text and text not in ours and level_word in ("CRITICAL", "WARNING"):
                level = 2 if level_word == "CRITICAL" else 3
                out.append(Finding(level, f"The server reports: {text}", "the server's own rules",
                                   "See the server's alerts.", ""))  # fmt: skip
        stuck = h.health.stuck_jobs_count
        if stuck >= 2:
            out.append(
                Finding(2, f"Multiple stuck jobs: {stuck}", "workers / processing",
                        f"{stuck} jobs hang in processing and will not finish by themselves.",
                        STUCK.recommendation)
            )  # fmt: skip
        elif stuck == 1:
            out.append(
                Finding(3, "An individual stuck job", "workers / processing",
                        "One job hangs in processing.",
                        STUCK.recommendation)
            )  # fmt: skip
        slight = t.warning.processing_time / 2
        if slight < fig.average_processing_time <= t.warning.processing_time:
            out.append(
                Finding(4, f"Slightly elevated processing times: "
                        f"{human_ms(fig.average_processing_time)} > {human_ms(slight)}",
                        "workers / processing", "Jobs take longer than usual.",
                        "Watch the processing-time trend (`jobtui capacity`).")
            )  # fmt: skip
        if (
            snap.recent_errors is not None
            and snap.recent_errors.total > 0
            and fig.error_rate <= t.warning.error_rate
        ):
            n = snap.recent_errors.total
            out.append(
                Finding(4, f"Isolated errors: {n} failed job{'s' * (n != 1)} in the last hour",
                        "jobs", "A few jobs failed; users may have to retry them.",
                        "See `jobtui errors --hours 1`.")
            )  # fmt: skip
    for report in (snap.recent_errors, snap.errors):
        db = (
            next((c for c in report.categories if c.category == "Database"), None)
            if report
            else None
        )
        if db and db.last_seen and snap.at - db.last_seen <= cfg.recent:
            ago = max(0, int((snap.at - db.last_seen).total_seconds() // 60))
            out.append(
                Finding(1, f"Database connection failure: {db.count} job(s) failed with "
                        f"database errors, the last {ago} min ago", "job store (database)",
                        "Jobs fail because the database cannot be reached.",
                        db.recommendation)
            )  # fmt: skip
            break
    if snap.backups is not None:
        bad = [b for b in snap.backups.backups if b.verified is False]
        if bad:
            names = ", ".join(b.name for b in bad[:3])
            out.append(
                Finding(1, f"Data corruption: {len(bad)} backup(s) fail their checksum ({names})",
                        "backups", "A restore from these backups would not be safe.",
                        "Take a fresh backup now (`jobtui backup`) and find what damaged them.")
            )  # fmt: skip
    out.sort(key=lambda f: f.level)
    return Assessment(min((f.level for f in out), default=None), tuple(out))


_COMPONENT = {
    "queue_depth": "job queue",
    "error_rate": "jobs (errors)",
    "processing_time": "workers / processing",
    "wait_time": "job queue",
    "resource_utilization": "host resources",
}
_IMPACT = {
    "queue_depth": "Jobs wait longer before they are processed.",
    "error_rate": "Many jobs fail; users do not get their results.",
    "processing_time": "Jobs take much longer to finish.",
    "wait_time": "Users wait long before their jobs start.",
    "resource_utilization": "The host is near its limits; everything slows down.",
}


def declare(a: Assessment, severity: int | None, summary: str | None) -> Assessment:
    """The on-call engineer's own judgement (a security breach, a UI issue) wins."""
    if severity is None and summary is None:
        return a
    level = severity or a.severity or 4
    finding = Finding(level, summary or f"Declared Level {level} by hand", "declared by hand",
                      summary or "See the summary.")  # fmt: skip
    return Assessment(level, (finding, *a.findings), declared=summary)


# --------------------------------------------------------------------------- the response


Send = Callable[[str, str, str], Awaitable[list[tuple[str, str | None]]]]


async def respond(
    client: Client,
    config: Config,
    snap: Snapshot,
    assessment: Assessment,
    send: Send,
    *,
    regather: Callable[[], Awaitable[Snapshot]] | None = None,
) -> tuple[list[Step], Snapshot]:
    """The seed's critical-incident sequence. ``send(kind, subject, text)`` alerts every
    notifier and returns (name, error or None) for each. Returns the steps and the snapshot
    taken by the health-report step (the report's figures)."""
    steps: list[Step] = []
    latest = snap

    async def step(name: str, action: Callable[[], Awaitable[tuple[bool, str]]]) -> bool:
        at, start = utcnow(), time.perf_counter()
        try:
            ok, detail = await action()
        except Exception as exc:  # ClientError and anything else: recorded, never raised
            ok, detail = False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        steps.append(Step(name, ok, detail, at, time.perf_counter() - start))
        return ok

    async def backup() -> tuple[bool, str]:
        r = await client.create_backup()
        return True, f"{r.name} ({r.jobs:,} jobs)"

    def alert(kind: str, subject: str, text: str) -> Callable[[], Awaitable[tuple[bool, str]]]:
        async def go() -> tuple[bool, str]:
            results = await send(kind, subject, text)
            if not results:
                return False, "no notifiers configured (notifiers: in the config)"
            parts = [f"{n}: {'sent' if e is None else 'FAILED: ' + e}" for n, e in results]
            return all(e is None for _, e in results), "; ".join(parts)

        return go

    async def health_report() -> tuple[bool, str]:
        nonlocal latest
        if regather is not None:
            latest = await regather()
        h = latest.health
        if h is None:
            return False, latest.problems.get("health", "no answer")
        alerts = len(h.health.alerts)
        return True, f"status {h.status}, {alerts} alert{'s' * (alerts != 1)} (see Figures)"

    recovered: list[bool] = []

    async def recovery() -> tuple[bool, str]:
        r = await client.recovery()
        recovered.append(r.success)
        detail = r.message or ("recovered" if r.success else "failed")
        if r.steps:
            detail += " — " + "; ".join(f"{s.step}: {'ok' if s.ok else 'FAILED'}" for s in r.steps)
        return r.success, detail

    kind = "warning" if assessment.severity in (3, 4) else "critical"
    subject = f"{'CRITICAL ' if kind == 'critical' else ''}INCIDENT: Background Job System"
    await step("backup", backup)
    await step("alert", alert(kind, f"{subject} — {assessment.title}", _incident_text(assessment)))
    await step("health report", health_report)
    await step("recovery", recovery)
    ok = bool(recovered and recovered[0])
    message = (
        "Automatic recovery completed successfully"
        if ok
        else "Automatic recovery failed, manual intervention required"
    )
    await step(
        "recovery status alert",
        alert("resolved" if ok else "critical", f"Recovery Status: {message}", message),
    )
    return steps, latest


def _incident_text(a: Assessment) -> str:
    lines = [a.title, ""] + [f"- Level {f.level}: {f.text}" for f in a.findings]
    return "\n".join(lines)


def notifier_sender(config: Config, cfg: IncidentConfig, target: str, url: str) -> Send:
    """Send through the configured notifiers (``incident.notifiers``, else all of them), once
    each, with their timeouts; failures are returned, never raised."""
    from jobtui.alerting.config import load_watch_config
    from jobtui.alerting.dispatch import send_once
    from jobtui.alerting.message import Batch, Item
    from jobtui.alerting.notifiers import build
    from jobtui.config import ConfigError

    watch = load_watch_config(config)
    known = {n.name for n in watch.notifiers}
    for name in cfg.notifiers or ():
        if name not in known:
            where = str(config.path) if config.path else "config"
            raise ConfigError(
                f"{where}: incident.notifiers: no notifier named {name!r} "
                f"(known: {', '.join(sorted(known)) or 'none'})"
            )
    chosen = [n for n in watch.notifiers if cfg.notifiers is None or n.name in cfg.notifiers]

    async def send(kind: str, subject: str, text: str) -> list[tuple[str, str | None]]:
        now = utcnow()
        level: AlertLevel = "warning" if kind == "warning" else "critical"
        status: AlertStatus = "resolved" if kind == "resolved" else "firing"
        item = Item("incident", status, level, subject, now, now if status == "resolved" else None,
                    recommendation=text if text != subject else "")  # fmt: skip
        batch = Batch((item,), target, url, now, watch.environment, watch.dashboard_url,
                      dict(watch.labels))  # fmt: skip
        notifiers: list[Notifier] = [build(n) for n in chosen]

        async def one(n: Notifier) -> tuple[str, str | None]:
            try:
                return await send_once(n, batch)
            finally:
                await n.aclose()

        return list(await asyncio.gather(*(one(n) for n in notifiers)))

    return send


# --------------------------------------------------------------------------- the report


def status_of(a: Assessment, steps: Sequence[Step]) -> str:
    """The seed's statuses: INVESTIGATING, RESOLVING (recovery ran), RESOLVED (no incident)."""
    if a.severity is None:
        return "RESOLVED"
    if any(s.name == "recovery" and s.ok for s in steps):
        return "RESOLVING"
    return "INVESTIGATING"


def _t(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def _hm(dt: datetime) -> str:
    return dt.strftime("%H:%M UTC")


def timeline(
    snap: Snapshot, config: Config, steps: Sequence[Step] = ()
) -> list[tuple[datetime, str]]:
    """Events, oldest first: watch's alerts (fired, resolved, notified), threshold crossings
    in the metrics history, the agent's admin actions, the response's steps."""
    events: list[tuple[datetime, str]] = []
    if snap.state is not None:
        for a in snap.state.alerts.values():
            if a.started_at and a.phase in ("firing", "resolved"):
                events.append((a.started_at, f"watch: {a.level.upper()} {a.rule} fired — {a.text}"))
            if a.resolved_at:
                events.append((a.resolved_at, f"watch: {a.rule} resolved — {a.now_text or a.text}"))
            for name, sent in a.notified.items():
                events.append(
                    (sent.at, f"watch: {name} told {a.rule} is {sent.status} ({sent.level})")
                )
    if snap.history is not None:
        events += _crossings(snap.history.metrics, config)
    events += [(at, f"admin: {text}") for at, text in snap.admin_actions]
    for s in steps:
        events.append((s.at, f"response: {s.name} {'ok' if s.ok else 'FAILED'} — {s.detail}"))
    events.sort(key=lambda e: e[0])
    return events


def _crossings(samples: Sequence[PerformanceMetrics], config: Config) -> list[tuple[datetime, str]]:
    w, c = config.thresholds.warning, config.thresholds.critical
    figures = (
        ("queue_depth", "Queue depth", w.queue_depth, c.queue_depth, lambda v: f"{v:g}"),
        ("error_rate", "Error rate", w.error_rate, c.error_rate, lambda v: f"{v:.1f}%"),
        ("average_processing_time", "Processing time", w.processing_time, c.processing_time,
         human_ms),
    )  # fmt: skip
    out: list[tuple[datetime, str]] = []
    names = ("normal", "warning", "critical")
    for attr, label, warn, crit, show in figures:
        prev = 0
        for m in sorted(samples, key=lambda m: m.timestamp):
            v = getattr(m, attr)
            level = 2 if v > crit else 1 if v > warn else 0
            if level != prev:
                limit = crit if level == 2 else warn
                if level > prev:
                    text = f"metrics: {label} {show(v)} > {show(limit)} ({names[level]})"
                else:
                    text = f"metrics: {label} back to {show(v)} ({names[level]})"
                out.append((m.timestamp, text))
                prev = level
    return out[-40:]


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def render(
    snap: Snapshot,
    assessment: Assessment,
    config: Config,
    cfg: IncidentConfig,
    *,
    steps: Sequence[Step] = (),
    path: Path | None = None,
) -> str:
    """The Markdown report."""
    a, lv = assessment, assessment.level
    status = status_of(a, steps)
    sev = f"Level {lv.number} — {lv.name} (response: {lv.response})" if lv else "none (no incident)"
    out = [f"# Incident report: {a.title}", ""]
    out += [
        f"- **Time:** {_t(snap.at)}",
        f"- **Target:** {snap.target} ({snap.url})",
        f"- **Severity:** {sev}",
        f"- **Status:** {status}",
    ]
    if path is not None:
        out.append(f"- **Report:** `{path}`")
    out += ["", "## Summary", "", _summary(snap, a), ""]

    out += ["## Severity", ""]
    if not a.findings:
        out.append("Nothing matches the seed's severity examples.")
    for f in a.findings:
        out.append(f"- **Level {f.level} ({LEVELS[f.level].name})** — {f.text}. _{f.impact}_")
    out += ["", "Levels: 1 Critical (system down, database failure, processing stopped, data "
            "corruption, security breach) · 2 High (queue > 50, error rate > 20 %, processing "
            "> 15 min, several stuck jobs) · 3 Medium (queue > 20, error rate 10–20 %, processing "
            "5–15 min, one stuck job) · 4 Low (isolated errors, slightly slow).", ""]  # fmt: skip

    out += ["## Timeline", ""]
    events = timeline(snap, config, steps)
    if events:
        out += [_row("Time (UTC)", "Event"), _row("---", "---")]
        out += [_row(e[0].strftime("%Y-%m-%d %H:%M:%S"), e[1]) for e in events]
    else:
        out.append("No alert history or threshold crossing recorded.")
    out.append(f"\nReport written {_t(snap.at)}.")
    for part in TIMELINE_PARTS:
        if part in snap.problems:
            out.append(f"\n_{part}: {snap.problems[part]}_")
    out.append("")

    out += ["## Figures", "", *_figures(snap, config), ""]
    out += ["## Top errors (last 24 h)", "", *_errors(snap), ""]
    out += ["## Stuck jobs", "", *_stuck(snap, config), ""]
    out += ["## Recommendations", ""] + [f"- {r}" for r in _recommendations(snap, a)] + [""]
    if steps:
        out += ["## Response", "", *_response(steps), ""]
    out += ["## Communication", "", *_templates(snap, a, cfg, status, path), ""]
    missing = {k: v for k, v in snap.problems.items() if k not in TIMELINE_PARTS}
    if missing:
        out += ["## What could not be read", ""]
        out += [f"- {k}: {v}" for k, v in missing.items()] + [""]
    return "\n".join(out)


TIMELINE_PARTS = ("watch state", "metrics history", ADMIN)  # noted under the timeline


def _summary(snap: Snapshot, a: Assessment) -> str:
    if a.severity is None:
        return f"At {_hm(snap.at)} the background job system at {snap.target} looks healthy."
    h = snap.health
    parts = [f"At {_hm(snap.at)} the background job system at {snap.target} is in a "
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


def _figures(snap: Snapshot, config: Config) -> list[str]:
    h = snap.health
    if h is None:
        return [f"No health answer: {snap.problems.get('health', 'no answer')}"]
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
    if snap.history is not None and snap.history.metrics:
        ms = snap.history.metrics
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


def _errors(snap: Snapshot) -> list[str]:
    e = snap.errors
    if e is None:
        return [f"Not available: {snap.problems.get('errors', '?')}"]
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


def _stuck(snap: Snapshot, config: Config) -> list[str]:
    if snap.stuck is None:
        return [f"Not available: {snap.problems.get('stuck jobs', '?')}"]
    if not snap.stuck:
        return ["None."]
    out = [_row("Job", "Type", "Attempts", "Last update", "Stuck for"),
           _row("---", "---", "---", "---", "---")]  # fmt: skip
    for j in snap.stuck[:50]:
        age = human_ms((snap.at - j.updated_at).total_seconds() * 1000)
        out.append(
            _row(f"`{j.id}`", j.type, f"{j.attempts}/{j.max_attempts}", _t(j.updated_at), age)
        )
    if len(snap.stuck) > 50:
        out.append(f"\n… and {len(snap.stuck) - 50} more.")
    return out


def _recommendations(snap: Snapshot, a: Assessment) -> list[str]:
    recs: list[str] = []

    def add(text: str) -> None:
        if text and text not in recs:
            recs.append(text)

    for f in a.findings:
        add(f.recommendation)
    if snap.health is not None:
        for r in snap.health.health.recommendations:
            add(r)
    if snap.errors is not None:
        for c in snap.errors.categories[:3]:
            add(f"{c.category} errors ({c.count}): {c.recommendation}")
    if snap.history is not None and snap.history.metrics:
        from jobtui.capacity import recommend

        rec = recommend(snap.history.metrics, None, now=snap.at)
        if rec.action != "hold":
            add(f"Capacity: {rec.action} — {rec.summary}")
    if a.severity is not None and a.severity <= 2:
        add("Run the critical-incident sequence if not done: `jobtui incident --respond`.")
    return recs or ["Nothing to do."]


def _response(steps: Sequence[Step]) -> list[str]:
    ok = sum(s.ok for s in steps)
    out = [_row("#", "Step", "Result", "Detail", "At (UTC)", "Took"),
           _row("---", "---", "---", "---", "---", "---:")]  # fmt: skip
    for i, s in enumerate(steps, 1):
        out.append(_row(i, s.name, "ok" if s.ok else "**FAILED**", s.detail,
                        s.at.strftime("%H:%M:%S"), f"{s.seconds:.1f} s"))  # fmt: skip
    failed = [s.name for s in steps if not s.ok]
    out.append("")
    if failed:
        out.append(
            f"{ok} of {len(steps)} steps succeeded; failed: {', '.join(failed)}. A failed step "
            "does not stop the ones after it: every step ran."
        )
    else:
        out.append(f"All {len(steps)} steps succeeded.")
    return out


def _templates(
    snap: Snapshot, a: Assessment, cfg: IncidentConfig, status: str, path: Path | None
) -> list[str]:
    lv = a.level
    severity = lv.name.upper() if lv else "NONE"
    impact = " ".join(dict.fromkeys(f.impact for f in a.findings)) or "None."
    components = ", ".join(dict.fromkeys(f.component for f in a.findings)) or "none"
    actions = ["Investigating" + (f" (report: {path})" if path else "")]
    actions += [f.recommendation for f in a.findings if f.recommendation][:3]
    next_update = snap.at + (lv.respond_within if lv else timedelta(hours=24))
    status_page = cfg.status_page_url or "[STATUS PAGE URL] (set incident.status_page_url)"
    service = cfg.service
    internal = [
        f"[INCIDENT] [{severity}] Background Job System Issue",
        "",
        f"Time: {_t(snap.at)}",
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


# --------------------------------------------------------------------------- writing


def report_path(directory: Path, at: datetime) -> Path:
    base = directory / f"incident-{at.strftime('%Y%m%d-%H%M%S')}Z.md"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.stem}-{n}.md")
    return path


def save(text: str, path: Path, secrets: Sequence[str] = ()) -> Path:
    """Write the report (0600: it may name hosts and jobs), scrubbed of secrets."""
    from jobtui.alerting.redact import Redactor

    text = Redactor(secrets).redact(text)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path


async def write_report(
    client: Client,
    config: Config,
    *,
    target: str,
    directory: Path | None = None,
    state_file: Path | None = None,
    agent_log: Path | None = None,
    respond_with: Send | None = None,
    severity: int | None = None,
    summary: str | None = None,
    secrets: Sequence[str] = (),
) -> Written:
    """Gather, classify, (respond,) and write the report; its path and the assessment.
    Raises ConfigError for a bad ``incident:`` section and OSError when the report cannot be
    written; nothing the server does makes it raise."""
    cfg = load_incident_config(config)
    if state_file is None:
        state_file = _default_state_file(config)
    if agent_log is None:
        agent_log = _default_agent_log(config)
    snap = await gather(client, config, target=target, state_file=state_file, agent_log=agent_log)
    assessment = declare(classify(snap, config, cfg), severity, summary)
    steps: list[Step] = []
    if respond_with is not None:

        async def again() -> Snapshot:
            return await gather(
                client, config, target=target, state_file=state_file, agent_log=agent_log
            )

        steps, snap = await respond(client, config, snap, assessment, respond_with, regather=again)
    directory = directory or cfg.directory()
    path = report_path(directory, snap.at)
    text = render(snap, assessment, config, cfg, steps=steps, path=path)
    await asyncio.to_thread(save, text, path, secrets)
    return Written(path, assessment, tuple(steps))


def _default_agent_log(config: Config) -> Path | None:
    """The agent's ``all.log`` as the config's ``logging:`` section names it."""
    from jobtui.config import ConfigError
    from jobtui.logs import load_logging_config

    try:
        return load_logging_config(config).agent_log_path()
    except ConfigError:
        return None


def _default_state_file(config: Config) -> Path | None:
    from jobtui.alerting.config import load_watch_config
    from jobtui.config import ConfigError

    try:
        return load_watch_config(config).state_file
    except ConfigError:
        return None


# --------------------------------------------------------------------------- config


def load_incident_config(config: Config, env: Mapping[str, str] | None = None) -> IncidentConfig:
    """Validate the ``incident:`` section; :class:`ConfigError` names the file and the key."""
    from jobtui.config import load_section

    return load_section(config, "incident", parse_incident, env)


def parse_incident(data: Any, env: Mapping[str, str]) -> IncidentConfig:
    from jobtui.config import ConfigError, Section

    sec = Section(data, "incident", env)
    d = IncidentConfig()
    directory = sec.string("dir", None)
    names = sec._get("notifiers")
    if names is not None and (
        not isinstance(names, list) or not all(isinstance(n, str) for n in names)
    ):
        raise ConfigError("incident.notifiers: expected a list of notifier names")
    cfg = IncidentConfig(
        dir=Path(os.path.expanduser(directory)) if directory else None,
        service=sec.string("service", d.service) or d.service,
        status_page_url=sec.string("status_page_url", None),
        notifiers=tuple(names) if names is not None else None,
        recent=sec.duration("recent", d.recent),
    )
    sec.done()
    return cfg
