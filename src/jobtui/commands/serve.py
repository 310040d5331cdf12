"""``jobtui serve``: run the agent."""

from __future__ import annotations

import argparse
import dataclasses
import sys


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--database", metavar="URL", help="sqlite:///path (default ./jobtui.db) or postgresql://…"
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    from jobtui.commands.argtypes import port

    p.add_argument("--port", type=port, help="port 0-65535 (default 8787; 0 picks a free one)")
    p.add_argument(
        "--demo",
        action="store_true",
        help="also run the simulated demo workload (refused on a database with other jobs)",
    )
    p.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="allow a non-loopback address without tokens (only on a trusted network)",
    )
    from jobtui.logs.options import add_log_options

    add_log_options(p, default_dir="logs")


def run(args: argparse.Namespace) -> int:
    from jobtui.agent.server import ServeError, serve
    from jobtui.config import ConfigError, load_config
    from jobtui.logs.options import agent_secrets, setup_logging

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"jobtui serve: {exc}", file=sys.stderr)
        return 2
    agent_cfg = config.agent
    overrides = {
        "database": args.database,
        "host": args.host,
        "port": args.port,
        "insecure_no_auth": args.insecure_no_auth or None,
    }
    agent_cfg = dataclasses.replace(
        agent_cfg, **{k: v for k, v in overrides.items() if v is not None}
    )
    problem = setup_logging(args, config, agent_secrets(agent_cfg))
    if problem:
        print(f"jobtui serve: {problem}", file=sys.stderr)
        return 2
    stats_bucket = 60
    factory = None
    if args.demo:
        from jobtui.agent import demo

        problem = _demo_problem(agent_cfg.database)
        if problem:
            print(f"jobtui serve: {problem}", file=sys.stderr)
            return 2
        config, agent_cfg, stats_bucket, factory = demo.prepare(config, agent_cfg)
    config = dataclasses.replace(config, agent=agent_cfg)
    try:
        serve(
            config,
            host=agent_cfg.host,
            port=agent_cfg.port,
            stats_bucket=stats_bucket,
            agent_factory=factory,
        )
    except ServeError as exc:
        print(f"jobtui serve: {exc}", file=sys.stderr)
        return 2
    return 0


def _demo_problem(database: str) -> str | None:
    """Why the demo must not write into ``database``: it holds jobs the demo did not make."""
    from sqlalchemy.exc import SQLAlchemyError

    from jobtui.agent.db import DatabaseURLError, shown
    from jobtui.agent.demo import foreign_jobs

    try:
        n = foreign_jobs(database)
    except DatabaseURLError as exc:
        return str(exc)
    except SQLAlchemyError as exc:
        return f"--demo: cannot read {shown(database)}: {str(exc).splitlines()[0]}"
    if n:
        return (
            f"--demo: {shown(database)} holds {n:,} job{'s' * (n != 1)} the demo did not make; "
            "the demo writes simulated jobs, so give it a database of its own "
            "(e.g. --database sqlite:///demo.db)"
        )
    return None
