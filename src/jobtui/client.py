"""The async HTTP client of the contract, shared by the dashboard and every command.

Every call returns a typed contract object or raises a :class:`ClientError` subclass whose
``str()`` is one line a person can act on. Tokens travel only in the ``Authorization``
header and never appear in a message; TLS is verified.
"""

from __future__ import annotations

import json
import ssl
import sys
import time
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote, unquote, urlsplit

from jobtui.contract import (
    BackupList,
    BackupResult,
    BulkRequest,
    BulkResult,
    ErrorsReport,
    Health,
    Job,
    JobsPage,
    MetricsHistory,
    PerformanceMetrics,
    PruneResult,
    RecoverStuckResult,
    RecoveryResult,
    RestoreResult,
    ShapeError,
    decode,
    encode,
)
from jobtui.errors import (
    HTTPError,
    InvalidURL,
    NotFound,
    NotJSON,
    NotProvided,
    ReadOnly,
    TimedOut,
    Unauthorized,
    Unreachable,
    WrongShape,
)
from jobtui.literal import safe_url

# httpx imports its command-line tool (click, rich.progress) with itself: ≈40 ms at every
# start that jobtui never uses. ``None`` in sys.modules makes that import fail, which httpx
# expects (it is an optional extra) and handles.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
import httpx  # noqa: E402

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Timed(Generic[T]):
    """An answer with the time the request took, in seconds."""

    value: T
    seconds: float
    status: int = 200  # the HTTP status (health's 503 is an answer too)


def check_url(url: str) -> str:
    """Normalise a base URL or raise :class:`InvalidURL` saying what is wrong."""
    if not url.strip():
        raise InvalidURL("empty URL: expected http://host[:port] or https://…")
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise InvalidURL(f"invalid URL {safe_url(url)!r}: bad host") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidURL(f"invalid URL {safe_url(url)!r}: expected http://host[:port] or https://…")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise InvalidURL(f"invalid URL {safe_url(url)!r}: bad port") from None
    return url.strip().rstrip("/")


def _tls(url: str) -> ssl.SSLContext | bool:
    """TLS verification for ``url``: always on. A plain ``http://`` server never handshakes
    (redirects are not followed), so it gets a verifying context without the CA bundle, whose
    loading costs ≈40 ms at start-up."""
    if urlsplit(url).scheme == "https":
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and hostname checks


class Client:
    """One server. Use as ``async with Client(url, token) as c: await c.health()``.

    ``read_only``: every request that would change the server (anything but GET) raises
    :class:`ReadOnly` before it is sent; this is where ``--read-only`` is kept for every
    command. ``token_from`` says where the token came from (``JOBTUI_TOKEN``, a config key),
    for the message when the server refuses it; the token itself is never shown.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        read_only: bool = False,
        token_from: str | None = None,
    ):
        self.url = check_url(url)
        self.shown_url = safe_url(self.url)
        self.read_only = read_only
        self._token_from = (token_from or "the config") if token else None
        headers = {"Accept": "application/json", "User-Agent": "jobtui"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout),
            verify=_tls(self.url),
            transport=transport,
            follow_redirects=False,
        )
        self.timeout = timeout

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def refuse_writes(self, what: str) -> None:
        """Raise :class:`ReadOnly` when read-only: ``what`` would change the server."""
        if self.read_only:
            raise ReadOnly(f"read-only: {what} would change the server (run without --read-only)")

    # ------------------------------------------------------------------ transport

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        ok: tuple[int, ...] = (),
        optional: bool = False,
        item: bool = False,
    ) -> tuple[int, Any]:
        """Send, and return (status, JSON) for a 2xx or a status listed in ``ok``.

        ``optional``: the endpoint is one of ours, which a server may lack; a 404 then means
        :class:`NotProvided`, except on an ``item`` endpoint (one job) where a JSON error
        means that the item does not exist (:class:`NotFound`).
        """
        what = f"{method} {unquote(path)}"  # a job's id as it reads, not URL-encoded
        if method != "GET":
            self.refuse_writes(what)
        params = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            resp = await self._http.request(method, path, params=params, json=body)
        except httpx.TimeoutException:
            raise TimedOut(f"{self.shown_url}{path}: no answer within {self.timeout:g} s") from None
        except httpx.ConnectError as exc:
            raise Unreachable(f"cannot connect to {self.shown_url}: {self._why(exc)}") from None
        except httpx.HTTPError as exc:
            raise Unreachable(f"{what} to {self.shown_url} failed: {_reason(exc)}") from None
        status = resp.status_code
        if 200 <= status < 300:
            return status, self._json(resp, what)
        if status in ok:  # e.g. health's 503, which has a body only when it is the contract's
            try:
                return status, self._json(resp, what)
            except NotJSON:
                raise HTTPError(f"{what} → {status} {resp.reason_phrase}", status) from None
        detail = _error_detail(resp)
        if status in (401, 403):
            raise Unauthorized(self._refused(status, what), status)
        if status == 404:
            if optional and not (item and detail):
                raise NotProvided(f"{what}: not provided by this server", status)
            raise NotFound(f"{what}: {detail or 'not found'}", status)
        reason = resp.reason_phrase or "error"
        raise HTTPError(f"{what} → {status} {reason}{': ' + detail if detail else ''}", status)

    def _why(self, exc: httpx.ConnectError) -> str:
        """What a person can do about a failed connection: a refused port, a TLS handshake
        with a plain-HTTP server; else the system's own words."""
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError):
                return "nothing listens: agent down?"  # short: the dashboard shows it in one line
            if isinstance(cause, ssl.SSLError) and _plain_http(str(cause), self.url):
                plain = "http" + self.shown_url[len("https") :]
                return f"TLS handshake failed: the server speaks plain HTTP? (try {plain})"
            cause = cause.__cause__ or cause.__context__
        return _reason(exc)

    def _refused(self, status: int, what: str) -> str:
        """401/403, naming where the token came from (never the token)."""
        if self._token_from is None:
            hint = "set JOBTUI_TOKEN" if status == 401 else "this needs the admin token"
            word = "unauthorized" if status == 401 else "forbidden"
            return f"{word} ({status}) on {what}: {hint}"
        if status == 401:
            return f"the server refused the token from {self._token_from} (401) on {what}"
        return (
            f"forbidden (403) on {what}: this needs the admin token, "
            f"and the token from {self._token_from} is not it"
        )

    def _json(self, resp: httpx.Response, what: str) -> Any:
        ctype = resp.headers.get("content-type", "").split(";")[0].strip() or "no content type"
        try:
            return json.loads(resp.content)
        except (ValueError, UnicodeDecodeError):
            if "json" in ctype:
                raise NotJSON(f"{what}: invalid or truncated JSON from {self.shown_url}") from None
            raise NotJSON(
                f"{what}: {self.shown_url} answered {ctype}, not JSON (is the URL right?)"
            ) from None

    def _shape(self, cls: type[T], data: Any, what: str) -> T:
        try:
            return decode(cls, data)
        except ShapeError as exc:
            raise WrongShape(f"{what}: unexpected answer: {exc}") from None

    # ------------------------------------------------------------------ the seed's endpoints

    async def health(self) -> Timed[Health]:
        """``GET /api/jobs/health``; a 503 with the contract's shape is an answer, not an error."""
        what = "GET /api/jobs/health"
        start = time.perf_counter()
        status, data = await self._request("GET", "/api/jobs/health", ok=(503,))
        try:
            health = self._shape(Health, data, what)
        except WrongShape:
            if status != 503:
                raise
            raise HTTPError(f"{what} → 503 Service Unavailable", 503) from None
        return Timed(health, time.perf_counter() - start, status)

    async def metrics_history(self, hours: int = 24) -> MetricsHistory:
        path = "/api/monitoring/metrics"
        _, data = await self._request("GET", path, params={"hours": hours})
        return self._shape(MetricsHistory, data, f"GET {path}")

    async def latest_metrics(self) -> PerformanceMetrics | None:
        """The newest sample, or ``None`` when the server has none yet (its 404)."""
        path = "/api/monitoring/metrics"
        try:
            _, data = await self._request("GET", path, params={"latest": "true"})
        except NotFound:
            return None
        return self._shape(PerformanceMetrics, data, f"GET {path}?latest=true")

    async def admin_check(self) -> None:
        """Raise :class:`Unauthorized` unless the token is an admin's."""
        await self._request("GET", "/api/admin/check")

    async def recovery(self) -> RecoveryResult:
        """The seed's system recovery: any 2xx is success. A 500 whose body says
        ``"success": false`` (jobtui's agent, when a step failed) is an answer too: its steps
        say which failed and which still ran."""
        what = "POST /api/admin/recovery"
        status, data = await self._request("POST", "/api/admin/recovery", ok=(500,))
        if status == 500 and not (isinstance(data, dict) and data.get("success") is False):
            error = data.get("error") if isinstance(data, dict) else None
            detail = f": {error[:200]}" if isinstance(error, str) and error else ""
            raise HTTPError(f"{what} → 500 Internal Server Error{detail}", 500)
        return self._shape(RecoveryResult, data if isinstance(data, dict) else {}, what)

    # ------------------------------------------------------------------ ours (optional)

    async def jobs(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        q: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobsPage:
        params = {"status": status, "type": type, "q": q, "limit": limit, "cursor": cursor}
        _, data = await self._request("GET", "/api/jobs", params=params, optional=True)
        return self._shape(JobsPage, data, "GET /api/jobs")

    async def job(self, job_id: str) -> Job:
        path = f"/api/jobs/{quote(job_id, safe='')}"
        _, data = await self._request("GET", path, optional=True, item=True)
        return self._shape(Job, data, f"GET {path}")

    async def retry_job(self, job_id: str) -> Job:
        path = f"/api/jobs/{quote(job_id, safe='')}/retry"
        _, data = await self._request("POST", path, optional=True, item=True)
        return self._shape(Job, data, f"POST {path}")

    async def cancel_job(self, job_id: str) -> Job:
        path = f"/api/jobs/{quote(job_id, safe='')}/cancel"
        _, data = await self._request("POST", path, optional=True, item=True)
        return self._shape(Job, data, f"POST {path}")

    async def bulk(self, request: BulkRequest) -> BulkResult:
        """``POST /api/jobs/bulk``. A server without it answers 404, or 405 where its route
        of one job (``/api/jobs/{id}``) takes the path: both are :class:`NotProvided`."""
        path = "/api/jobs/bulk"
        body = {k: v for k, v in encode(request).items() if v is not None}
        try:
            _, data = await self._request("POST", path, body=body, optional=True)
        except HTTPError as exc:
            if exc.status != 405:
                raise
            raise NotProvided(f"POST {path}: not provided by this server", 405) from None
        return self._shape(BulkResult, data, f"POST {path}")

    async def errors(self, hours: int = 24) -> ErrorsReport:
        path = "/api/monitoring/errors"
        _, data = await self._request("GET", path, params={"hours": hours}, optional=True)
        return self._shape(ErrorsReport, data, f"GET {path}")

    async def recover_stuck(self) -> RecoverStuckResult:
        path = "/api/admin/recover-stuck"
        _, data = await self._request("POST", path, optional=True)
        return self._shape(RecoverStuckResult, data, f"POST {path}")

    async def backups(self) -> BackupList:
        path = "/api/admin/backups"
        _, data = await self._request("GET", path, optional=True)
        return self._shape(BackupList, data, f"GET {path}")

    async def create_backup(self) -> BackupResult:
        path = "/api/admin/backups"
        _, data = await self._request("POST", path, optional=True)
        return self._shape(BackupResult, data, f"POST {path}")

    async def restore_backup(self, name: str, *, dry_run: bool = False) -> RestoreResult:
        path = f"/api/admin/backups/{quote(name, safe='')}/restore"
        params = {"dryRun": "true"} if dry_run else None
        _, data = await self._request("POST", path, params=params, optional=True, item=True)
        return self._shape(RestoreResult, data, f"POST {path}")

    async def prune_backups(self, older_than_days: float = 7) -> PruneResult:
        path = "/api/admin/backups"
        params = {"olderThanDays": f"{older_than_days:g}"}
        _, data = await self._request("DELETE", path, params=params, optional=True)
        return self._shape(PruneResult, data, f"DELETE {path}")


def _plain_http(ssl_error: str, url: str) -> bool:
    """The TLS error of an ``https://`` URL whose server answered in plain HTTP."""
    wrong = "WRONG_VERSION_NUMBER" in ssl_error or "record layer" in ssl_error
    return wrong and urlsplit(url).scheme == "https"


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    # httpx wraps OS errors as "[Errno 111] Connection refused": keep the words.
    if "] " in text and text.startswith("[Errno"):
        text = text.split("] ", 1)[1]
    return text.splitlines()[0][:200]


def _error_detail(resp: httpx.Response) -> str:
    """The server's own ``{"error": …}`` text, if it sent one."""
    try:
        data = json.loads(resp.content)
    except (ValueError, UnicodeDecodeError):
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    return error[:200] if isinstance(error, str) else ""
