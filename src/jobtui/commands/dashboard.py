"""``jobtui``: the dashboard (what runs when no subcommand is given)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from urllib.parse import urlsplit

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
    """Run the dashboard on ``target`` until the user quits; the exit code.

    Polling starts first, in its own thread, and Textual is imported only then: the first
    answer travels while the UI loads, and is on screen with the first frame."""
    problem = url_problem(target.url)
    if problem:
        print(f"jobtui: {problem}", file=sys.stderr)
        return 2
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(
            "jobtui: the dashboard needs a terminal (try `jobtui check` in scripts)",
            file=sys.stderr,
        )
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

    from jobtui.dashboard.feeds import make_poller

    poller = make_poller(target, settings, timeout=config.check.timeout, read_only=read_only)
    poller.start()
    try:
        from jobtui.dashboard.app import DashboardApp

        app = DashboardApp(
            target,
            targets=config.targets,
            settings=settings,
            read_only=read_only,
            handle_signals=True,
            poller=poller,
            config=config,
        )
        app.run()
    finally:
        poller.stop()
    return int(app.return_code or 0)


def url_problem(url: str) -> str | None:
    """What is wrong with a server URL, checked without importing the HTTP client (which
    the poller's thread imports while Textual loads). The client checks again."""
    parts = urlsplit(url.strip())
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return f"invalid URL {parts.scheme}://{parts.hostname or ''}…: bad port"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = url if "@" not in url else f"{parts.scheme}://{parts.hostname or ''}…"
        return f"invalid URL {shown!r}: expected http://host[:port] or https://…"
    return None
