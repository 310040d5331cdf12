"""HTTP: the contract's routes over :class:`~jobtui.agent.service.Agent`, with auth.

Every error is JSON ``{"error": "..."}`` with a fitting status; nothing leaks a traceback.
The layers, outermost first: :class:`HttpLayer` (request id, request log, any unhandled
exception as a JSON 500), :class:`LoopbackOnly` (only without tokens: DNS rebinding and
cross-site writes), :class:`AuthMiddleware` (tokens), then the routes. Everything logged here
has its control characters escaped (a request's path cannot forge a log line); every admin
action is one line of :mod:`jobtui.agent.audit`.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import StringConvertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.status import HTTP_405_METHOD_NOT_ALLOWED
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobtui.agent import audit, limits, openapi
from jobtui.agent.backups import BackupDiskFull, BackupError, NoSuchBackup
from jobtui.agent.prom import render_metrics
from jobtui.agent.sentry import Tracing
from jobtui.agent.service import Agent, Unprocessable
from jobtui.agent.store import BadCursor, BadQuery, Conflict, StoreBusy, StoreUnavailable
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
from jobtui.literal import printable
from jobtui.logs import HTTP

log = logging.getLogger("jobtui.http")


class _Printable(logging.Filter):
    """Every line of this logger with its control characters escaped: a path, header or
    parameter logged from a request stays on its one line (a newline is written ``\\n``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        shown = printable(message)
        if shown is not message:
            record.msg, record.args = shown, None
        return True


log.addFilter(_Printable())

RETRY_BUSY = 5  # seconds, the Retry-After of a 503 for a database locked by another writer
BULK_FIELDS = frozenset(camel(f) for f in BulkRequest.__dataclass_fields__)
TEXT_FIELDS = ("type", "q", "queue", "category")


class BadRequest(Exception):
    pass


class JobIdConvertor(StringConvertor):
    """A job's id as the last segment of ``/api/jobs/{id}``: any but ``bulk``, the bulk
    action's path (whose GET is a 405, not the look-up of a job of that name)."""

    regex = "(?!bulk$)[^/]+"


register_url_convertor("job_id", JobIdConvertor())


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
    except (ValueError, RecursionError):  # RecursionError: nested past the decoder's depth
        raise BadRequest("invalid body: expected a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("invalid body: expected a JSON object")
    unknown = sorted(set(body) - BULK_FIELDS)
    if unknown:
        raise BadRequest(f"invalid body: unknown field {unknown[0]!r}")
    if not isinstance(body.get("dryRun", False), bool):  # null is not read as false: a real run
        raise BadRequest("invalid body.dryRun: expected true or false")
    for name in TEXT_FIELDS:  # the decoder takes a number for text (ids of other servers)
        if body.get(name) is not None and not isinstance(body[name], str):
            raise BadRequest(f"invalid body.{name}: expected a string")
    try:
        req = decode(BulkRequest, body, "body")
    except ShapeError as exc:
        raise BadRequest(f"invalid {exc}") from None
    for name, value, most in (
        ("type", req.type, limits.MAX_TYPE),
        ("q", req.q, limits.MAX_Q),
        ("category", req.category, limits.MAX_CATEGORY),
    ):
        if value is not None and not 0 < len(value) <= most:
            raise BadRequest(f"invalid body.{name}: expected 1 to {most} characters")
    if req.hours is not None and not 1 <= req.hours <= limits.MAX_HOURS:
        raise BadRequest(
            f"invalid body.hours: expected a whole number from 1 to {limits.MAX_HOURS}"
        )
    if req.limit is not None and not 1 <= req.limit <= limits.MAX_BULK_LIMIT:
        raise BadRequest(
            f"invalid body.limit: expected a whole number from 1 to {limits.MAX_BULK_LIMIT:,}"
        )
    return req


Handler = Callable[[Request], Awaitable[Response]]


def create_app(agent: Agent, *, listen_host: str = "127.0.0.1") -> Starlette:
    """The ASGI app. Its lifespan starts and stops the agent's background loops.
    ``listen_host`` is the address the server listens on (without tokens, the ``Host``
    values it accepts depend on it: see :class:`LoopbackOnly`)."""

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
            except StoreBusy as exc:
                log.error("%s", exc)
                resp = error(f"{exc}; try again", 503)
                resp.headers["Retry-After"] = str(RETRY_BUSY)
                return resp
            except StoreUnavailable as exc:
                log.error("Database connection failed: %s", exc)
                return error("Database connection failed", 503)
            except NoSuchBackup as exc:
                return error(str(exc), 404)
            except BackupDiskFull as exc:
                log.error("%s", exc)
                return error(str(exc), 507)
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
        hours = int_param(request, "hours", 24, 1, limits.MAX_HOURS)  # checked even if latest
        if latest == "true":
            sample = await agent.run(agent.store.latest_sample)
            if sample is None:
                return error("No metrics available", 404)
            return _json(sample)
        return _json(await agent.history(hours))

    async def jobs(request: Request) -> Response:
        status = text_param(request, "status", 20)
        if status is not None and status not in JOB_STATUSES:
            raise BadRequest(f"invalid status: expected one of {'|'.join(JOB_STATUSES)}")
        page, cursor = await agent.run(
            lambda: agent.store.jobs_page(
                status=status,
                type=text_param(request, "type", limits.MAX_TYPE),
                q=text_param(request, "q", limits.MAX_Q),
                limit=int_param(request, "limit", limits.PAGE_DEFAULT, 1, limits.PAGE_LIMIT),
                cursor=text_param(request, "cursor", limits.MAX_CURSOR),
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
            audit.record(request.scope, name, {"job": job_id}, {"status": changed.status})
            return _json(changed)

        return handler

    async def bulk(request: Request) -> Response:
        req = await bulk_request(request)
        result = await agent.bulk(req)
        asked = {camel(f): getattr(req, f) for f in BulkRequest.__dataclass_fields__}
        del asked["action"]  # the action's name says it
        counts = {"matched": result.matched, "changed": result.changed, "skipped": result.skipped}
        audit.record(request.scope, f"bulk-{req.action}", asked, counts)
        return _json(result)

    async def errors(request: Request) -> Response:
        return _json(await agent.errors(int_param(request, "hours", 24, 1, limits.MAX_HOURS)))

    async def admin_check(request: Request) -> Response:
        return JSONResponse({"admin": True})

    async def recovery(request: Request) -> Response:
        result = await agent.recovery()
        counts = {"success": result.success, "backup": result.backup, "recovered": result.recovered}
        audit.record(request.scope, "recovery", {}, counts)
        return _json(result, 200 if result.success else 500)

    async def recover_stuck(request: Request) -> Response:
        result = await agent.recover_stuck()
        counts = {"recovered": result.recovered, "failed": result.failed}
        audit.record(request.scope, "recover-stuck", {}, counts)
        agent.report_event(
            f"Recovered {result.recovered} stuck jobs ({result.failed} failed)",
            "info",
            "recovery",
            **counts,
        )
        return _json(result)

    async def backups_list(request: Request) -> Response:
        return _json(await agent.run(agent.backups.list))

    async def backup_create(request: Request) -> Response:
        result = await agent.run(agent.backups.create)
        log.info("Backup %s: %d jobs, %d bytes", result.name, result.jobs, result.size)
        counts = {"name": result.name, "jobs": result.jobs, "bytes": result.size}
        audit.record(request.scope, "backup", {}, counts)
        agent.report_event(f"Backup created: {result.name}", "info", "backup", **counts)
        return _json(result, 201)

    async def backup_restore(request: Request) -> Response:
        dry = request.query_params.get("dryRun") or "false"
        if dry not in ("true", "false"):
            raise BadRequest(f"invalid dryRun: expected true or false, got {dry!r}")
        name = request.path_params["name"]
        result = await agent.restore(name, dry_run=dry == "true")
        counts = {"jobs": result.jobs, "inserted": result.inserted, "updated": result.updated}
        audit.record(request.scope, "restore", {"name": name, "dryRun": dry == "true"}, counts)
        return _json(result)

    async def backups_prune(request: Request) -> Response:
        raw = request.query_params.get("olderThanDays") or str(limits.PRUNE_DEFAULT_DAYS)
        try:
            days = float(raw)
        except ValueError:
            days = -1.0
        if not 0 <= days <= limits.MAX_PRUNE_DAYS:
            raise BadRequest(f"invalid olderThanDays: expected a number of days, got {raw!r}")
        result = await agent.run(agent.backups.prune, timedelta(days=days))
        counts = {"deleted": len(result.deleted), "kept": result.kept}
        audit.record(request.scope, "prune", {"olderThanDays": days}, counts)
        return _json(result)

    async def prometheus(request: Request) -> Response:
        body, ctype = await render_metrics(agent)
        return Response(body, media_type=ctype)

    async def spec(request: Request) -> Response:
        return JSONResponse(openapi.spec(agent.categories))

    routes = [
        Route("/api/jobs/health", guarded(health), methods=["GET"]),
        Route("/api/monitoring/metrics", guarded(metrics), methods=["GET"]),
        Route("/api/monitoring/errors", guarded(errors), methods=["GET"]),
        Route("/api/jobs", guarded(jobs), methods=["GET"]),
        Route("/api/jobs/bulk", guarded(bulk), methods=["POST"]),
        Route("/api/jobs/{job_id:job_id}", guarded(job), methods=["GET"]),
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
        resp = error(f"{text}: {request.method} {request.url.path}", exc.status_code)
        if exc.status_code == HTTP_405_METHOD_NOT_ALLOWED:
            # Every method of the path: it may have a route per method.
            path = request.scope["path"]
            methods = {m for r in routes if r.path_regex.match(path) for m in r.methods or ()}
            resp.headers["Allow"] = ", ".join(sorted(methods))
        return resp

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await agent.start()
        try:
            yield
        finally:
            await agent.stop()

    app = Starlette(
        routes=routes, exception_handlers={HTTPException: http_error}, lifespan=lifespan
    )
    # "/api/jobs/" is served as "/api/jobs" by HttpLayer: a redirect would name the Host the
    # request gave, whatever it is.
    app.router.redirect_slashes = False
    cfg = agent.cfg
    app.add_middleware(
        AuthMiddleware,
        read=cfg.read_token,
        admin=cfg.admin_token,
        public_health=cfg.public_health,
    )
    if not (cfg.read_token or cfg.admin_token):
        app.add_middleware(LoopbackOnly, any_address=not is_loopback(listen_host))

    def route_of(path: str) -> str:
        """A request's route, ``/api/jobs/{job_id}``: never the id itself."""
        found = next((r.path for r in routes if r.path_regex.match(path)), "(no route)")
        return _CONVERTOR.sub(r"{\1}", found)

    app.add_middleware(Tracing, reporter=lambda: agent.sentry, route_of=route_of)
    app.add_middleware(HttpLayer)
    return app


# --------------------------------------------------------------------------- middleware

_RID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_CONVERTOR = re.compile(r"\{(\w+):\w+\}")  # {job_id:job_id} -> {job_id}


async def _refuse_scope(scope: Scope, receive: Receive, send: Send) -> None:
    """A connection that is not HTTP (a WebSocket from a server that offers them): closed
    before it is accepted, whatever its path: no route, and no auth, is written for it."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})


class HttpLayer:
    """The outermost layer. Gives every request an ``X-Request-ID`` (the caller's, when sane)
    and logs it with the method, path, status and duration (headers other than the id are
    never logged); serves ``/path/`` as ``/path``; turns any unhandled exception into one
    logged error (its traceback once) and a JSON 500 that carries the request id, on a
    connection that stays usable. Scopes other than HTTP and lifespan are refused."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await _refuse_scope(scope, receive, send)
            return
        rid = ""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                rid = value.decode("latin-1")
                break
        if not _RID.match(rid):
            rid = uuid.uuid4().hex
        path = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
        scope["request_id"] = rid
        start = time.perf_counter()
        status = 0
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            pass  # gone before its body was read, or its body refused (guard's 413): no answer
        except Exception:
            log.exception("Unhandled error in %s %s [%s]", scope["method"], path, rid)
            if not started:
                resp = error(f"internal error (request id {rid})", 500)
                await resp(scope, receive, send_with_id)
            # else: the response is cut short; the server closes the connection.
        finally:
            if log.isEnabledFor(HTTP):
                ms = (time.perf_counter() - start) * 1000
                log.log(HTTP, "[%s] %s %s %d %.1fms", rid, scope["method"], path, status, ms)


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(authority: str) -> str | None:
    """The host of a ``Host`` header value (``name``, ``name:port``, ``[v6]:port``), or None
    when it is not one."""
    authority = authority.strip()
    if authority.startswith("["):
        name, sep, rest = authority[1:].partition("]")
        port = rest.removeprefix(":") if sep else "x"
        if rest and not rest.startswith(":"):
            return None
    else:
        name, _, port = authority.partition(":")
    if port and not port.isdigit():
        return None
    return name or None


def _authority(value: str, scheme: str) -> str:
    value = value.lower()
    default = ":443" if scheme == "https" else ":80"
    return value.removesuffix(default)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoopbackOnly:
    """With no token configured, anything that can reach the agent may drive it; so only its
    own machine may. A ``Host`` that is not a loopback name (``localhost``, ``127.0.0.1``,
    ``[::1]``, any port) is refused, which defeats DNS rebinding (a web page whose name was
    made to resolve to 127.0.0.1); and so is a write from another site (a ``Sec-Fetch-Site``
    of ``cross-site`` or ``same-site``, or an ``Origin`` that is not the ``Host``), which a
    web page can send without reading the answer. Both with 403.

    ``any_address``: the agent listens beyond loopback without tokens (``--insecure-no-auth``);
    then an IP address and this machine's own names are accepted as ``Host`` too (a rebinding
    page's name is neither)."""

    def __init__(self, app: ASGIApp, *, any_address: bool = False):
        self.app = app
        self.any_address = any_address
        self.names = {socket.gethostname().lower(), socket.getfqdn().lower()}

    def host_ok(self, name: str) -> bool:
        if is_loopback(name):
            return True
        if not self.any_address:
            return False
        if name.lower().rstrip(".") in self.names:
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = origin = fetch_site = None
        for key, value in scope["headers"]:
            if key == b"host":
                host = value.decode("latin-1")
            elif key == b"origin":
                origin = value.decode("latin-1")
            elif key == b"sec-fetch-site":
                fetch_site = value.decode("latin-1").strip().lower()
        if host is not None:
            name = _host_name(host)
            if name is None or not self.host_ok(name):
                await error(
                    "forbidden: without tokens this agent answers only requests to its "
                    "loopback address (Host localhost, 127.0.0.1 or [::1])",
                    403,
                )(scope, receive, send)
                return
        if scope["method"] not in SAFE_METHODS and self.cross_site(host, origin, fetch_site):
            await error(
                "forbidden: a request from another site cannot change this agent "
                "(set tokens to allow remote clients)",
                403,
            )(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def cross_site(host: str | None, origin: str | None, fetch_site: str | None) -> bool:
        if fetch_site in ("cross-site", "same-site"):
            return True
        if origin is None:
            return False
        scheme, sep, authority = origin.strip().partition("://")
        if not sep or host is None:
            return True  # "null" (a sandboxed page, a file) or no Host to compare with
        scheme = scheme.lower()
        return _authority(authority, scheme) != _authority(host.strip(), scheme)


class AuthMiddleware:
    """Bearer tokens: reads need the read (or admin) token, writes and /api/admin/* the admin
    one. With no token configured everything is open (the server then binds loopback only).
    The class of the token a request gave is ``scope["token_class"]`` (none without tokens)."""

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
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await _refuse_scope(scope, receive, send)
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
            scope["token_class"] = "admin" if is_admin else "read"  # for the audit lines
        await self.app(scope, receive, send)


async def _unauthorized(scope: Scope, receive: Receive, send: Send) -> None:
    resp = error("unauthorized: send Authorization: Bearer <token>", 401)
    resp.headers["WWW-Authenticate"] = "Bearer"
    await resp(scope, receive, send)
