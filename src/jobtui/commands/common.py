"""What the commands that talk to a server share: config, target, client, one-line errors."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable
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
    line on stderr (``jobtui <command>: …``): exit 2 for config and usage, and for a write
    refused by ``--read-only`` (the client refuses it, whichever command asks), 1 for the
    rest."""
    from jobtui.client import Client
    from jobtui.config import ConfigError, load_config, resolve_target
    from jobtui.errors import ClientError, InvalidURL, ReadOnly
    from jobtui.literal import printable

    prog = f"jobtui {args.command}"
    try:
        config = load_config(args.config)
        target = resolve_target(config, url=args.url, target=args.target)
        client = Client(
            target.url,
            target.token,
            timeout=timeout,
            read_only=bool(getattr(args, "read_only", False)),
            token_from=target.token_from,
        )
    except (ConfigError, InvalidURL, UsageError) as exc:
        print(f"{prog}: {printable(str(exc))}", file=sys.stderr)
        return 2

    async def go() -> int:
        async with client:
            return await action(client, config)

    try:
        return asyncio.run(go())
    except (UsageError, ReadOnly) as exc:
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


def secret_parts(secrets: Iterable[str], *, target_url: str | None = None) -> list[str]:
    """Each secret and, for a URL (a webhook's), the pieces of it a receiver may echo back on
    their own in an error (``no such hook: T0/B0/xyz``, ``bad token abc``): its path of more
    than one segment, each segment that looks like a key (a digit and 8 characters, or 16),
    its query and each query value, percent-decoded too. What is printed or logged from a
    receiver's answer is scrubbed of all of them. Of the ``target_url`` (which names the
    server in every line) only its password and query values are."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    def key_like(segment: str) -> bool:
        return len(segment) >= 16 or (len(segment) >= 8 and any(c.isdigit() for c in segment))

    out: list[str] = []
    if target_url:
        try:
            parts = urlsplit(target_url)
            hidden = [parts.password or "", *(v for _, v in parse_qsl(parts.query))]
        except ValueError:
            hidden = []
        out += [h for h in hidden if len(h) >= 4]
    for secret in secrets:
        if not secret:
            continue
        out.append(secret)
        try:
            parts = urlsplit(secret)
        except ValueError:
            continue
        if parts.scheme not in ("http", "https") or not parts.netloc:
            continue
        path = parts.path.strip("/")
        pieces = [path] if "/" in path else []
        pieces += [seg for seg in path.split("/") if key_like(seg)]
        pieces += [parts.query, *(v for _, v in parse_qsl(parts.query))]
        if parts.password:
            pieces.append(parts.password)
        for piece in pieces:
            if len(piece) >= 4:
                out += [piece, unquote(piece)]
    return list(dict.fromkeys(out))
