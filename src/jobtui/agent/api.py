"""HTTP: the contract's routes over :class:`~jobtui.agent.service.Agent`, with auth.

Every error is JSON ``{"error": "..."}`` with a fitting status; nothing leaks a traceback.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobtui.agent import openapi
from jobtui.agent.backups import BackupError, NoSuchBackup
from jobtui.agent.prom import render_metrics
from jobtui.agent.service import Agent, Unprocessable
from jobtui.agent.store import BadCursor, BadQuery, Conflict, StoreUnavailable
from jobtui.config import Secret
from jobtui.contract import (
    JOB_STATUSES,
    BulkRequest,
    ShapeError,
    camel,
    decode,
    encode,
    utcnow,
)
from jobtui.logs import HTTP

log = logging.getLogger("jobtui.http")

MAX_HOURS = 168
MAX_BULK_LIMIT = 1_000_000
BULK_FIELDS = frozenset(camel(f) for f in BulkRequest.__dataclass_fields__)


class BadRequest(Exception):
    pass


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(encode(data), status_code=status)


def error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise BadRequest(f"invalid {name}: expected a whole number from {lo} to {hi}, got {raw!r}")
    return value


def text_param(request: Request, name: str, max_len: int) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > max_len:
        raise BadRequest(f"invalid {name}: longer than {max_len} characters")
    return raw


async def bulk_request(request: Request) -> BulkRequest:
    """The body of ``POST /api/jobs/bulk``; an unknown field is refused, not ignored (a
    misspelt ``dryRun`` must not become a real run)."""
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("invalid body: expected a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("invalid body: expected a JSON object")
    unknown = sorted(set(body) - BULK_FIELDS)
    if unknown:
        raise BadRequest(f"invalid body: unknown field {unknown[0]!r}")
    try:
        req = decode(BulkRequest, body, "body")
    except ShapeError as exc:
        raise BadRequest(f"invalid {exc}") from None
    for name, value, most in (
        ("type", req.type, 100),
        ("q", req.q, 200),
        ("category", req.category, 100),
    ):
        if value is not None and not 0 < len(value) <= most:
            raise BadRequest(f"invalid body.{name}: expected 1 to {most} characters")
    if req.hours is not None and not 1 <= req.hours <= MAX_HOURS:
        raise BadRequest(f"invalid body.hours: expected a whole number from 1 to {MAX_HOURS}")
    if req.limit is not None and not 1 <= req.limit <= MAX_BULK_LIMIT:
        raise BadRequest(
            f"invalid body.limit: expected a whole number from 1 to {MAX_BULK_LIMIT:,}"
        )
    return req


Handler = Callable[[Request], Awaitable[Response]]


def create_app(agent: Agent) -> Starlette:
    """The ASGI app. Its lifespan starts and stops the agent's background loops."""

    def guarded(fn: Callable[[Request], Awaitable[Response]]) -> Handler:
        async def handler(request: Request) -> Response:
            try:
                return await fn(request)
            except BadRequest as exc:
                return error(str(exc), 400)
            except Unprocessable as exc:
                return error(str(exc), 422)
            except BadCursor as exc:
                return error(f"{exc}: use the nextCursor of a previous page", 400)
            except BadQuery as exc:
                return error(str(exc), 400)
            except StoreUnavailable as exc:
                log.error("Database connection failed: %s", exc)
                return error("Database connection failed", 503)
            except NoSuchBackup as exc:
                return error(str(exc), 404)
            except BackupError as exc:
                log.error("%s", exc)
                return error(str(exc), 422)

        return handler

    async def health(request: Request) -> Response:
        h, status = await agent.health()
        return _json(h, status)

    async def metrics(request: Request) -> Response:
        latest = request.query_params.get("latest")
        if latest not in (None, "", "true", "false"):
            raise BadRequest(f"invalid latest: expected true or false, got {latest!r}")
        if latest == "true":
            sample = await agent.run(agent.store.latest_sample)
            if sample is None:
                return error("No metrics available", 404)
            return _json(sample)
        hours = int_param(request, "hours", 24, 1, MAX_HOURS)
        return _json(await agent.history(hours))

    async def jobs(request: Request) -> Response:
        status = text_param(request, "status", 20)
        if status is not None and status not in JOB_STATUSES:
            raise BadRequest(f"invalid status: expected one of {'|'.join(JOB_STATUSES)}")
        page, cursor = await agent.run(
            lambda: agent.store.jobs_page(
                status=status,
                type=text_param(request, "type", 100),
                q=text_param(request, "q", 200),
                limit=int_param(request, "limit", 50, 1, 500),
                cursor=text_param(request, "cursor", 500),
            )
        )
        return JSONResponse({"jobs": encode(page), "nextCursor": cursor})

    async def job(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        found = await agent.run(agent.store.get_job, job_id)
        return _json(found) if found else error(f"job {job_id} not found", 404)

    def transition(name: str) -> Handler:
        async def handler(request: Request) -> Response:
            job_id = request.path_params["job_id"]
            fn = getattr(agent.store, name)
            try:
                changed = await agent.run(fn, job_id, utcnow())
            except KeyError:
                return error(f"job {job_id} not found", 404)
            except Conflict as exc:
                return error(str(exc), 409)
            log.info("Job %s: %s by operator", job_id, name)
            return _json(changed)

        return handler

    async def bulk(request: Request) -> Response:
        return _json(await agent.bulk(await bulk_request(request)))

    async def errors(request: Request) -> Response:
        return _json(await agent.errors(int_param(request, "hours", 24, 1, MAX_HOURS)))

    async def admin_check(request: Request) -> Response:
        return JSONResponse({"admin": True})

    async def recovery(request: Request) -> Response:
        result = await agent.recovery()
        return _json(result, 200 if result.success else 500)

    async def recover_stuck(request: Request) -> Response:
        return _json(await agent.recover_stuck())

    async def backups_list(request: Request) -> Response:
        return _json(await agent.run(agent.backups.list))

    async def backup_create(request: Request) -> Response:
        result = await agent.run(agent.backups.create)
        log.info("Backup %s: %d jobs, %d bytes", result.name, result.jobs, result.size)
        return _json(result, 201)

    async def backup_restore(request: Request) -> Response:
        dry = request.query_params.get("dryRun", "false")
        if dry not in ("true", "false"):
            raise BadRequest(f"invalid dryRun: expected true or false, got {dry!r}")
        return _json(await agent.restore(request.path_params["name"], dry_run=dry == "true"))

    async def backups_prune(request: Request) -> Response:
        raw = request.query_params.get("olderThanDays", "7")
        try:
            days = float(raw)
        except ValueError:
            days = -1.0
        if not 0 <= days <= 3650:
            raise BadRequest(f"invalid olderThanDays: expected a number of days, got {raw!r}")
        result = await agent.run(agent.backups.prune, timedelta(days=days))
        return _json(result)

    async def prometheus(request: Request) -> Response:
        body, ctype = await render_metrics(agent)
        return Response(body, media_type=ctype)

    async def spec(request: Request) -> Response:
        return JSONResponse(openapi.spec())

    routes = [
        Route("/api/jobs/health", guarded(health), methods=["GET"]),
        Route("/api/monitoring/metrics", guarded(metrics), methods=["GET"]),
        Route("/api/monitoring/errors", guarded(errors), methods=["GET"]),
        Route("/api/jobs", guarded(jobs), methods=["GET"]),
        Route("/api/jobs/bulk", guarded(bulk), methods=["POST"]),
        Route("/api/jobs/{job_id}", guarded(job), methods=["GET"]),
        Route("/api/jobs/{job_id}/retry", guarded(transition("retry")), methods=["POST"]),
        Route("/api/jobs/{job_id}/cancel", guarded(transition("cancel")), methods=["POST"]),
        Route("/api/admin/check", admin_check, methods=["GET"]),
        Route("/api/admin/recovery", guarded(recovery), methods=["POST"]),
        Route("/api/admin/recover-stuck", guarded(recover_stuck), methods=["POST"]),
        Route("/api/admin/backups", guarded(backups_list), methods=["GET"]),
        Route("/api/admin/backups", guarded(backup_create), methods=["POST"]),
        Route("/api/admin/backups", guarded(backups_prune), methods=["DELETE"]),
        Route("/api/admin/backups/{name}/restore", guarded(backup_restore), methods=["POST"]),
        Route("/metrics", guarded(prometheus), methods=["GET"]),
        Route("/openapi.json", spec, methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        text = {404: "not found", 405: "method not allowed"}.get(exc.status_code, exc.detail)
        return error(f"{text}: {request.method} {request.url.path}", exc.status_code)

    async def crash(request: Request, exc: Exception) -> Response:
        rid = request.scope.get("request_id", "?")
        log.exception("Unhandled error in %s %s [%s]", request.method, request.url.path, rid)
        return error(f"internal error (request id {rid})", 500)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await agent.start()
        try:
            yield
        finally:
            await agent.stop()

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: crash},
        lifespan=lifespan,
    )
    cfg = agent.cfg
    app.add_middleware(
        AuthMiddleware,
        read=cfg.read_token,
        admin=cfg.admin_token,
        public_health=cfg.public_health,
    )
    app.add_middleware(RequestIdMiddleware)
    return app


# --------------------------------------------------------------------------- middleware

_RID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Give every request an ``X-Request-ID`` (the caller's, when sane) and log it with the
    method, path, status and duration. Headers other than the id are never logged."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                rid = value.decode("latin-1")
                break
        if not _RID.match(rid):
            rid = uuid.uuid4().hex
        scope["request_id"] = rid
        start = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(HTTP):
                ms = (time.perf_counter() - start) * 1000
                log.log(
                    HTTP, "[%s] %s %s %d %.1fms", rid, scope["method"], scope["path"], status, ms
                )


class AuthMiddleware:
    """Bearer tokens: reads need the read (or admin) token, writes and /api/admin/* the admin
    one. With no token configured everything is open (the server then binds loopback only)."""

    def __init__(
        self, app: ASGIApp, *, read: Secret | None, admin: Secret | None, public_health: bool
    ):
        self.app = app
        self.read = read.encode() if read else None
        self.admin = admin.encode() if admin else None
        self.public_health = public_health

    def required(self, method: str, path: str) -> str | None:
        if not (self.read or self.admin) or path == "/openapi.json":
            return None
        if path == "/api/jobs/health" and self.public_health:
            return None
        if path.startswith("/api/admin/") or method not in ("GET", "HEAD"):
            return "admin"
        return "read"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        need = self.required(scope["method"], scope["path"])
        if need is not None:
            given = b""
            for key, value in scope["headers"]:
                if key == b"authorization":
                    scheme, _, token = value.partition(b" ")
                    if scheme.lower() == b"bearer":
                        given = token.strip()
                    break
            is_admin = bool(self.admin and given and hmac.compare_digest(given, self.admin))
            is_read = is_admin or bool(
                self.read and given and hmac.compare_digest(given, self.read)
            )
            if need == "admin" and not is_admin:
                if is_read:
                    await error("forbidden: this needs the admin token", 403)(scope, receive, send)
                else:
                    await _unauthorized(scope, receive, send)
                return
            if need == "read" and not is_read:
                await _unauthorized(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _unauthorized(scope: Scope, receive: Receive, send: Send) -> None:
    resp = error("unauthorized: send Authorization: Bearer <token>", 401)
    resp.headers["WWW-Authenticate"] = "Bearer"
    await resp(scope, receive, send)
