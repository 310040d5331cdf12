"""What the commands that talk to a server share: config, target, client, one-line errors."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobtui.client import Client
    from jobtui.config import Config

Action = Callable[["Client", "Config"], Awaitable[int]]
"""What a command does with the client and config :func:`run_with_client` opened."""


class UsageError(Exception):
    """Bad arguments or config: exit 2."""


def run_with_client(
    args: argparse.Namespace,
    action: Action,
    *,
    timeout: float = 600.0,
) -> int:
    """Load the config, open a client on the target, run ``action``; every failure is one
    line on stderr (``jobtui <command>: …``): exit 2 for config and usage, 1 for the rest."""
    from jobtui.client import Client
    from jobtui.config import ConfigError, load_config, resolve_target
    from jobtui.errors import ClientError, InvalidURL
    from jobtui.literal import printable

    prog = f"jobtui {args.command}"
    try:
        config = load_config(args.config)
        target = resolve_target(config, url=args.url, target=args.target)
        client = Client(target.url, target.token, timeout=timeout)
    except (ConfigError, InvalidURL, UsageError) as exc:
        print(f"{prog}: {printable(str(exc))}", file=sys.stderr)
        return 2

    async def go() -> int:
        async with client:
            return await action(client, config)

    try:
        return asyncio.run(go())
    except UsageError as exc:
        print(f"{prog}: {printable(str(exc))}", file=sys.stderr)
        return 2
    except ClientError as exc:  # it may carry the server's own error text
        print(f"{prog}: {printable(str(exc))}", file=sys.stderr)
        return 1


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
