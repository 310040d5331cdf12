"""What every notifier shares: the error it raises and an HTTP helper for JSON receivers."""

from __future__ import annotations

import email.utils
import json
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from jobtui.alerting.config import NotifierConfig
from jobtui.alerting.message import Batch


class NotifyError(Exception):
    """A failed delivery. ``str()`` is one line without secrets; ``permanent``: retrying the
    same message now will not help (bad token, unknown channel); ``retry_after``: the receiver
    asked us to wait that many seconds (HTTP 429)."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Notifier(Protocol):
    @property
    def config(self) -> NotifierConfig:
        """Read-only here, so each notifier may keep its own kind of config."""
        ...

    async def send(self, batch: Batch) -> None:
        """Deliver one batch, or raise :class:`NotifyError`."""

    async def aclose(self) -> None: ...


class JSONPoster:
    """POSTs JSON with one pooled HTTP client, turning every failure into a :class:`NotifyError`
    whose message never contains the URL (it is often the secret)."""

    def __init__(self, timeout: float, headers: dict[str, str] | None = None):
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": "jobtui", **(headers or {})},
            follow_redirects=False,
        )

    async def post(
        self, url: str, body: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        data = json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        try:
            resp = await self.http.post(url, content=data, headers=hdrs)
        except httpx.TimeoutException:
            raise NotifyError("no answer in time") from None
        except httpx.HTTPError as exc:
            raise NotifyError(f"cannot connect: {_reason(exc)}") from None
        if resp.status_code == 429:
            after = retry_after(resp.headers.get("Retry-After"))
            raise NotifyError("rate limited (429)", retry_after=after if after is not None else 1.0)
        if resp.status_code >= 300:
            detail = resp.text.strip().splitlines()[0][:120] if resp.text.strip() else ""
            text = f"HTTP {resp.status_code}{': ' + detail if detail else ''}"
            # 4xx (but 408) means this request will never work; 5xx and 3xx may pass later
            permanent = 400 <= resp.status_code < 500 and resp.status_code != 408
            raise NotifyError(text, permanent=permanent)
        return resp

    async def aclose(self) -> None:
        await self.http.aclose()


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    if text.startswith("[Errno") and "] " in text:
        text = text.split("] ", 1)[1]
    return text.splitlines()[0][:160]
