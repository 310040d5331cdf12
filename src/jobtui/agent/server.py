"""Running the agent: bind checks, migration, uvicorn on a socket we own, with the
connection bounds of :mod:`jobtui.agent.guard`."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import sys
from collections.abc import Callable

import uvicorn

from jobtui.agent import guard
from jobtui.agent.api import create_app, is_loopback
from jobtui.agent.db import shown
from jobtui.agent.service import Agent
from jobtui.agent.store import JobStore
from jobtui.config import Config

log = logging.getLogger("jobtui.agent")


class ServeError(Exception):
    """A reason the agent cannot start; one line for the person who started it."""


def check_bind(config: Config, host: str) -> None:
    cfg = config.agent
    if cfg.read_token or cfg.admin_token or is_loopback(host):
        return
    if not cfg.insecure_no_auth:
        raise ServeError(
            f"refusing to listen on {host} without tokens: set JOBTUI_ADMIN_TOKEN and "
            "JOBTUI_READ_TOKEN (or agent.admin_token / agent.read_token), or pass "
            "--insecure-no-auth if this network is trusted"
        )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, Nagle holds a response's body until the
    # client's delayed ACK (40 ms) on every keep-alive request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(guard.BACKLOG)
    sock.set_inheritable(True)
    return sock


def open_store(config: Config, stats_bucket: int = 60) -> JobStore:
    """Open and migrate the job store, or raise ServeError saying why not."""
    from jobtui.agent.db import DatabaseURLError
    from jobtui.agent.store import StoreUnavailable

    try:
        store = JobStore(config.agent.database, stats_bucket=stats_bucket)
    except DatabaseURLError as exc:
        raise ServeError(str(exc)) from None
    try:
        store.migrate()
    except StoreUnavailable as exc:
        store.close()
        raise ServeError(f"cannot open database {shown(config.agent.database)}: {exc}") from None
    return store


def serve(
    config: Config,
    *,
    host: str,
    port: int,
    agent_factory: Callable[[JobStore, Config], Agent] | None = None,
    stats_bucket: int = 60,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Run until interrupted. ``announce`` receives the URL once the socket listens."""
    check_bind(config, host)
    sock = bind(host, port)
    store = open_store(config, stats_bucket)
    agent = (agent_factory or Agent)(store, config)
    app = create_app(agent, listen_host=host)
    shown_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    url = f"http://{shown_host}:{sock.getsockname()[1]}"
    limits = config.agent.http
    room = guard.connection_room(limits.max_connections)
    if limits.max_connections and room < limits.max_connections:
        log.warning(
            "agent.http.max_connections %d lowered to %d: the open-file limit is %d",
            limits.max_connections,
            room,
            guard.open_file_limit(),
        )
    limits = dataclasses.replace(limits, max_connections=room)
    uv = uvicorn.Config(
        app,
        http=guard.protocol_class(limits),
        ws="none",  # no WebSocket endpoint: an Upgrade request is answered as plain HTTP
        log_level="warning",
        access_log=False,
        lifespan="on",
        backlog=guard.BACKLOG,
        timeout_keep_alive=limits.idle_timeout,  # type: ignore[arg-type]  # typed int; a float works
        timeout_graceful_shutdown=3,
        server_header=False,
    )
    server = uvicorn.Server(uv)
    (announce or _print)(url)

    async def run() -> None:
        asyncio.get_running_loop().set_exception_handler(guard.accept_errors(guard.Throttle(log)))
        await server.serve(sockets=[sock])

    try:
        asyncio.run(run())
    finally:
        store.close()
        sock.close()


def _print(url: str) -> None:
    print(f"jobtui agent listening on {url}", flush=True)
    sys.stdout.flush()
