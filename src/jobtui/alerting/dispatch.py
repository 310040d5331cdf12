"""Delivery: one worker per notifier, so a slow or failing receiver never holds up the poll
loop or the other notifiers.

Each worker sends its batches in order, at most one per ``min_interval``; a failure is retried
with exponential backoff (``backoff``, doubling, capped at ``max_backoff``) up to ``attempts``
times, or after the receiver's ``Retry-After``; a permanent error (bad token, unknown channel)
is not retried. A batch that cannot be delivered is logged and left due: the next poll after a
cool-down of ``max_backoff`` tries again, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence

from jobtui.alerting.config import NotifierConfig
from jobtui.alerting.message import Batch, Item
from jobtui.alerting.notifiers.base import Notifier, NotifyError

log = logging.getLogger("jobtui.watch")

Delivered = Callable[[str, tuple[Item, ...]], None]


async def send_once(n: Notifier, batch: Batch) -> tuple[str, str | None]:
    """One attempt, no retry (``watch --test``, an incident's alerts): (name, error or None)."""
    try:
        await asyncio.wait_for(n.send(batch), n.config.delivery.timeout + 5)
        return n.config.name, None
    except TimeoutError:
        return n.config.name, "no answer in time"
    except Exception as exc:  # NotifyError, or a bug: one line either way
        return n.config.name, str(exc) or type(exc).__name__


async def send_each(
    configs: Iterable[NotifierConfig], batch: Batch
) -> list[tuple[str, str | None]]:
    """One attempt through each notifier, all at once, each closed after (an incident's
    alerts, a log report): (name, error or None) for each."""
    from jobtui.alerting.notifiers import build

    async def one(n: Notifier) -> tuple[str, str | None]:
        try:
            return await send_once(n, batch)
        finally:
            await n.aclose()

    return list(await asyncio.gather(*(one(build(c)) for c in configs)))


class Dispatcher:
    def __init__(
        self,
        notifiers: Sequence[Notifier],
        on_delivered: Delivered,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.notifiers = {n.config.name: n for n in notifiers}
        self.on_delivered = on_delivered
        self.sleep = sleep
        self.clock = clock
        self.failures = 0  # batches given up on
        self.delivered = 0
        self._queues: dict[str, asyncio.Queue[Batch]] = {}
        self._busy: dict[str, set[str]] = {name: set() for name in self.notifiers}
        self._next_send: dict[str, float] = dict.fromkeys(self.notifiers, 0.0)
        self._cool_until: dict[str, float] = dict.fromkeys(self.notifiers, 0.0)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for name in self.notifiers:
            self._queues[name] = asyncio.Queue()
            self._tasks.append(asyncio.create_task(self._worker(name), name=f"notify-{name}"))

    def busy(self, name: str) -> set[str]:
        """The rules queued or on their way to this notifier."""
        return self._busy[name]

    def ready(self, name: str) -> bool:
        """False while a notifier cools down after a batch it could not deliver."""
        return self.clock() >= self._cool_until[name]

    def submit(self, name: str, batch: Batch) -> None:
        self._busy[name].update(i.rule for i in batch.items)
        self._queues[name].put_nowait(batch)

    async def join(self, timeout: float | None = None) -> bool:
        """Wait until every queue is empty; False if ``timeout`` passed first."""
        waits = [q.join() for q in self._queues.values()]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for n in self.notifiers.values():
            with contextlib.suppress(Exception):
                await n.aclose()

    # ------------------------------------------------------------------ the workers

    async def _worker(self, name: str) -> None:
        queue = self._queues[name]
        while True:
            batch = await queue.get()
            try:
                if await self.deliver(name, batch):
                    self.delivered += 1
                    try:
                        self.on_delivered(name, batch.items)
                    except Exception as exc:  # e.g. the state file: log, keep delivering
                        log.error("notifier %s: sent, but cannot record it: %s", name, exc)
                else:
                    self.failures += 1
                    cfg = self.notifiers[name].config.delivery
                    self._cool_until[name] = self.clock() + cfg.max_backoff
            finally:
                self._busy[name].difference_update(i.rule for i in batch.items)
                queue.task_done()

    async def deliver(self, name: str, batch: Batch) -> bool:
        """Send with rate limit, retries and backoff; True once delivered."""
        notifier = self.notifiers[name]
        d = notifier.config.delivery
        what = f"{len(batch.items)} alert{'s' if len(batch.items) != 1 else ''}"
        error = NotifyError("not sent")
        for attempt in range(1, d.attempts + 1):
            wait = self._next_send[name] - self.clock()
            if wait > 0:
                await self.sleep(wait)
            self._next_send[name] = self.clock() + d.min_interval
            try:
                await asyncio.wait_for(notifier.send(batch), d.timeout + 5)
                log.info("notifier %s: sent %s (%s)", name, batch.subject, what)
                return True
            except NotifyError as exc:
                error = exc
            except TimeoutError:
                error = NotifyError(f"no answer within {d.timeout + 5:g} s")
            except Exception as exc:  # a bug in a notifier must not stop the others
                error = NotifyError(f"unexpected error: {type(exc).__name__}: {exc}")
            if error.permanent or attempt == d.attempts:
                break
            delay = min(d.max_backoff, d.backoff * 2 ** (attempt - 1))
            if error.retry_after is not None:
                if error.retry_after > d.max_retry_after:
                    log.warning(
                        "notifier %s: asked to wait %.0f s (more than max_retry_after)",
                        name,
                        error.retry_after,
                    )
                    break
                delay = error.retry_after
                self._next_send[name] = self.clock() + delay
            log.warning(
                "notifier %s: attempt %d/%d failed: %s; retrying in %.3g s",
                name,
                attempt,
                d.attempts,
                error,
                delay,
            )
            await self.sleep(delay)
        why = "permanent error" if error.permanent else f"{attempt} attempt(s)"
        log.error(
            "notifier %s: could not send %s (%s): %s; will try again after %.3g s",
            name,
            what,
            why,
            error,
            d.max_backoff,
        )
        return False
