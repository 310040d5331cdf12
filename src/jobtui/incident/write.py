"""Gather, classify, respond, render and save: the report on disk (0600, secrets scrubbed)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from jobtui.incident.classify import classify, declare
from jobtui.incident.config import load_incident_config
from jobtui.incident.gather import default_agent_log, default_state_file, gather
from jobtui.incident.model import Evidence, Response, Send, Written
from jobtui.incident.report import render
from jobtui.incident.respond import respond

if TYPE_CHECKING:
    from jobtui.client import Client
    from jobtui.config import Config


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
        state_file = default_state_file(config)
    if agent_log is None:
        agent_log = default_agent_log(config)
    ev = await gather(client, config, target=target, state_file=state_file, agent_log=agent_log)
    assessment = declare(classify(ev, config, cfg), severity, summary)
    response = Response()
    if respond_with is not None:

        async def again() -> Evidence:
            return await gather(
                client, config, target=target, state_file=state_file, agent_log=agent_log
            )

        response, ev = await respond(client, config, ev, assessment, respond_with, regather=again)
    directory = directory or cfg.directory()
    path = report_path(directory, ev.at)
    text = render(ev, assessment, config, cfg, response=response, path=path)
    await asyncio.to_thread(save, text, path, secrets)
    return Written(path, assessment, response)
