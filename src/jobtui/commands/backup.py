"""``jobtui backup | backups | restore NAME | prune | recover``: the agent's repair kit.

Each prints one line (``backups`` a table) and exits 0 on success, 1 when the server
refused or failed, 2 on bad arguments or config. Names and messages are the server's:
printed with their control characters escaped.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from jobtui.commands.common import human_bytes, run_with_client
from jobtui.literal import printable

if TYPE_CHECKING:
    from jobtui.client import Client
    from jobtui.commands.common import Action
    from jobtui.config import Config


def configure_backup(p: argparse.ArgumentParser) -> None:
    """Only the global options (--url, --config, --target, --read-only)."""


def configure_backups(p: argparse.ArgumentParser) -> None:
    """Only the global options."""


def configure_restore(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="the backup's file name, as `jobtui backups` lists it")
    p.add_argument("--dry-run", action="store_true", help="say what would change; write nothing")


def configure_prune(p: argparse.ArgumentParser) -> None:
    from jobtui.commands.argtypes import days

    p.add_argument(
        "--keep-days", type=days, default=7.0, metavar="N", help="0 to 36500 (default 7)"
    )


def configure_recover(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--stuck-only", action="store_true", help="only reset stuck jobs (no pause, no backup)"
    )


def run(args: argparse.Namespace) -> int:
    return run_with_client(args, ACTIONS[args.command](args))


def _backup(args: argparse.Namespace) -> Action:
    async def act(client: Client, config: Config) -> int:
        r = await client.create_backup()
        took = f" in {r.seconds:.1f} s" if r.seconds is not None else ""
        print(printable(f"Backup {r.name}: {r.jobs:,} jobs, {human_bytes(r.size)}{took}"))
        return 0

    return act


def _backups(args: argparse.Namespace) -> Action:
    async def act(client: Client, config: Config) -> int:
        listing = await client.backups()
        where = f" in {listing.directory}" if listing.directory else ""
        if not listing.backups:
            print(printable(f"No backups{where}"))
            return 0
        width = max(len(printable(b.name)) for b in listing.backups)
        print(f"{'NAME':<{width}}  {'CREATED (UTC)':<19}  {'SIZE':>9}  {'JOBS':>9}  CHECKSUM")
        for b in listing.backups:
            jobs = f"{b.jobs:,}" if b.jobs is not None else "?"
            check = "ok" if b.verified else f"FAILED: {b.problem or 'unknown'}"
            created = b.created_at.strftime("%Y-%m-%d %H:%M:%S")
            name = printable(b.name)
            print(
                f"{name:<{width}}  {created}  {human_bytes(b.size):>9}  {jobs:>9}  "
                + printable(check)
            )
        return 0 if all(b.verified for b in listing.backups) else 1

    return act


def _restore(args: argparse.Namespace) -> Action:
    async def act(client: Client, config: Config) -> int:
        r = await client.restore_backup(args.name, dry_run=args.dry_run)
        if r.dry_run:
            print(
                f"Dry run: restoring {printable(r.name)} would insert {r.inserted:,} and update "
                f"{r.updated:,} of {r.jobs:,} jobs; nothing was written"
            )
        else:
            print(
                f"Restored {printable(r.name)}: {r.inserted:,} inserted, {r.updated:,} updated "
                f"({r.jobs:,} jobs)"
            )
        return 0

    return act


def _prune(args: argparse.Namespace) -> Action:
    async def act(client: Client, config: Config) -> int:
        r = await client.prune_backups(args.keep_days)
        print(
            f"Pruned {len(r.deleted)} backup{'s' * (len(r.deleted) != 1)} older than "
            f"{args.keep_days:g} days; kept {r.kept} (the newest is always kept)"
        )
        return 0

    return act


def _recover(args: argparse.Namespace) -> Action:
    async def act(client: Client, config: Config) -> int:
        if args.stuck_only:
            r = await client.recover_stuck()
            extra = f" ({r.failed} failed: maximum retries exceeded)" if r.failed else ""
            print(f"Recovered {r.recovered} stuck job{'s' * (r.recovered != 1)}{extra}")
            return 0
        result = await client.recovery()
        failed = [s for s in result.steps if not s.ok]
        summary = "; ".join(f"{s.step}: {s.detail}" for s in result.steps if s.detail)
        print(
            printable(
                f"{result.message or ('System recovery done' if result.success else 'System recovery failed')}"
                + (f" ({summary})" if summary else "")
            )
        )
        return 0 if result.success and not failed else 1

    return act


ACTIONS = {
    "backup": _backup,
    "backups": _backups,
    "restore": _restore,
    "prune": _prune,
    "recover": _recover,
}
