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


# The global options: the same meaning before or after any command (``jobtui --url X check``
# is ``jobtui check --url X``). A command they mean nothing to refuses them, wherever given.
GLOBAL_OPTIONS: dict[str, str] = {
    "url": "--url",
    "config": "--config",
    "target": "--target",
    "read_only": "--read-only",
}
SERVER_OPTIONS = frozenset(GLOBAL_OPTIONS)
APPLIES: dict[str, frozenset[str]] = {
    "serve": frozenset({"config"}),  # it is the agent, which writes its store
    "demo": frozenset({"config", "read_only"}),  # its own agent, and the dashboard on it
    "logs": frozenset({"config", "read_only"}),  # reads a file; --report writes one beside it
}


def add_global_options(
    p: argparse.ArgumentParser, *, top: bool = False, applies: frozenset[str] = SERVER_OPTIONS
) -> None:
    """--url / --config / --target / --read-only. On a command's parser their default is
    "not given", so that a value given before the command is kept; those that do not apply
    to the command are accepted (and refused after parsing) but not listed in its help."""
    from jobtui.commands import argtypes

    unset: object = None if top else argparse.SUPPRESS

    def shown(dest: str, text: str) -> str:
        return text if dest in applies else argparse.SUPPRESS

    p.add_argument(
        "--url",
        type=argtypes.url,
        default=unset,
        help=shown("url", "server URL (default: $JOBTUI_URL, the config's target)"),
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        default=unset,
        help=shown("config", "config file (default: $XDG_CONFIG_HOME/jobtui/config.yaml)"),
    )
    p.add_argument(
        "--target",
        metavar="NAME",
        default=unset,
        help=shown("target", "a target (environment) from the config"),
    )
    p.add_argument(
        "--read-only",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help=shown("read_only", "refuse every request that would change the server"),
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"jobtui {version('jobtui')}"
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "jobtui (version unknown: not installed)"


class _Version(argparse.Action):
    """``--version``: read from the package's metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(_version())
        parser.exit(0)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; given ``argv``, only the commands it names are set up
    (their modules imported), so the dashboard does not import the other commands' options
    on its way to the first frame."""
    named = None if argv is None else frozenset(argv)
    parser = argparse.ArgumentParser(
        prog="jobtui",
        description="See and repair a background-job system from the terminal.",
    )
    parser.add_argument("--version", action=_Version, help="print jobtui's version and exit")
    add_global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(
            name, help=help_text, description=help_text[0].upper() + help_text[1:] + "."
        )
        if named is not None and name not in named:
            continue  # cannot be the command parsed: argparse only picks a command named
        module = importlib.import_module(f"jobtui.commands.{MODULES.get(name, name)}")
        configure: Callable[[argparse.ArgumentParser], None] = (
            getattr(module, f"configure_{name}", None) or module.configure
        )
        configure(p)
        for leaf in _leaves(p):
            add_global_options(leaf, applies=APPLIES.get(name, SERVER_OPTIONS))
        p.set_defaults(_module=module, _parser=p)
    return parser


def _leaves(p: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``p``, or the parsers of its own subcommands (``silence add``, ``logs analyze``)."""
    nested = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    if not nested:
        return [p]
    return [leaf for a in nested for q in dict.fromkeys(a.choices.values()) for leaf in _leaves(q)]


def _refuse_what_does_not_apply(args: argparse.Namespace) -> None:
    command = getattr(args, "command", None)
    if command is None:
        return
    applies = APPLIES.get(command, SERVER_OPTIONS)
    for dest, flag in GLOBAL_OPTIONS.items():
        if getattr(args, dest, None) not in (None, False) and dest not in applies:
            args._parser.error(f"{flag} does not apply to `jobtui {command}`")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    _refuse_what_does_not_apply(args)
    module = getattr(args, "_module", None)
    if module is None:  # no subcommand: the dashboard
        module = importlib.import_module("jobtui.commands.dashboard")
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
