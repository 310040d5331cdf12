"""Optional Sentry reporting (``pip install 'jobtui[sentry]'``, set ``SENTRY_DSN``): job failures,
the agent's operational events, and traces of its HTTP requests.

The agent does not run jobs, so it cannot catch their exceptions as the seed's
``captureJobError`` does: it polls the store for jobs that failed since the last poll and sends
one Sentry event per failure, tagged ``job_id`` and ``job_type`` (and ``error_category``, which
is also the fingerprint, so Sentry groups failures as the Errors tab does). ``before_send``
drops the user's IP address and e-mail, as the seed does, and replaces any IP address or
e-mail address in the event's text with ``[ip]`` / ``[email]``.

Recoveries, restores and backups are sent as the seed's ``captureJobEvent`` sends job events:
a message event at info (error when it failed), tagged ``event`` with what happened. Each HTTP
request is a transaction named by its route (``GET /api/jobs/{job_id}``), sampled at
``agent.sentry.traces_sample_rate`` (the seed's ``tracesSampleRate``, 0.2); a request that
carries a ``sentry-trace`` header continues that trace. A transaction holds the route, the
method and the status, never headers, query strings or bodies.

``SENTRY_ENVIRONMENT`` and ``SENTRY_RELEASE`` are honoured; the DSN is never logged. With
several agents on one store, only the leader (:mod:`jobtui.agent.leader`) reports job failures
and scheduled backups; the agent that serves a request reports what that request did.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from jobtui.agent.store import FailedJob, StoreUnavailable
from jobtui.contract import Job, iso, utcnow

if TYPE_CHECKING:
    from sentry_sdk.types import Event
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from jobtui.agent.service import Agent

log = logging.getLogger("jobtui.sentry")

EventLevel = Literal["info", "warning", "error"]

MAX_PER_POLL = 200  # failures sent per poll at most; more are counted and logged, not sent
MAX_INTERVAL = 10.0  # seconds between polls (less when the agent samples metrics faster)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")


def _ip_or_keep(m: re.Match[str]) -> str:
    try:
        ipaddress.ip_address(m.group(0))
    except ValueError:
        return m.group(0)  # "03:00:00" looks like IPv6 to the regex, not to ipaddress
    return "[ip]"


def scrub_text(text: str) -> str:
    """Replace e-mail and IP addresses with ``[email]`` and ``[ip]``."""
    text = _EMAIL.sub("[email]", text)
    text = _IPV4.sub(_ip_or_keep, text)
    return _IPV6.sub(_ip_or_keep, text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def before_send(event: dict[str, Any], hint: Mapping[str, Any]) -> dict[str, Any]:
    """No PII: the seed's deletions, then every string of the event scrubbed."""
    user = event.get("user")
    if isinstance(user, dict):
        user.pop("ip_address", None)
        user.pop("email", None)
    for key in ("message", "logentry", "exception", "extra", "contexts", "tags", "breadcrumbs"):
        if key in event:
            event[key] = _scrub(event[key])
    return event


def job_event(job: Job | FailedJob, job_type: str, category: str, priority: str) -> Event:
    """One failure as a Sentry event (the seed's ``captureJobError``: level error, two tags)."""
    context: dict[str, Any] = {"id": job.id, "type": job_type}
    if isinstance(job, Job):
        context.update(
            attempts=job.attempts,
            maxAttempts=job.max_attempts,
            createdAt=iso(job.created_at),
            startedAt=iso(job.started_at) if job.started_at else None,
        )
    if job.completed_at:
        context["failedAt"] = iso(job.completed_at)
    return {
        "message": job.error or "Job failed (no error message)",
        "level": "error",
        "logger": "jobtui.jobs",
        "tags": {
            "job_id": job.id,
            "job_type": job_type,
            "error_category": category,
            "error_priority": priority,
        },
        "fingerprint": ["job-failure", category],
        "contexts": {"job": context},
    }


class FailureReporter:
    """Polls the agent's store for new failed jobs and sends each to Sentry."""

    def __init__(
        self,
        agent: Agent,
        dsn: str,
        *,
        transport: Any = None,
        interval: float | None = None,
        since: datetime | None = None,
    ):
        import sentry_sdk

        self.agent = agent
        self.interval = interval or max(0.2, min(MAX_INTERVAL, agent.cfg.metrics_interval))
        self.traces_sample_rate = agent.cfg.sentry_traces_sample_rate
        options: dict[str, Any] = {
            "before_send": before_send,
            "before_send_transaction": before_send,
            "traces_sample_rate": self.traces_sample_rate,
            "default_integrations": False,  # no hooks into the agent's logging or excepthook
            "auto_enabling_integrations": False,
            "environment": os.environ.get("SENTRY_ENVIRONMENT") or "production",
        }
        if transport is not None:
            options["transport"] = transport
        self.client = sentry_sdk.Client(dsn, **options)
        self.since = since or utcnow()
        self._seen: set[str] = set()  # ids already sent whose failure time is `since`
        self.sent = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._forever(), name="sentry")
        log.info(
            "Sentry: reporting job failures (environment %s)", self.client.options["environment"]
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self.client.close, 2.0)  # flush what is queued, then stop

    async def _forever(self) -> None:
        """Poll while this agent is the leader. A follower keeps its mark at now, so a new
        leader reports the failures from its takeover on; the failures of about one poll
        interval around a takeover may be sent twice or not at all."""
        while True:
            await asyncio.sleep(self.interval)
            if not self.agent.leader.is_leader:
                self.since, self._seen = utcnow(), set()
                continue
            try:
                await self.poll()
            except StoreUnavailable as exc:
                log.warning("Sentry: cannot read failed jobs: %s", exc)
            except Exception as exc:  # a bug must not stop the agent
                log.error("Sentry: poll failed: %s: %s", type(exc).__name__, exc)

    def event(self, message: str, level: EventLevel, kind: str, context: Mapping[str, Any]) -> None:
        """An operational event (the seed's ``captureJobEvent``): ``kind`` is its ``event``
        tag (recovery, restore, backup), ``level`` info, warning or error."""
        self.client.capture_event(
            {
                "message": message,
                "level": level,
                "logger": "jobtui.agent",
                "tags": {"event": kind},
                "contexts": {kind: dict(context)},
            }
        )

    async def poll(self) -> int:
        """Send the failures since the last poll; how many were sent."""
        a = self.agent
        failures = await a.run(a.store.recent_failures, self.since, MAX_PER_POLL + 1)
        new = [f for f in failures if f.id not in self._seen or f.completed_at != self.since]
        if len(new) > MAX_PER_POLL:
            log.warning(
                "Sentry: more than %d jobs failed within %.0f s; sending the newest %d",
                MAX_PER_POLL,
                self.interval,
                MAX_PER_POLL,
            )
            new = new[:MAX_PER_POLL]
        for f in reversed(new):  # oldest first
            job = await a.run(a.store.get_job, f.id)
            rule = a.config.errors.classify(f.error)
            event = job_event(
                job or f, job.type if job else "unknown", rule.category, rule.priority
            )
            self.client.capture_event(event)
            self.sent += 1
        if new:
            newest = max((f.completed_at for f in new if f.completed_at), default=self.since)
            if newest != self.since:
                self._seen.clear()
            self.since = newest
            self._seen.update(f.id for f in new if f.completed_at == newest)
            log.debug("Sentry: sent %d job failures", len(new))
        return len(new)


class Tracing:
    """ASGI middleware: each HTTP request a Sentry transaction, sampled by the reporter's
    client, while ``reporter()`` gives one (it starts with the agent, after this is built).
    ``route_of`` names a request by its route template, so ids never become names."""

    def __init__(
        self,
        app: ASGIApp,
        reporter: Callable[[], FailureReporter | None],
        route_of: Callable[[str], str],
    ):
        self.app = app
        self.reporter = reporter
        self.route_of = route_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reporter = self.reporter() if scope["type"] == "http" else None
        if reporter is None or reporter.traces_sample_rate <= 0:
            await self.app(scope, receive, send)
            return
        import sentry_sdk

        headers = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope["headers"]
            if k in (b"sentry-trace", b"baggage")
        }
        name = f"{scope['method']} {self.route_of(scope['path'])}"
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with sentry_sdk.isolation_scope() as isolated:
            isolated.set_client(reporter.client)
            tx = sentry_sdk.continue_trace(
                headers, op="http.server", name=name, source="route", origin="auto.http.jobtui"
            )
            with sentry_sdk.start_transaction(tx) as span:
                try:
                    await self.app(scope, receive, sending)
                finally:
                    span.set_http_status(status or 500)


def start(agent: Agent, *, transport: Any = None) -> FailureReporter | None:
    """Start reporting when ``SENTRY_DSN`` is set and sentry-sdk is installed; else None."""
    dsn = os.environ.get("SENTRY_DSN", "").strip()
    if not dsn:
        return None
    try:
        import sentry_sdk  # noqa: F401
    except ImportError:
        log.error("SENTRY_DSN is set but sentry-sdk is not installed: pip install 'jobtui[sentry]'")
        return None
    try:
        reporter = FailureReporter(agent, dsn, transport=transport)
    except Exception as exc:  # BadDsn and friends; never echo the DSN
        log.error(
            "Sentry: cannot use SENTRY_DSN (%s); job failures are not reported", type(exc).__name__
        )
        return None
    reporter.start()
    return reporter


__all__ = [
    "EventLevel",
    "FailureReporter",
    "Tracing",
    "before_send",
    "job_event",
    "scrub_text",
    "start",
]
