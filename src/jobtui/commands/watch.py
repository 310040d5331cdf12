"""``jobtui watch``: the alerting daemon (``--once`` for one evaluation from cron)."""

from __future__ import annotations

import argparse
import sys


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help="one poll, deliver what is due, exit")
    p.add_argument(
        "--test",
        action="store_true",
        help="send a test message to every notifier and report which ones work",
    )
    p.add_argument(
        "--state",
        metavar="FILE",
        help="state file (default: the target's own beside watch.state_file, e.g. "
        "watch-state.prod.json)",
    )
    p.add_argument(
        "--heartbeat",
        metavar="URL",
        help="GET this URL after every evaluation (healthchecks.io, an Uptime Kuma push "
        "monitor; default: watch.heartbeat_url, better for a secret URL than the command line)",
    )
    from jobtui.logs.options import add_log_options

    add_log_options(p)
    p.epilog = (
        "Exit status: 0 ran (alerts or not), 1 --once or --test could not deliver a "
        "notification, 2 bad arguments, config or state file."
    )


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except Exception as exc:  # a bug: one line, never a traceback
        print(f"jobtui watch: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import dataclasses
    import logging
    import signal
    from pathlib import Path

    from jobtui import logs
    from jobtui.alerting import redact
    from jobtui.alerting.config import load_watch_config
    from jobtui.alerting.daemon import Watcher
    from jobtui.alerting.observe import state_file_for
    from jobtui.alerting.state import StateError, StateFile
    from jobtui.config import ConfigError, load_config, resolve_target
    from jobtui.errors import InvalidURL

    logs.setup(args.log_level)
    log = logging.getLogger("jobtui.watch")
    try:
        config = load_config(args.config)
        watch = load_watch_config(config)
        target = resolve_target(config, url=args.url, target=args.target)
    except ConfigError as exc:
        return _fail(str(exc))
    from jobtui.logs.options import setup_logging

    problem = setup_logging(args, config, [])  # the secrets are scrubbed by redact.install
    if problem:
        return _fail(problem)
    state_path = (
        Path(args.state).expanduser() if args.state else state_file_for(watch.state_file, target)
    )
    watch = dataclasses.replace(watch, state_file=state_path)
    if args.heartbeat is not None:
        from urllib.parse import urlsplit

        from jobtui.config import Secret

        try:
            parts = urlsplit(args.heartbeat.strip())
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            ok = False
        if not ok:
            return _fail(
                "--heartbeat: expected an http(s):// URL (not shown: it may hold a secret)"
            )
        watch = dataclasses.replace(watch, heartbeat_url=Secret(args.heartbeat.strip()))
    from jobtui.commands.common import secret_parts

    secrets = [*watch.secrets(), *([target.token] if target.token else [])]
    redactor = redact.install(secret_parts(secrets, target_url=target.url))
    try:
        watcher = Watcher(config, watch, target)
    except InvalidURL as exc:
        return _fail(str(exc))

    if args.test:
        if not watch.notifiers:
            return _fail("no notifiers configured (see docs/alerting.md)")
        results = asyncio.run(watcher.test_notifiers())
        for name, error in results:
            kind = next(n.type for n in watch.notifiers if n.name == name)
            word = "ok  " if error is None else "FAIL"
            print(redactor.redact(f"{word} {name} ({kind}){': ' + error if error else ''}"))
        return 0 if all(e is None for _, e in results) else 1

    state = StateFile(watch.state_file)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await watcher.run(once=args.once, stop=stop)

    with contextlib.ExitStack() as held:
        try:  # another watcher of this state file, or a folder that cannot be made
            held.enter_context(state.daemon())
        except StateError as exc:
            return _fail(f"{exc}; give this watcher its own with --state FILE")
        try:
            state.read()  # a damaged state file stops here, before any poll
        except StateError as exc:
            return _fail(str(exc))
        names = ", ".join(f"{n.name} ({n.type})" for n in watch.notifiers)
        if not names:
            log.warning("no notifiers configured: alerts are only logged")
        log.info(
            "watching %s every %g s (warnings fire after %d polls, critical after %d, resolve "
            "after %d); notifiers: %s; state: %s%s",
            watcher.client.shown_url,
            watch.interval,
            watch.for_polls,
            watch.for_critical,
            watch.resolve_after,
            names or "none",
            watch.state_file,
            f"; heartbeat: {watcher.heartbeat.shown}" if watcher.heartbeat else "",
        )
        try:
            return asyncio.run(main())
        except StateError as exc:
            return _fail(str(exc))


def _fail(message: str) -> int:
    print(f"jobtui watch: {message}", file=sys.stderr)
    return 2
