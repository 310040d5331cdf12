"""``jobtui silence add|list|expire``: mute an alert rule of one target for a while (it is
still evaluated and logged by that target's ``jobtui watch``, but not sent)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def configure(p: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--state", metavar="FILE", help="state file (default: the target's, as `jobtui watch`)"
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser("add", parents=[common], help="silence a rule (or all) for a while")
    add.add_argument("--rule", required=True, help="a rule name, or 'all' for every rule")
    from jobtui.commands.argtypes import MAX_SILENCE, duration

    add.add_argument(
        "--for",
        dest="duration",
        type=duration(MAX_SILENCE),
        required=True,
        metavar="DURATION",
        help=f"e.g. 30m, 2h, 1d (at most {MAX_SILENCE.days}d)",
    )
    add.add_argument("--comment", required=True, help="why (shown by `silence list`)")
    ls = sub.add_parser("list", parents=[common], help="active silences (--all: expired too)")
    ls.add_argument("--all", action="store_true", help="include expired silences")
    ex = sub.add_parser("expire", parents=[common], help="end a silence now")
    ex.add_argument("id", help="the silence's id (from `silence list`)")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except Exception as exc:  # a bug: one line, never a traceback
        return _fail(f"internal error: {type(exc).__name__}: {exc}")


def _run(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from jobtui.alerting.config import parse_watch
    from jobtui.alerting.observe import state_file_for
    from jobtui.alerting.state import StateError, StateFile
    from jobtui.config import ConfigError, load_config, resolve_target

    try:
        config = load_config(args.config)
        target = resolve_target(config, url=args.url, target=args.target)
    except ConfigError as exc:
        return _fail(str(exc))
    try:  # only the watch section: a silence must not need the notifiers' secrets
        watch = parse_watch(config.raw.get("watch"), None, os.environ)
    except ConfigError as exc:
        return _fail(f"{config.path or 'config'}: {exc}")
    # the state of the target's `jobtui watch` (the same --url or --target finds it)
    path = Path(args.state).expanduser() if args.state else state_file_for(watch.state_file, target)
    state = StateFile(path)
    try:
        if args.action == "add":
            return _add(state, args)
        if args.action == "expire":
            return _expire(state, args.id)
        return _list(state, args.all)
    except StateError as exc:
        return _fail(str(exc))


def _add(state: Any, args: argparse.Namespace) -> int:
    import getpass

    from jobtui.alerting.observe import ALL_RULES
    from jobtui.alerting.state import ALL, Silence, new_silence_id
    from jobtui.contract import iso, utcnow

    if args.rule != ALL and args.rule not in ALL_RULES:
        return _fail(f"--rule: unknown rule {args.rule!r} (known: {', '.join(ALL_RULES)}, all)")
    duration = args.duration
    if not args.comment.strip():
        return _fail("--comment: say why")
    now = utcnow()
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    silence = Silence(new_silence_id(), args.rule, now, now + duration, args.comment.strip(), who)
    state.update(lambda s: s.silences.append(silence))
    print(f"Silenced {silence.rule} until {iso(silence.ends_at)} (id {silence.id})")
    return 0


def _expire(state: Any, silence_id: str) -> int:
    from jobtui.contract import utcnow

    now = utcnow()

    def expire(s: Any) -> str | None:
        for silence in s.silences:
            if silence.id == silence_id:
                if silence.active(now):
                    silence.ends_at = now
                    return "expired"
                return "already expired"
        return None

    result = state.update(expire)
    if result is None:
        return _fail(f"no silence with id {silence_id!r} (see `jobtui silence list --all`)")
    print(f"Silence {silence_id} {result}")
    return 0


def _list(state: Any, everything: bool) -> int:
    from jobtui.contract import iso, utcnow

    now = utcnow()
    silences = [s for s in state.read().silences if everything or s.active(now)]
    if not silences:
        print("No active silences." if not everything else "No silences.")
        return 0
    rows = [("ID", "RULE", "STATE", "ENDS", "BY", "COMMENT")]
    for s in sorted(silences, key=lambda s: s.ends_at):
        status = "active" if s.active(now) else ("pending" if s.starts_at > now else "expired")
        rows.append((s.id, s.rule, status, iso(s.ends_at), s.created_by, s.comment))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5])
    return 0


def _fail(message: str) -> int:
    print(f"jobtui silence: {message}", file=sys.stderr)
    return 2
