"""``jobtui``: the dashboard (what runs when no subcommand is given)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from jobtui.config import Config, ConfigError, Target, load_config, resolve_target

POLL_ENV = (
    "JOBTUI_POLL_SECONDS"  # every poll interval at once, below the config's floor (benchmarks)
)


def configure(p: argparse.ArgumentParser) -> None:
    """The dashboard's options are the top-level ones (--url, --config, --target, --read-only)."""


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(getattr(args, "config", None))
        target = resolve_target(
            config, url=getattr(args, "url", None), target=getattr(args, "target", None)
        )
    except ConfigError as exc:
        print(f"jobtui: {exc}", file=sys.stderr)
        return 2
    return open_dashboard(config, target, read_only=bool(getattr(args, "read_only", False)))


def open_dashboard(config: Config, target: Target, *, read_only: bool = False) -> int:
    """Run the dashboard on ``target`` until the user quits; the exit code."""
    from jobtui.client import InvalidURL, check_url

    try:
        target = dataclasses.replace(target, url=check_url(target.url))
    except InvalidURL as exc:
        print(f"jobtui: {exc}", file=sys.stderr)
        return 2
    settings = config.dashboard
    override = os.environ.get(POLL_ENV)
    if override:
        try:
            seconds = max(0.01, float(override))
        except ValueError:
            print(f"jobtui: {POLL_ENV}: expected seconds, got {override!r}", file=sys.stderr)
            return 2
        settings = dataclasses.replace(settings, health_interval=seconds, metrics_interval=seconds)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(
            "jobtui: the dashboard needs a terminal (try `jobtui check` in scripts)",
            file=sys.stderr,
        )
        return 2

    from jobtui.dashboard.app import DashboardApp

    app = DashboardApp(
        target,
        targets=config.targets,
        settings=settings,
        read_only=read_only,
        timeout=config.check.timeout,
        handle_signals=True,
    )
    app.start_polling()
    app.run()
    return int(app.return_code or 0)
