"""The response: the seed's ``handleCriticalIncident``. Backup, alert through the configured
notifiers, health report, recovery (the agent pauses processing for it), and a recovery-status
alert. Every step runs whatever happened to the ones before; each result is recorded. When a
step failed, the seed's "URGENT: Incident Response Failed" goes to the notifiers that work."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from jobtui.contract import utcnow
from jobtui.incident.config import IncidentConfig
from jobtui.incident.model import Assessment, Delivery, Evidence, Response, Send, Step

if TYPE_CHECKING:
    from jobtui.alerting.message import Level as AlertLevel
    from jobtui.client import Client
    from jobtui.config import Config

URGENT_SUBJECT = "URGENT: Incident Response Failed"
URGENT_TEXT = "Automatic incident response failed, immediate manual intervention required"
NO_NOTIFIERS = "no notifiers configured (notifiers: in the config)"


async def respond(
    client: Client,
    config: Config,
    ev: Evidence,
    assessment: Assessment,
    send: Send,
    *,
    regather: Callable[[], Awaitable[Evidence]] | None = None,
) -> tuple[Response, Evidence]:
    """The seed's critical-incident sequence. Returns what it did and the evidence taken by
    the health-report step (the report's figures)."""
    steps: list[Step] = []
    latest = ev
    tried: set[str] = set()  # every notifier an alert went to
    worked: set[str] = set()  # those that delivered one

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

    async def deliver(
        kind: str, subject: str, text: str, only: frozenset[str] | None = None
    ) -> Delivery:
        results = await send(kind, subject, text, only)
        tried.update(n for n, _ in results)
        worked.update(n for n, e in results if e is None)
        return results

    def alert(kind: str, subject: str, text: str) -> Callable[[], Awaitable[tuple[bool, str]]]:
        async def go() -> tuple[bool, str]:
            results = await deliver(kind, subject, text)
            if not results:
                return False, NO_NOTIFIERS
            return all(e is None for _, e in results), describe(results)

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
    await step("alert", alert(kind, f"{subject} — {assessment.title}", incident_text(assessment)))
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
        alert("info" if ok else "critical", f"Recovery Status: {message}", message),
    )
    failed = [s for s in steps if not s.ok]
    urgent: Delivery | None = None
    if failed and tried:
        # The notifiers that delivered an alert of this response; when none did, all again.
        only = frozenset(worked) if worked else None
        urgent = await deliver("critical", URGENT_SUBJECT, urgent_text(assessment, failed), only)
    elif failed:
        urgent = []  # nobody to tell: Response.loud says so
    return Response(tuple(steps), urgent, len(tried)), latest


def describe(results: Delivery) -> str:
    return "; ".join(f"{n}: {'sent' if e is None else 'FAILED: ' + e}" for n, e in results)


def incident_text(a: Assessment) -> str:
    lines = [a.title, ""] + [f"- Level {f.level}: {f.text}" for f in a.findings]
    return "\n".join(lines)


def urgent_text(a: Assessment, failed: list[Step]) -> str:
    lines = [URGENT_TEXT, "", a.title, "", "Failed steps:"]
    lines += [f"- {s.name}: {s.detail}" for s in failed]
    return "\n".join(lines)


def notifier_sender(config: Config, cfg: IncidentConfig, target: str, url: str) -> Send:
    """Send through the configured notifiers (``incident.notifiers``, else all of them), once
    each, with their timeouts; failures are returned, never raised."""
    from jobtui.alerting.config import load_watch_config
    from jobtui.alerting.dispatch import send_each
    from jobtui.alerting.message import Batch, Item
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

    async def send(
        kind: str, subject: str, text: str, only: frozenset[str] | None = None
    ) -> Delivery:
        now = utcnow()
        level: AlertLevel = "warning" if kind in ("warning", "info") else "critical"
        item = Item("incident", "firing", level, subject, now, notice=kind == "info",
                    recommendation=text if text != subject else "")  # fmt: skip
        batch = Batch((item,), target, url, now, watch.environment, watch.dashboard_url,
                      dict(watch.labels))  # fmt: skip
        return await send_each((n for n in chosen if only is None or n.name in only), batch)

    return send
