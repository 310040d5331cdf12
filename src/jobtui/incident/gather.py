"""Gathering: what the server can tell (health, metrics history, errors, stuck jobs, backups),
what ``jobtui watch`` saw (its state file) and the admin actions in the agent's log on this
machine; any part may fail, and the evidence says which."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobtui.contract import Job, utcnow
from jobtui.incident.model import ADMIN, Evidence

if TYPE_CHECKING:
    from jobtui.client import Client
    from jobtui.config import Config


async def gather(
    client: Client,
    config: Config,
    *,
    target: str,
    state_file: Path | None = None,
    agent_log: Path | None = None,
    now: datetime | None = None,
) -> Evidence:
    """Ask the server everything at once; a part that fails is noted, never raised.
    ``agent_log``: the agent's ``all.log``, read for its admin actions."""
    from jobtui.errors import ClientError

    ev = Evidence(now or utcnow(), target, client.shown_url)

    async def part(name: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await call()
        except ClientError as exc:
            ev.problems[name] = str(exc)
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
        ev.health, ev.health_status = health.value, health.status
    ev.history, ev.errors, ev.recent_errors = history, errors, recent
    if stuck_jobs is not None:
        # The server's count is by its own stuck limit: the stuck jobs are the ones updated
        # longest ago. Without a count, this config's agent.stuck_after decides.
        if health is not None:
            stuck_jobs = stuck_jobs[: health.value.health.stuck_jobs_count]
        else:
            limit = ev.at - config.agent.stuck_after
            stuck_jobs = tuple(j for j in stuck_jobs if j.updated_at < limit)
    ev.stuck, ev.backups = stuck_jobs, backups
    if state_file is not None:
        from jobtui.alerting.state import StateError, StateFile

        if state_file.exists():
            try:
                ev.state = await asyncio.to_thread(StateFile(state_file).read)
            except StateError as exc:
                ev.problems["watch state"] = str(exc)
        else:
            ev.problems["watch state"] = f"{state_file}: none yet (is `jobtui watch` running?)"
    if agent_log is None:
        ev.problems[ADMIN] = "the agent's log is not known here (set logging.agent_log)"
    else:
        from jobtui.agent import audit

        try:
            if audit.log_files(agent_log):
                since = ev.at - timedelta(hours=24)
                ev.admin_actions = tuple(await asyncio.to_thread(audit.read, agent_log, since))
            else:
                ev.problems[ADMIN] = f"{agent_log}: no such file"
        except OSError as exc:
            ev.problems[ADMIN] = f"{agent_log}: {exc.strerror or exc}"
    return ev


def default_agent_log(config: Config) -> Path | None:
    """The agent's ``all.log`` as the config's ``logging:`` section names it."""
    from jobtui.config import ConfigError
    from jobtui.logs import load_logging_config

    try:
        return load_logging_config(config).agent_log_path()
    except ConfigError:
        return None


def default_state_file(config: Config) -> Path | None:
    from jobtui.alerting.config import load_watch_config
    from jobtui.config import ConfigError

    try:
        return load_watch_config(config).state_file
    except ConfigError:
        return None
