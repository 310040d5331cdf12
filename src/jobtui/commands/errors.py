"""``jobtui errors``: failed jobs by the seed's error categories, most urgent first.

What the agent's ``GET /api/monitoring/errors`` answers (the categories come from the
``error_patterns`` rules: the seed's seven, plus the config's), as a table or JSON.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING

from jobtui.commands.common import run_with_client
from jobtui.literal import printable

if TYPE_CHECKING:
    from jobtui.client import Client
    from jobtui.config import Config
    from jobtui.contract import ErrorsReport


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--hours", type=int, default=24, metavar="N", help="look back N hours (1-168, default 24)"
    )
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    p.epilog = "Exit status: 0 answered (failures or not), 1 the server failed, 2 bad arguments."


def run(args: argparse.Namespace) -> int:
    from jobtui.commands.common import UsageError

    async def act(client: Client, config: Config) -> int:
        from jobtui.contract import encode

        if not 1 <= args.hours <= 168:
            raise UsageError(f"--hours must be from 1 to 168, got {args.hours}")
        report = await client.errors(args.hours)
        if args.format == "json":
            print(json.dumps(encode(report), indent=2))
        else:
            print(render(report), end="")
        return 0

    return run_with_client(args, act)


def _when(dt: datetime | None) -> str:
    return dt.strftime("%m-%d %H:%M") if dt else "-"


def render(report: ErrorsReport) -> str:
    """The categories as a table, then each one's recommendation and a sample message (the
    server's text, control characters escaped)."""
    head = f"{report.total:,} failed job{'s' * (report.total != 1)} in the last {report.hours} h"
    if report.analysed < report.total:
        head += f" (the newest {report.analysed:,} categorised)"
    if not report.categories:
        return head + "\n"
    rows = [
        (
            c.priority.upper(),
            printable(c.category),
            f"{c.count:,}",
            _when(c.first_seen),
            _when(c.last_seen),
        )
        for c in report.categories
    ]
    titles = ("PRIORITY", "CATEGORY", "COUNT", "FIRST (UTC)", "LAST (UTC)")
    widths = [max(len(t), *(len(r[i]) for r in rows)) for i, t in enumerate(titles)]

    def line(cells: tuple[str, ...]) -> str:
        out = []
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
            out.append(cell.rjust(w) if i == 2 else cell.ljust(w))
        return "  ".join(out).rstrip()

    out = [head, "", line(titles)] + [line(r) for r in rows] + [""]
    for c in report.categories:
        out.append(printable(f"{c.category} ({c.priority}, {c.count:,}): {c.recommendation}"))
        if c.sample:
            sample = c.sample if len(c.sample) <= 160 else c.sample[:157] + "..."
            out.append(f"  e.g. {printable(sample)}")
    return "\n".join(out) + "\n"
