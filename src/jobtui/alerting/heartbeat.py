"""The watcher's own heartbeat: a GET of ``watch.heartbeat_url`` after every evaluation, as
healthchecks.io or an Uptime Kuma push monitor take it, so a watcher that died (or hangs) is
itself noticed: that monitor alerts when the pings stop.

A ping never delays or stops the watcher: it runs beside the polls with a short timeout, and
one still under way when the next is due is not doubled. A failure (no connection, no answer
in time, a status other than 2xx) is one line in the log when it starts and one when pings
answer again. Such URLs carry their secret in the path or query: only ``host:port`` is named.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from jobtui.literal import address

log = logging.getLogger("jobtui.watch")
TIMEOUT = 5.0  # seconds per ping


class Heartbeat:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.url = url
        self.shown = address(url)
        self.timeout = timeout
        self.failing = False
        self.pings = self.failures = 0
        self._task: asyncio.Task[None] | None = None
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": "jobtui watch"},
            follow_redirects=False,
            transport=transport,
        )

    def ping(self) -> None:
        """Send a ping in the background, unless the last one is still under way."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._ping())

    async def _ping(self) -> None:
        self.pings += 1
        problem = None
        try:
            resp = await self._http.get(self.url)
            if not resp.is_success:
                problem = f"HTTP {resp.status_code}"
        except httpx.TimeoutException:
            problem = f"no answer within {self.timeout:g} s"
        except httpx.HTTPError as exc:
            text = str(exc).strip().replace(self.url, self.shown)
            problem = text.splitlines()[0][:200] if text else type(exc).__name__
        if problem is None:
            if self.failing:
                log.info("heartbeat to %s answers again", self.shown)
            self.failing = False
            return
        self.failures += 1
        if not self.failing:
            log.warning("heartbeat to %s failed: %s (the watcher goes on)", self.shown, problem)
        self.failing = True

    async def aclose(self) -> None:
        """Wait for a ping under way (at most its timeout), then close."""
        if self._task is not None:
            await asyncio.wait([self._task])
        await self._http.aclose()
