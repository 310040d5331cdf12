"""The agent's behaviour, independent of HTTP: answers, background loops, recovery.

The store is synchronous; every call to it goes through :meth:`Agent.run` (a worker thread),
so the event loop never waits on the database. Several agents may serve one store: the work
that must happen once runs on the leader (:mod:`jobtui.agent.leader`), and a pause of
processing lives in the store, where every agent sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from anyio import to_thread

from jobtui.agent.backups import Backups, default_dir
from jobtui.agent.health import (
    Computed,
    HostMeter,
    build_health,
    build_sample,
    compute,
    unavailable_health,
)
from jobtui.agent.leader import Leadership, lock_for
from jobtui.agent.store import TRANSITIONS, Candidate, JobStore, Snapshot, StoreUnavailable
from jobtui.config import Config
from jobtui.contract import (
    BulkRequest,
    BulkResult,
    ErrorCategory,
    ErrorsReport,
    Health,
    MetricsHistory,
    PerformanceMetrics,
    RecoverStuckResult,
    RecoveryResult,
    RecoveryStep,
    RestoreResult,
    utcnow,
)
from jobtui.rules import PRIORITY_RANK, UNKNOWN

if TYPE_CHECKING:
    from jobtui.agent.sentry import EventLevel

log = logging.getLogger("jobtui.agent")
T = TypeVar("T")

ERROR_MESSAGES = 10_000  # distinct error messages counted per request; past it, a lower bound
RECENT_FAILURES = 5000  # the newest failures of the window, for each category's job ids
JOB_IDS_PER_CATEGORY = 20
BULK_SAMPLE = 10  # the first matched jobs a bulk answer shows
BULK_HOURS = 24  # a category's window when none is given (the Errors tab's)
PAUSE_LEASE = timedelta(minutes=5)  # a pause whose agent died ends by itself after this
PAUSE_RENEW = 60.0  # seconds between renewals of a pause in force
BACKUP_RETRY = timedelta(hours=1)  # a scheduled backup that failed is tried again after this
HEALTH_DEADLINE = 5.0  # seconds health waits for the store, then answers 503 (a client waits 10)
HOST_EVERY = 5.0  # seconds between readings of the host (the first after one second)


class Unprocessable(Exception):
    """A well-formed request that cannot be done as asked (422)."""


class Agent:
    def __init__(
        self,
        store: JobStore,
        config: Config,
        *,
        utilization: Callable[[Computed], float] | None = None,
    ):
        self.store = store
        self.config = config
        self.cfg = config.agent
        self.host = HostMeter(self.cfg.utilization_window.total_seconds())
        self.backups = Backups(
            store,
            self.cfg.backup_dir or default_dir(store),
            gz=self.cfg.backup_gzip,
            keep_count=self.cfg.backup_keep_count,
        )
        self._utilization = utilization or (lambda _c: self.host.utilization)
        self.leader = Leadership(lock_for(store.engine, store.d))
        self._renewals: dict[str, asyncio.Task[None]] = {}  # pause id → its lease renewal
        self._tasks: list[asyncio.Task[None]] = []
        self._started = time.monotonic()
        self.sentry: Any = None  # jobtui.agent.sentry.FailureReporter, when SENTRY_DSN is set

    async def run(self, fn: Callable[..., T], *args: Any, deadline: float | None = None) -> T:
        """``fn(*args)`` in a worker thread. ``deadline``: the seconds to wait for it at most;
        past them it is abandoned (its thread ends when the database answers) and
        StoreUnavailable raised: a database that never answers cannot hang the caller."""
        if deadline is None:
            return await to_thread.run_sync(fn, *args)
        try:
            with anyio.fail_after(deadline):
                return await to_thread.run_sync(fn, *args, abandon_on_cancel=True)
        except TimeoutError:
            raise StoreUnavailable(f"the database did not answer within {deadline:g} s") from None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._collect_forever(), name="collector"))
        self._tasks.append(asyncio.create_task(self._meter_forever(), name="host-meter"))
        if self.cfg.backup_every_hours > 0:
            log.info(
                "Scheduled backups: every %g h into %s, keeping %g days (the leader's)",
                self.cfg.backup_every_hours,
                self.backups.dir,
                self.cfg.backup_keep_days,
            )
            self._tasks.append(asyncio.create_task(self._backup_forever(), name="backups"))
        else:
            log.info("Scheduled backups: off (agent.backups.every_hours: 0)")
        if os.environ.get("SENTRY_DSN"):
            from jobtui.agent import sentry

            self.sentry = sentry.start(self)

    async def stop(self) -> None:
        if self.sentry is not None:
            await self.sentry.stop()
            self.sentry = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for task in self._renewals.values():  # the pauses' leases end them
            task.cancel()
        self._renewals.clear()
        await self.leader.resign()

    async def _meter_forever(self) -> None:
        """Read the host in the background: an answer only averages what is read here."""
        await asyncio.sleep(min(1.0, HOST_EVERY))
        while True:
            try:
                self.host.sample()
            except Exception:  # a reading that fails must not stop the meter
                log.exception("Reading the host failed")
            await asyncio.sleep(HOST_EVERY)

    async def _collect_forever(self) -> None:
        """Each interval, take or keep the leadership; the leader samples (unless
        ``agent.metrics_collection`` is off) and prunes hourly, the others only try again
        next interval."""
        interval = self.cfg.metrics_interval
        last_prune = 0.0
        while True:
            try:
                if await self.leader.check():
                    if self.cfg.metrics_collection:
                        await self.collect_once()
                    if time.monotonic() - last_prune > 3600:
                        await self.prune()
                        last_prune = time.monotonic()
            except StoreUnavailable as exc:
                log.error("Metrics collection failed: %s", exc)
            except Exception:  # a bug must not stop the collector
                log.exception("Metrics collection failed")
            await asyncio.sleep(interval)

    async def _backup_forever(self) -> None:
        """Scheduled backups (the seed backs up daily), each followed by a prune; the
        leader's only. A backup is due ``every_hours`` after the newest one in the folder
        (at once when there is none), so a restarted agent neither skips nor repeats one."""
        every = timedelta(hours=self.cfg.backup_every_hours)
        tick = max(0.05, min(self.cfg.metrics_interval, every.total_seconds()))
        due: datetime | None = None
        while True:
            if not self.leader.is_leader:  # the collector takes and keeps the leadership
                due = None
                await asyncio.sleep(tick)
                continue
            now = utcnow()
            if due is None:
                newest = await self.run(self.backups.newest)
                due = newest + every if newest is not None else now
            if now < due:
                await asyncio.sleep(min(tick, (due - now).total_seconds()))
                continue
            due = await self.scheduled_backup(every)

    async def scheduled_backup(self, every: timedelta) -> datetime | None:
        """One scheduled backup and prune; when the next is due (None: after this one)."""
        keep = timedelta(days=self.cfg.backup_keep_days)
        try:
            result = await self.run(self.backups.create)
        except Exception as exc:  # BackupError, StoreUnavailable: log, try again later
            log.error("Scheduled backup failed: %s", exc)
            self.report_event(f"Scheduled backup failed: {exc}", "error", "backup")
            return utcnow() + min(every, BACKUP_RETRY)
        log.info("Scheduled backup %s: %d jobs", result.name, result.jobs)
        self.report_event(f"Backup created: {result.name}", "info", "backup", jobs=result.jobs)
        try:
            pruned = await self.run(self.backups.prune, keep)
        except Exception as exc:
            log.error("Pruning old backups failed: %s", exc)
        else:
            if pruned.deleted:
                log.info("Pruned %d old backups", len(pruned.deleted))
        return None

    def report_event(self, message: str, level: EventLevel, kind: str, **context: Any) -> None:
        """An operational event for Sentry (the seed's ``captureJobEvent``), when it is on."""
        if self.sentry is not None:
            self.sentry.event(message, level, kind, context)

    async def collect_once(self) -> PerformanceMetrics:
        now = utcnow()
        c = await self._computed(now)
        host = self.host.figures(self.cfg.metrics_interval)  # since the previous sample
        sample = build_sample(c, now, self._utilization(c), host)
        await self.run(self.store.add_sample, sample)
        return sample

    async def prune(self) -> None:
        now = utcnow()
        keep_stats = max(self.cfg.stats_window, timedelta(hours=25))
        await self.run(self.store.prune, now - self.cfg.metrics_retention, now - keep_stats)

    def monitor_alive(self, last_sample: datetime | None, now: datetime) -> bool:
        """Some agent (the leader) samples: the store's newest sample is recent. With
        collection off there are no samples to tell by: the store answering is all."""
        if not self.cfg.metrics_collection:
            return True
        grace = 3 * self.cfg.metrics_interval + 5
        if last_sample is not None and (now - last_sample).total_seconds() < grace:
            return True
        return time.monotonic() - self._started < grace

    # ------------------------------------------------------------------ answers

    async def _snapshot(self, now: datetime, deadline: float | None = None) -> Snapshot:
        return await self.run(
            self.store.snapshot, now, self.cfg.stats_window, self.cfg.stuck_after, deadline=deadline
        )

    async def _computed(self, now: datetime) -> Computed:
        snap = await self._snapshot(now)
        return compute(snap, now, self.cfg, self.config.thresholds.stalled_after)

    async def health(self) -> tuple[Health, int]:
        now = utcnow()
        try:
            snap = await self._snapshot(now, HEALTH_DEADLINE)
        except StoreUnavailable as exc:
            log.error("Database connection failed: %s", exc)
            return unavailable_health(now, self.cfg), 503
        c = compute(snap, now, self.cfg, self.config.thresholds.stalled_after)
        h = build_health(
            c,
            now,
            self.cfg,
            self.config.thresholds,
            self._utilization(c),
            monitor=self.monitor_alive(snap.last_sample, now),
            processing_enabled=not snap.paused,
            collection_enabled=self.cfg.metrics_collection,
        )
        return h, 200

    async def computed(self) -> tuple[Computed, float]:
        c = await self._computed(utcnow())
        return c, self._utilization(c)

    async def history(self, hours: int) -> MetricsHistory:
        since = utcnow() - timedelta(hours=hours)
        samples = await self.run(self.store.samples, since, self.cfg.max_points)
        return MetricsHistory(count=len(samples), timespan=f"{hours} hours", metrics=tuple(samples))

    async def errors(self, hours: int) -> ErrorsReport:
        """The window's failed jobs per category. The counts are exact: the database counts
        each distinct message, and each message is classified once. Only past
        ``ERROR_MESSAGES`` distinct messages are they a lower bound, which ``analysed`` <
        ``total`` then says. Each category's job ids come from the newest failures."""
        since = utcnow() - timedelta(hours=hours)
        messages = await self.run(self.store.failure_groups, since, ERROR_MESSAGES)
        failures = await self.run(self.store.recent_failures, since, RECENT_FAILURES)
        rules = self.config.errors
        category_of: dict[str | None, str] = {}
        groups: dict[str, dict[str, Any]] = {}
        for m in messages:  # most frequent first
            p = rules.classify(m.error)
            category_of[m.error] = p.category
            g = groups.get(p.category)
            if g is None:
                g = groups[p.category] = {
                    "pattern": p,
                    "count": 0,
                    "first": m.first,
                    "last": m.last,
                    "sample": m.error,
                    "ids": [],
                }
            g["count"] += m.count
            if m.first is not None and (g["first"] is None or m.first < g["first"]):
                g["first"] = m.first
            if m.last is not None and (g["last"] is None or m.last > g["last"]):
                g["last"], g["sample"] = m.last, m.error
        for f in failures:  # newest first
            g = groups.get(category_of.get(f.error) or rules.classify(f.error).category)
            if g is not None and len(g["ids"]) < JOB_IDS_PER_CATEGORY:
                g["ids"].append(f.id)
        categories = sorted(
            (
                ErrorCategory(
                    category=cat,
                    priority=g["pattern"].priority,
                    count=g["count"],
                    recommendation=g["pattern"].recommendation,
                    first_seen=g["first"],
                    last_seen=g["last"],
                    sample=(g["sample"] or "")[:500] or None,
                    job_ids=tuple(g["ids"]),
                )
                for cat, g in groups.items()
            ),
            key=lambda e: (PRIORITY_RANK.get(e.priority, 9), -e.count, e.category),
        )
        counted = sum(m.count for m in messages)
        total = counted
        if len(messages) >= ERROR_MESSAGES:  # more distinct messages than are counted
            total = max(counted, await self.run(self.store.failed_total, since))
        return ErrorsReport(
            hours=hours, total=total, analysed=counted, categories=tuple(categories)
        )

    # ------------------------------------------------------------------ repairs

    @property
    def categories(self) -> tuple[str, ...]:
        """The error categories a bulk action takes, in the rules' order."""
        rules = self.config.errors
        return tuple(dict.fromkeys([*(p.category for p in rules.patterns), UNKNOWN.category]))

    async def bulk(self, req: BulkRequest) -> BulkResult:
        """Retry or cancel every job matching ``req``, oldest first; a dry run only counts.

        The jobs are matched first, then written in one transaction in which each row is
        written only if its status is still the one it was matched with: a job that changed
        meanwhile (a worker took it, someone else retried it) is skipped and counted.
        """
        t = TRANSITIONS[req.action]
        if req.status is not None and req.status not in t.allowed:
            raise Unprocessable(
                f"{req.action} changes only {t.allowed_words} jobs, not {req.status} ones"
            )
        if req.queue is not None:
            raise Unprocessable("queue: this source has no queues")
        rules = self.config.errors
        if req.category is not None:
            known = self.categories
            if req.category not in known:
                raise Unprocessable(
                    f"unknown category {req.category!r}: expected one of {', '.join(known)}"
                )
        hours = req.hours if req.hours is not None or req.category is None else BULK_HOURS
        since = utcnow() - timedelta(hours=hours) if hours is not None else None
        found = await self.run(
            lambda: self.store.bulk_candidates(
                req.action,
                status=req.status,
                type=req.type,
                q=req.q,
                since=since,
                limit=None if req.category is not None else req.limit,
            )
        )
        matched: list[Candidate] = found
        if req.category is not None:
            seen: dict[str | None, str] = {}  # each distinct message is classified once

            def category(error: str | None) -> str:
                if error not in seen:
                    seen[error] = rules.classify(error).category
                return seen[error]

            matched = [c for c in found if category(c.error) == req.category][: req.limit]
        sample = await self.run(self.store.jobs_by_ids, [c.id for c in matched[:BULK_SAMPLE]])
        if req.dry_run or not matched:
            return BulkResult(len(matched), 0, 0, tuple(sample))
        log.debug("Bulk %s: %d jobs matched, writing", req.action, len(matched))
        changed = await self.run(self.store.bulk_apply, req.action, matched, utcnow())
        skipped = len(matched) - changed
        log.info(
            "Bulk %s by operator: %d matched, %d changed, %d skipped (changed meanwhile)",
            req.action,
            len(matched),
            changed,
            skipped,
        )
        return BulkResult(len(matched), changed, skipped, tuple(sample))

    async def recover_stuck(self) -> RecoverStuckResult:
        reset, failed = await self.run(self.store.recover_stuck, utcnow(), self.cfg.stuck_after)
        if reset or failed:
            log.warning(
                "Recovered %d stuck jobs (%d failed: Maximum retries exceeded)", reset, failed
            )
        return RecoverStuckResult(recovered=reset, failed=failed)

    async def processing_paused(self) -> bool:
        """Whether any agent on the store has paused processing (the demo workers ask)."""
        return await self.run(self.store.paused, utcnow())

    async def pause_processing(self, reason: str) -> str:
        """Pause processing for every agent on the store; the id for :meth:`resume_processing`.

        The pause is a lease of :data:`PAUSE_LEASE`, renewed while this agent lives, so a
        pause whose agent was killed mid-way ends by itself."""
        pause_id = uuid.uuid4().hex
        await self.run(self.store.pause, pause_id, reason, utcnow() + PAUSE_LEASE)
        self._renewals[pause_id] = asyncio.create_task(
            self._renew_pause(pause_id, reason), name="pause-lease"
        )
        log.info("Processing paused (%s)", reason)
        return pause_id

    async def _renew_pause(self, pause_id: str, reason: str) -> None:
        while True:
            await asyncio.sleep(PAUSE_RENEW)
            try:
                await self.run(self.store.pause, pause_id, reason, utcnow() + PAUSE_LEASE)
            except StoreUnavailable as exc:
                log.error("Cannot renew the pause of processing: %s", exc)

    async def resume_processing(self, pause_id: str) -> None:
        task = self._renewals.pop(pause_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.run(self.store.resume, pause_id)
        log.info("Processing resumed")

    async def recovery(self) -> RecoveryResult:
        """The seed's system recovery: pause, back up, recover stuck jobs, resume.

        Each step's result is reported; a failing step does not stop the ones after it, and
        processing is always resumed (or, when the store cannot be told, the pause's lease
        ends it).
        """
        steps: list[RecoveryStep] = []
        backup_name: str | None = None
        recovered = 0
        pause_id: str | None = None
        try:
            pause_id = await self.pause_processing("system recovery")
            steps.append(RecoveryStep("pause processing", True, "workers paused"))
        except StoreUnavailable as exc:
            steps.append(RecoveryStep("pause processing", False, str(exc)))
        try:
            try:
                detail = await self.backup_for_recovery()
                backup_name = detail.split(" ", 1)[0] if detail else None
                steps.append(RecoveryStep("backup", True, detail or "skipped"))
            except Exception as exc:
                steps.append(RecoveryStep("backup", False, str(exc)[:200]))
            try:
                r = await self.recover_stuck()
                recovered = r.recovered
                detail = f"{r.recovered} reset to pending, {r.failed} failed"
                steps.append(RecoveryStep("recover stuck jobs", True, detail))
            except StoreUnavailable as exc:
                steps.append(RecoveryStep("recover stuck jobs", False, str(exc)))
        finally:
            steps.append(await self._resume_step(pause_id))
        ok = all(s.ok for s in steps)
        message = (
            "System recovery completed successfully"
            if ok
            else "System recovery finished with errors: "
            + "; ".join(f"{s.step}: {s.detail}" for s in steps if not s.ok)
        )
        self.report_event(
            message,
            "info" if ok else "error",
            "recovery",
            backup=backup_name,
            recovered=recovered,
            steps={s.step: s.detail if s.ok else f"failed: {s.detail}" for s in steps},
        )
        return RecoveryResult(
            success=ok, backup=backup_name, recovered=recovered, message=message, steps=tuple(steps)
        )

    async def _resume_step(self, pause_id: str | None) -> RecoveryStep:
        if pause_id is None:
            return RecoveryStep("resume processing", True, "nothing was paused")
        try:
            await self.resume_processing(pause_id)
        except StoreUnavailable as exc:
            minutes = int(PAUSE_LEASE.total_seconds() // 60)
            return RecoveryStep(
                "resume processing", False, f"{exc}; the pause ends by itself within {minutes} min"
            )
        return RecoveryStep("resume processing", True, "workers resumed")

    async def backup_for_recovery(self) -> str | None:
        result = await self.run(self.backups.create)
        return f"{result.name} ({result.jobs} jobs)"

    async def restore(self, name: str, *, dry_run: bool) -> RestoreResult:
        """Restore with processing paused, as the seed does; resumed whatever happens."""
        if dry_run:
            return await self.run(lambda: self.backups.restore(name, dry_run=True))
        pause_id = await self.pause_processing(f"restore of {name}")
        try:
            result = await self.run(lambda: self.backups.restore(name))
        finally:
            try:
                await self.resume_processing(pause_id)
            except StoreUnavailable as exc:
                log.error("Cannot resume processing after the restore: %s", exc)
        log.warning("Restored %s: %d inserted, %d updated", name, result.inserted, result.updated)
        self.report_event(
            f"Restored {name}: {result.inserted} inserted, {result.updated} updated",
            "warning",
            "restore",
            name=name,
            jobs=result.jobs,
            inserted=result.inserted,
            updated=result.updated,
        )
        return result
