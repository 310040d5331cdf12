"""``jobtui incident``: classify the situation (the seed's severity levels 1–4) and write a
Markdown incident report; ``--respond`` also runs the seed's critical-incident sequence."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from jobtui.commands.common import run_with_client
from jobtui.literal import printable

if TYPE_CHECKING:
    from jobtui.client import Client
    from jobtui.config import Config


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--respond",
        action="store_true",
        help="run the critical-incident sequence: backup, alert the notifiers, health report, "
        "recovery, recovery-status alert (needs the admin token); when a step fails, "
        '"URGENT: Incident Response Failed" to the notifiers that work',
    )
    p.add_argument(
        "--severity",
        type=int,
        choices=[1, 2, 3, 4],
        help="declare the level yourself (e.g. 1 for a security breach)",
    )
    p.add_argument("--summary", metavar="TEXT", help="what happened, in your words")
    p.add_argument("--dir", metavar="DIR", help="where the report goes (default: incident.dir)")
    p.add_argument(
        "--state", metavar="FILE", help="watch's state file (default: the target's, as watch)"
    )
    p.add_argument(
        "--agent-log",
        metavar="FILE",
        help="the agent's all.log, for its admin actions on the timeline (default: "
        "logging.agent_log, else logging.dir/all.log)",
    )
    p.epilog = (
        "Prints the severity and the report's path. Exit status: 0 report written (with "
        "--respond: every step succeeded), 1 a --respond step failed, 2 bad arguments or "
        "config, the report cannot be written, or --respond with --read-only."
    )


def run(args: argparse.Namespace) -> int:
    async def act(client: Client, config: Config) -> int:
        from pathlib import Path

        from jobtui.alerting.config import load_watch_config
        from jobtui.alerting.observe import state_file_for, target_label
        from jobtui.alerting.redact import Redactor
        from jobtui.commands.common import UsageError, secret_parts
        from jobtui.config import ConfigError, resolve_target
        from jobtui.incident import (
            URGENT_SUBJECT,
            load_incident_config,
            notifier_sender,
            write_report,
        )
        from jobtui.incident.respond import describe

        if args.respond:  # its backup and recovery change the server: refused before anything
            client.refuse_writes("--respond (a backup, then system recovery)")
        target = resolve_target(config, url=args.url, target=args.target)
        label = target_label(target)
        secrets: list[str] = [target.token] if target.token else []
        try:
            cfg = load_incident_config(config)
            send = None
            if args.respond:
                secrets += load_watch_config(config).secrets()
                send = notifier_sender(config, cfg, label, client.shown_url)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        state_file = Path(args.state).expanduser() if args.state else None
        if state_file is None:
            try:  # the alerts of this target's `jobtui watch`
                state_file = state_file_for(load_watch_config(config).state_file, target)
            except ConfigError:
                state_file = None  # a watch section it cannot read: the report says so
        secrets = secret_parts(secrets)
        try:
            written = await write_report(
                client,
                config,
                target=label,
                directory=Path(args.dir).expanduser() if args.dir else None,
                state_file=state_file,
                agent_log=Path(args.agent_log).expanduser() if args.agent_log else None,
                respond_with=send,
                severity=args.severity,
                summary=args.summary,
                secrets=secrets,
            )
        except OSError as exc:
            raise UsageError(f"cannot write the report: {exc.strerror or exc}") from None
        scrub = Redactor(secrets).redact  # a step's detail may be a receiver's own answer
        response = written.response
        if response.loud:  # nobody was (or could be) told: the first thing read
            print(printable(response.loud))
        print(printable(written.assessment.title))
        for s in written.steps:
            print(printable(scrub(f"  {'ok    ' if s.ok else 'FAILED'} {s.name}: {s.detail}")))
        if response.urgent:
            print(printable(scrub(f"  {URGENT_SUBJECT}: {describe(response.urgent)}")))
        print(printable(str(written.path)))
        return 1 if written.failed else 0

    return run_with_client(args, act)
