"""``jobtui incident``: classify the situation (the seed's severity levels 1–4) and write a
Markdown incident report; ``--respond`` also runs the seed's critical-incident sequence."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from jobtui.cli import add_target_options
from jobtui.commands.common import run_with_client
from jobtui.literal import printable

if TYPE_CHECKING:
    from jobtui.client import Client
    from jobtui.config import Config


def configure(p: argparse.ArgumentParser) -> None:
    add_target_options(p)
    p.add_argument(
        "--respond",
        action="store_true",
        help="run the critical-incident sequence: backup, alert the notifiers, health report, "
        "recovery, recovery-status alert (needs the admin token)",
    )
    p.add_argument(
        "--severity",
        type=int,
        choices=[1, 2, 3, 4],
        help="declare the level yourself (e.g. 1 for a security breach)",
    )
    p.add_argument("--summary", metavar="TEXT", help="what happened, in your words")
    p.add_argument("--dir", metavar="DIR", help="where the report goes (default: incident.dir)")
    p.add_argument("--state", metavar="FILE", help="watch's state file (default: watch.state_file)")
    p.epilog = (
        "Prints the severity and the report's path. Exit status: 0 report written (with "
        "--respond: every step succeeded), 1 a --respond step failed, 2 bad arguments or "
        "config, or the report cannot be written."
    )


def run(args: argparse.Namespace) -> int:
    async def act(client: Client, config: Config) -> int:
        from pathlib import Path

        from jobtui.alerting.observe import target_label
        from jobtui.commands.common import UsageError
        from jobtui.config import ConfigError, resolve_target
        from jobtui.incident import load_incident_config, notifier_sender, write_report

        target = resolve_target(config, url=args.url, target=args.target)
        label = target_label(target)
        secrets: list[str] = [target.token] if target.token else []
        try:
            cfg = load_incident_config(config)
            send = None
            if args.respond:
                from jobtui.alerting.config import load_watch_config

                secrets += load_watch_config(config).secrets()
                send = notifier_sender(config, cfg, label, client.shown_url)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        try:
            written = await write_report(
                client,
                config,
                target=label,
                directory=Path(args.dir).expanduser() if args.dir else None,
                state_file=Path(args.state).expanduser() if args.state else None,
                respond_with=send,
                severity=args.severity,
                summary=args.summary,
                secrets=secrets,
            )
        except OSError as exc:
            raise UsageError(f"cannot write the report: {exc.strerror or exc}") from None
        print(printable(written.assessment.title))
        for s in written.steps:  # a step's detail may be a server's or a notifier's answer
            print(printable(f"  {'ok    ' if s.ok else 'FAILED'} {s.name}: {s.detail}"))
        print(printable(str(written.path)))
        return 1 if written.failed else 0

    return run_with_client(args, act)
