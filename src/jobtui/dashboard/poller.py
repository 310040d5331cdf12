"""Polling, off the UI thread: the client runs on its own asyncio loop in its own thread.

Each feed (health, metrics, jobs, …) is one task that asks, waits its interval, asks again:
a feed never overlaps itself. On failure it retries with a backoff that doubles from its
interval up to 30 s; a feed that works again wakes the others that were failing, so the
dashboard recovers as a whole. Feeds can be paused, made inactive (a hidden tab), kicked
("refresh now") or given new parameters; an answer to an outdated question is dropped.

Results wait in an *inbox*, the newest of each feed, until the app takes them all at once
(:meth:`Poller.take`); the first result since the last take wakes the app (unless the app
says the feed is quiet: it is taken with the next frame). Polling can start while Textual
is still importing, and the first data is on screen with the first frame. An answer asked
of a previous target never enters the inbox.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from jobtui.dashboard.state import FeedName, Update
from jobtui.errors import NotFound, NotProvided, Unauthorized, describe

if TYPE_CHECKING:
    from jobtui.client import Client
    from jobtui.config import Target

T = TypeVar("T")
Fetch = Callable[["Client"], Awaitable[Any]]
Waker = Callable[[], None]
Quiet = Callable[[FeedName], bool]
ClientFactory = Callable[..., "Client"]

MAX_BACKOFF = 30.0
NOT_PROVIDED_RECHECK = 300.0  # a 404 feed asks again this rarely (a server may be upgraded)


def backoff(interval: float, failures: int) -> float:
    """Seconds to wait after the ``failures``-th failure in a row: doubling, at most 30."""
    base = min(max(interval, 0.05), MAX_BACKOFF)
    return min(MAX_BACKOFF, base * 2 ** max(0, failures - 1))


@dataclass
class FeedSpec:
    name: FeedName
    fetch: Fetch
    interval: float | None  # None: ask until there is an answer, then stop (admin check)
    active: bool = True
    generation: int = 0
    failures: int = 0
    due: float = 0.0
    done: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: bool = False
    answered: float | None = None  # the loop's time of the last good answer


class Poller:
    """Runs feeds against one target on a private loop in a daemon thread."""

    def __init__(
        self,
        target: Target,
        *,
        timeout: float = 10.0,
        client_factory: ClientFactory | None = None,
        read_only: bool = False,
    ):
        self.target = target
        self.timeout = timeout
        self.read_only = read_only  # its client refuses every write (--read-only)
        self._factory = client_factory
        self._client: Client | None = None
        self._specs: dict[str, FeedSpec] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="jobtui-poller", daemon=True)
        self._lock = threading.Lock()
        self._waker: Waker | None = None
        self._quiet: Quiet = lambda feed: False
        self._inbox: dict[FeedName, Update] = {}
        self._woken = False  # the app was woken and has not taken the inbox since
        self._paused = False
        self._epoch = 0  # the target the loop talks to (the poller's thread)
        self.serial = 0  # targets switched to so far; every answer carries the one it is for
        self._started = False
        self._stopped = False
        self.polls = 0  # requests made by feeds, for the benchmark and tests

    # ------------------------------------------------------------------ life cycle

    def add(
        self, name: FeedName, fetch: Fetch, interval: float | None, *, active: bool = True
    ) -> None:
        """Register a feed (before or after :meth:`start`)."""

        def make() -> None:
            spec = FeedSpec(name, fetch, interval, active)
            self._specs[name] = spec
            if self._loop.is_running():
                self._tasks[name] = self._loop.create_task(self._run(spec))

        self._call(make)

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    @property
    def started(self) -> bool:
        return self._started

    def attach(self, wake: Waker, *, quiet: Quiet | None = None) -> None:
        """Call ``wake`` (from the poller's thread) when answers wait, except for feeds that
        ``quiet`` names; answers that came before are in the inbox already."""
        with self._lock:
            self._waker = wake
            self._quiet = quiet or (lambda feed: False)
            self._woken = False

    def detach(self) -> None:
        with self._lock:
            self._waker = None

    def take(self) -> list[Update]:
        """Every answer that arrived since the last take, the newest of each feed."""
        with self._lock:
            answers = list(self._inbox.values())
            self._inbox.clear()
            self._woken = False
        return answers

    def stop(self, timeout: float = 3.0) -> None:
        """Stop every feed and close the client; waits for the thread up to ``timeout``."""
        if self._stopped:
            return
        self._stopped = True
        self.detach()
        if not self._started:
            self._loop.close()
            return
        self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._shutdown()))
        self._thread.join(timeout)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._begin)
        try:
            self._loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def _begin(self) -> None:
        self._client = self._new_client(self.target)
        for spec in self._specs.values():
            self._tasks[spec.name] = self._loop.create_task(self._run(spec))

    async def _shutdown(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
        self._loop.stop()

    def _new_client(self, target: Target) -> Client:
        if self._factory is None:
            from jobtui.client import Client  # httpx is imported here, off the UI thread

            self._factory = Client
        return self._factory(
            target.url, target.token, timeout=self.timeout, read_only=self.read_only
        )

    def _call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the poller's loop (directly before the thread runs)."""
        if self._started and not self._stopped:
            self._loop.call_soon_threadsafe(fn)
        elif not self._stopped:
            fn()

    # ------------------------------------------------------------------ control

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self, paused: bool = True) -> None:
        self._paused = paused

        def apply() -> None:
            for spec in self._specs.values():
                spec.wake.set()

        self._call(apply)

    def kick(self, *names: FeedName) -> None:
        """Ask now (every feed, or the named ones), even after a failure's backoff."""

        def apply() -> None:
            for spec in self._specs.values():
                if not names or spec.name in names:
                    spec.due = 0.0
                    spec.wake.set()

        self._call(apply)

    def set_active(self, name: FeedName, active: bool, *, kick: bool = False) -> None:
        def apply() -> None:
            spec = self._specs[name]
            spec.active = active
            if kick:
                spec.due = 0.0
            spec.wake.set()

        self._call(apply)

    def set_interval(self, name: FeedName, interval: float) -> None:
        """Ask every ``interval`` seconds: a feed waiting after a good answer is due again
        ``interval`` after that answer (not at the time the old interval set)."""

        def apply() -> None:
            spec = self._specs[name]
            spec.interval = interval
            if spec.answered is not None and not spec.failures and not spec.in_flight:
                spec.due = spec.answered + interval
                spec.wake.set()

        self._call(apply)

    def set_fetch(self, name: FeedName, fetch: Fetch) -> None:
        """New parameters for a feed: ask at once; an answer to the old question is dropped."""

        def apply() -> None:
            spec = self._specs[name]
            spec.fetch = fetch
            spec.generation += 1
            spec.failures = 0
            spec.done = False
            spec.due = 0.0
            spec.wake.set()

        self._call(apply)

    def set_target(self, target: Target) -> None:
        """Talk to another server from now on; answers from the old one are dropped."""
        self.target = target
        with self._lock:
            self.serial += 1
            serial = self.serial
            self._inbox.clear()

        def apply() -> None:
            old = self._client
            self._client = self._new_client(target)
            self._epoch = serial
            if old is not None:
                self._loop.create_task(old.aclose())
            for spec in self._specs.values():
                spec.failures, spec.done, spec.due = 0, False, 0.0
                spec.wake.set()

        self._call(apply)

    def call(self, fn: Callable[[Client], Awaitable[T]]) -> concurrent.futures.Future[T]:
        """Run one request (an action) on the poller's loop; await it with asyncio.wrap_future."""
        if not self._started:
            self.start()

        async def run() -> T:
            while self._client is None:  # the loop has just started
                await asyncio.sleep(0.01)
            return await fn(self._client)

        return asyncio.run_coroutine_threadsafe(run(), self._loop)

    # ------------------------------------------------------------------ the feed loop

    async def _run(self, spec: FeedSpec) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._turn(spec, loop)
            generation, epoch, client = spec.generation, self._epoch, self._client
            assert client is not None
            spec.in_flight = True
            self.polls += 1
            try:
                value = await spec.fetch(client)
                error: BaseException | None = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure becomes one line on screen, never a crash
                value, error = None, exc
            finally:
                spec.in_flight = False
            if generation != spec.generation or epoch != self._epoch:
                continue  # the question changed while this answer was on its way
            self._settle(spec, value, error, loop.time(), epoch)

    async def _turn(self, spec: FeedSpec, loop: asyncio.AbstractEventLoop) -> None:
        """Wait until the feed is due, active and not paused (or kicked)."""
        while True:
            if spec.done or not spec.active or self._paused:
                timeout = None
            else:
                timeout = spec.due - loop.time()
                if timeout <= 0:
                    return
            spec.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(spec.wake.wait(), timeout)

    def _settle(
        self, spec: FeedSpec, value: Any, error: BaseException | None, now: float, epoch: int
    ) -> None:
        seconds = None
        if error is None:
            recovered = spec.failures > 0
            spec.failures = 0
            if spec.interval is None:
                spec.done = True
            spec.due = now + (spec.interval or 0.0)
            spec.answered = now
            if hasattr(value, "seconds") and hasattr(value, "value"):  # client.Timed
                value, seconds = value.value, value.seconds
            self._deliver(Update(spec.name, value, seconds=seconds, epoch=epoch))
            if recovered:  # the server is back: let the others stop waiting out their backoff
                for other in self._specs.values():
                    if other.failures:
                        other.due = 0.0
                        other.wake.set()
            return
        spec.failures += 1
        interval = spec.interval if spec.interval is not None else 2.0
        if isinstance(error, NotProvided):
            retry: float | None = max(interval, NOT_PROVIDED_RECHECK)
        else:
            retry = backoff(interval, spec.failures)
        if spec.interval is None and isinstance(error, (Unauthorized, NotProvided, NotFound)):
            spec.done = True  # a definite answer to a one-off question
            retry = None
        spec.due = now + (retry or 0.0)
        self._deliver(
            Update(spec.name, error=describe(error), kind=type(error), retry_in=retry, epoch=epoch)
        )

    def _deliver(self, update: Update) -> None:
        with self._lock:
            if update.epoch != self.serial:
                return  # asked of the previous target
            self._inbox[update.feed] = update
            if self._waker is None or self._woken or self._quiet(update.feed):
                return
            self._woken = True
            wake = self._waker
        wake()
