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
    p.add_argument("--port", type=int, help="port (default 8787; 0 picks a free one)")
    p.add_argument("--config", metavar="FILE", help="config file")
    p.add_argument("--demo", action="store_true", help="also run the simulated demo workload")
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
