"""``jobtui``: the dashboard by default, and one subcommand per job of the on-call engineer.

Each subcommand lives in ``jobtui.commands.<module>`` with ``configure(parser)`` (cheap, at
parse time; ``configure_<name>`` when one module serves several commands) and
``run(args) -> exit code`` (imports what it needs only then), so ``jobtui check`` never pays
for Textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

# name → one-line help; the module jobtui.commands.<name> implements it.
COMMANDS: dict[str, str] = {
    "demo": "the agent with a simulated workload on a temporary database, and the dashboard on it",
    "serve": "run the agent: the contract over a jobs table (SQLite or PostgreSQL)",
    "check": "one health check for cron, CI and Nagios (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)",
    "watch": "the alerting daemon: evaluate the thresholds and notify Slack, email, webhooks",
    "silence": "silence an alert rule for a while: add, list, expire",
    "backup": "take a backup of the jobs table now",
    "backups": "list the backups, with whether each one's checksum verifies",
    "restore": "restore a backup (verified first; upserts by id, so twice changes nothing)",
    "prune": "delete backups older than N days (never the newest)",
    "recover": "system recovery: pause, back up, reset stuck jobs, resume",
    "errors": "failed jobs by error category (count, priority, first/last seen), most urgent first",
    "logs": "log tools: `logs analyze FILE`, the seed's log analysis report",
    "capacity": "scale up, hold or scale down, with every reason (metrics trends and this host)",
    "incident": "classify the incident (severity 1-4), write its report; --respond runs the response",
}
# Commands served by a module of another name.
MODULES: dict[str, str] = {name: "backup" for name in ("backups", "restore", "prune", "recover")}


def add_target_options(p: argparse.ArgumentParser) -> None:
    """--url / --config / --target, shared by every command that talks to a server."""
    p.add_argument("--url", help="server URL (default: $JOBTUI_URL, the config's target)")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="config file (default: $XDG_CONFIG_HOME/jobtui/config.yaml)",
    )
    p.add_argument("--target", metavar="NAME", help="a target (environment) from the config")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobtui",
        description="See and repair a background-job system from the terminal.",
    )
    add_target_options(parser)
    parser.add_argument(
        "--read-only", action="store_true", help="disable every action that changes anything"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"jobtui.commands.{MODULES.get(name, name)}")
        p = sub.add_parser(
            name, help=help_text, description=help_text[0].upper() + help_text[1:] + "."
        )
        configure: Callable[[argparse.ArgumentParser], None] = (
            getattr(module, f"configure_{name}", None) or module.configure
        )
        configure(p)
        _keep_global_options(parser, p)
        p.set_defaults(_module=module)
    return parser


def _keep_global_options(parser: argparse.ArgumentParser, sub: argparse.ArgumentParser) -> None:
    """``jobtui --url X check`` and ``jobtui check --url X`` mean the same: a subcommand's copy
    of a global option must not overwrite the global value with its own default."""
    shared = {a.dest for a in parser._actions}
    for action in sub._actions:
        if action.dest in shared and action.dest != "help":
            action.default = argparse.SUPPRESS


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module = getattr(args, "_module", None)
    if module is None:  # no subcommand: the dashboard
        module = importlib.import_module("jobtui.commands.dashboard")
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
