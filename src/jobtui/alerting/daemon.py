"""The ``jobtui watch`` loop: poll, judge, update the alerts, hand notifications to the
dispatcher, and keep the state file current.

Polls run on a fixed schedule (every ``interval`` from the start, skipping ticks a slow poll
overran). The state file is the source of truth for alerts: each poll reads it, steps the
engine and writes it back under one lock, and each delivery records itself the same way, so
a restart (or the next ``--once`` from cron) continues exactly where the last run stopped.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from jobtui.alerting import progress
from jobtui.alerting.config import WatchConfig
from jobtui.alerting.dispatch import Dispatcher, send_once
from jobtui.alerting.engine import Engine, Transition
from jobtui.alerting.heartbeat import Heartbeat
from jobtui.alerting.message import Batch, Item, notice
from jobtui.alerting.notifiers import Notifier, build
from jobtui.alerting.observe import Observation, figures_of, observe, target_label
from jobtui.alerting.progress import Run
from jobtui.alerting.state import StateError, StateFile, WatchState
from jobtui.client import Client, Timed
from jobtui.config import Config, Target
from jobtui.contract import Health, utcnow
from jobtui.errors import ClientError

log = logging.getLogger("jobtui.watch")
GRACE = 10.0  # seconds to finish deliveries on shutdown


class Watcher:
    def __init__(
        self,
        config: Config,
        watch: WatchConfig,
        target: Target,
        *,
        notifiers: Sequence[Notifier] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.config = config
        self.watch = watch
        self.target = target
        self.label = target_label(target)
        self.clock = clock
        self.client = Client(
            target.url, target.token, timeout=config.check.timeout, token_from=target.token_from
        )
        self.state = StateFile(watch.state_file)
        self.engine = Engine(
            for_polls=watch.for_polls,
            for_critical=watch.for_critical,
            per_rule=watch.per_rule,
            resolve_after=watch.resolve_after,
            repeat_interval=watch.repeat_interval,
            send_resolved=watch.send_resolved,
        )
        built = list(notifiers) if notifiers is not None else [build(n) for n in watch.notifiers]
        self.dispatcher = Dispatcher(built, self._delivered)
        self.heartbeat = Heartbeat(watch.heartbeat_url) if watch.heartbeat_url else None
        self.polls = 0
        self.progress: Run | None = None  # the last poll's, stored with its alerts

    # ------------------------------------------------------------------ one poll

    async def poll(self) -> Observation:
        at = self.clock()
        answer: Timed[Health] | ClientError
        run: Run | None = None
        try:
            answer = await self.client.health()
        except ClientError as exc:
            answer = exc
        else:
            if answer.status == 200:
                prior = self.state.read().progress
                stalled_after = self.config.thresholds.stalled_after
                run = await progress.look(self.client, answer.value, at, prior, stalled_after)
        self.progress = run
        return observe(
            answer,
            at=at,
            target=self.target,
            thresholds=self.config.thresholds,
            check=self.config.check,
            progress=run,
        )

    async def tick(self) -> Observation:
        """Poll once, update the alerts and queue what is due."""
        obs = await self.poll()
        self.polls += 1
        changes, silenced, batches = self.state.update(lambda s: self._evaluate(s, obs))
        for c in changes:
            _log_change(c, c.rule in silenced)
        firing = ", ".join(f"{a.rule}({a.level})" for a in self.engine.firing()) or "none"
        log.debug("poll %d: %s; firing: %s", self.polls, obs.status, firing)
        for name, batch in batches:
            self.dispatcher.submit(name, batch)
        return obs

    def _evaluate(
        self, state: WatchState, obs: Observation
    ) -> tuple[list[Transition], set[str], list[tuple[str, Batch]]]:
        self.engine.alerts = state.alerts
        if self.progress is not None:  # no answer: keep what was seen, no data is no news
            state.progress = self.progress
        changes = self.engine.step(obs.results, obs.at, self.watch.rules)
        silenced = state.silenced(obs.at)
        batches = []
        for n in self.watch.notifiers:
            if not self.dispatcher.ready(n.name):
                continue
            items = self.engine.due(n, obs.at, silenced, self.dispatcher.busy(n.name))
            if items:
                batches.append((n.name, self._batch(items, obs.at, obs.url, figures_of(obs))))
        self.engine.prune(self.watch.notifiers, obs.at)
        state.alerts = self.engine.alerts
        state.updated_at = obs.at
        return changes, silenced, batches

    def _batch(
        self, items: Sequence[Item], at: datetime, url: str, figures: dict[str, Any] | None = None
    ) -> Batch:
        w = self.watch
        return Batch(
            tuple(items),
            self.label,
            url,
            at,
            w.environment,
            w.dashboard_url,
            dict(w.labels),
            figures or None,
        )

    def _delivered(self, name: str, items: tuple[Item, ...]) -> None:
        now = self.clock()

        def mark(state: WatchState) -> None:
            self.engine.alerts = state.alerts
            self.engine.mark_sent(name, items, now)
            self.engine.prune(self.watch.notifiers, now)

        self.state.update(mark)

    # ------------------------------------------------------------------ the loop

    async def run(self, *, once: bool = False, stop: asyncio.Event | None = None) -> int:
        """Poll until ``stop`` is set (or once); 1 if ``--once`` could not deliver something."""
        stop = stop or asyncio.Event()
        interval = self.watch.interval
        self.dispatcher.start()
        loop = asyncio.get_running_loop()
        try:
            start, k = loop.time(), 0
            while True:
                try:
                    await self.tick()
                    if self.heartbeat is not None:  # evaluated: this watcher lives
                        self.heartbeat.ping()
                except StateError as exc:
                    log.error("%s", exc)
                except Exception as exc:  # a bug must not stop the alerting
                    log.error("poll failed: %s: %s", type(exc).__name__, exc)
                if once or stop.is_set():
                    break
                k = max(k + 1, math.ceil((loop.time() - start) / interval))
                try:
                    await asyncio.wait_for(stop.wait(), start + k * interval - loop.time())
                    break
                except TimeoutError:
                    pass
            if not await self.dispatcher.join(None if once else GRACE):
                log.warning("stopping with notifications still undelivered; sent after restart")
        finally:
            await self.dispatcher.close()
            await self.client.aclose()
            if self.heartbeat is not None:
                await self.heartbeat.aclose()
        return 1 if once and self.dispatcher.failures else 0

    async def test_notifiers(self) -> list[tuple[str, str | None]]:
        """Send one test message to every notifier, once; (name, error or None) for each."""
        now = self.clock()
        item = notice("test", "Test notification from jobtui watch --test", now)
        batch = self._batch([item], now, self.client.shown_url)
        results: list[tuple[str, str | None]] = []
        try:
            notifiers = self.dispatcher.notifiers.values()
            results = list(await asyncio.gather(*(send_once(n, batch) for n in notifiers)))
        finally:
            await self.dispatcher.close()
            await self.client.aclose()
            if self.heartbeat is not None:
                await self.heartbeat.aclose()
        return results


def _log_change(c: Transition, silenced: bool) -> None:
    muted = " (silenced: not sent)" if silenced else ""
    if c.event == "firing":
        log.warning("FIRING %s %s: %s%s", c.level.upper(), c.rule, c.text, muted)
    elif c.event == "resolved":
        log.info("RESOLVED %s: %s", c.rule, c.text)
    else:
        log.warning("%s %s to %s: %s%s", c.event.upper(), c.rule, c.level, c.text, muted)
