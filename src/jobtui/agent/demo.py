"""The demo workload (``jobtui serve --demo``): producers and workers writing the jobs table.

A scripted cycle of about two minutes walks the system through every status and alert kind
and back to calm: a burst (queue depth, wait time, utilization), a failure storm (error rate,
every error category), a slow dependency (processing time), and crashing workers that leave
jobs stuck until processing stalls and the demo's watchdog recovers them.

So that this fits in two minutes, the demo runs on a compressed clock: seconds where
production has minutes (its thresholds, stuck and stalled limits are set accordingly and
visible in every alert line). Everything else is the real agent on a real SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta

from jobtui.agent.health import Computed
from jobtui.agent.service import Agent
from jobtui.agent.store import JobStore, NewJob, StoreUnavailable
from jobtui.config import AgentConfig, Config
from jobtui.contract import Job, utcnow
from jobtui.rules import Thresholds

log = logging.getLogger("jobtui.demo")

WORKERS = 5
STATS_BUCKET = 5  # seconds: the demo's rates move within its 20-second window
JOB_TYPES = (
    "story_generation",
    "image_generation",
    "audio_narration",
    "pdf_export",
    "email_notification",
)
ERRORS = (
    "OpenAI API Error: Rate limit exceeded (429 Too Many Requests)",
    'Database connection failed: could not connect to server "db.internal" on port 5432',
    "Job exceeded maximum processing time (300000 ms)",
    "Out of memory: worker heap limit of 2048 MB reached",
    "Maximum retries exceeded after 3 attempts",
    "Invalid input: story prompt is empty",
    "Network request failed: ECONNRESET while calling the image service",
    "TypeError: Cannot read properties of undefined (reading 'chapters')",
)


DEMO_PAYLOAD = {"prompt": "demo"}  # every job the demo makes carries it, and no other job


def foreign_jobs(database: str) -> int:
    """How many jobs in ``database`` the demo did not make (0 for a new or empty store):
    the demo refuses to write its simulated jobs beside real ones. Raises DatabaseURLError
    and SQLAlchemy's errors when the database cannot be read."""
    import json

    import sqlalchemy as sa

    from jobtui.agent.db import open_engine

    engine, dialect = open_engine(database, pool_size=1)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("background_jobs"):
                return 0
            marker = "payload = :demo" if dialect.sqlite else "payload = CAST(:demo AS jsonb)"
            query = f"SELECT COUNT(*) FROM background_jobs WHERE payload IS NULL OR NOT ({marker})"
            return int(
                conn.execute(sa.text(query), {"demo": json.dumps(DEMO_PAYLOAD)}).scalar_one()
            )
    finally:
        engine.dispose()


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    seconds: float
    arrivals: float  # jobs per second
    duration: tuple[float, float]  # seconds a job takes
    failure_rate: float
    crash: bool = False  # workers abandon their job mid-way


CYCLE: tuple[Phase, ...] = (
    Phase("calm", 40, 2.0, (0.3, 1.2), 0.03),
    Phase("burst", 18, 9.0, (0.6, 1.2), 0.03),
    Phase("drain", 10, 1.0, (0.3, 0.8), 0.03),
    Phase("failure storm", 12, 4.0, (0.1, 0.3), 0.8),
    Phase("slow dependency", 24, 1.5, (6.0, 14.0), 0.05),
    Phase("crashing workers", 40, 1.0, (1.0, 2.0), 0.0, crash=True),
)
FIRST_CALM = 10.0  # the first cycle starts near the end of its calm phase


def phase_at(elapsed: float) -> Phase:
    t = elapsed % sum(p.seconds for p in CYCLE)
    for p in CYCLE:
        if t < p.seconds:
            return p
        t -= p.seconds
    return CYCLE[0]


def prepare(config: Config, agent: AgentConfig) -> tuple[Config, AgentConfig, int, type[DemoAgent]]:
    """The demo's compressed-clock settings on top of the user's config."""
    thresholds = Thresholds(
        warning=dataclasses.replace(
            config.thresholds.warning, processing_time=4_000, wait_time=3_000
        ),
        critical=dataclasses.replace(
            config.thresholds.critical, processing_time=8_000, wait_time=8_000
        ),
        stalled_after=timedelta(seconds=30),
    )
    agent = dataclasses.replace(
        agent,
        stuck_after=timedelta(seconds=20),
        stats_window=timedelta(seconds=20),
        metrics_interval=min(agent.metrics_interval, 2.0),
        max_concurrent_jobs=WORKERS,
    )
    return dataclasses.replace(config, thresholds=thresholds), agent, STATS_BUCKET, DemoAgent


class DemoAgent(Agent):
    """The agent plus the simulated producers and workers."""

    def __init__(self, store: JobStore, config: Config, *, seed: int | None = None):
        super().__init__(store, config, utilization=self._busy_percent)
        self.rng = random.Random(seed)
        self.busy = 0
        self.t0 = time.monotonic() - (CYCLE[0].seconds - FIRST_CALM)
        self._demo_tasks: list[asyncio.Task[None]] = []
        self._last_phase = ""

    def _busy_percent(self, _c: Computed) -> float:
        return 100.0 * self.busy / WORKERS

    @property
    def phase(self) -> Phase:
        return phase_at(time.monotonic() - self.t0)

    async def start(self) -> None:
        await super().start()
        self._demo_tasks.append(asyncio.create_task(self._produce(), name="demo-producer"))
        self._demo_tasks += [
            asyncio.create_task(self._work(i), name=f"demo-worker-{i}") for i in range(WORKERS)
        ]
        self._demo_tasks.append(asyncio.create_task(self._watchdog(), name="demo-watchdog"))
        log.info("Demo workload started: %d workers", WORKERS)

    async def stop(self) -> None:
        for task in self._demo_tasks:
            task.cancel()
        for task in self._demo_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._demo_tasks.clear()
        await super().stop()

    async def _produce(self) -> None:
        tick = 0.25
        owed = 0.0
        while True:
            phase = self.phase
            if phase.name != self._last_phase:
                log.info("Demo phase: %s", phase.name)
                self._last_phase = phase.name
            owed += phase.arrivals * tick
            n, owed = int(owed), owed - int(owed)
            if n:
                jobs = [
                    NewJob(
                        type=self.rng.choice(JOB_TYPES),
                        payload=DEMO_PAYLOAD,
                        max_attempts=1 if phase.failure_rate > 0.5 else 3,
                    )
                    for _ in range(n)
                ]
                with contextlib.suppress(StoreUnavailable):
                    for job_id, job in zip(
                        await self.run(self.store.enqueue, jobs, utcnow()), jobs, strict=True
                    ):
                        log.info("Created %s job: %s", job.type, job_id)
            await asyncio.sleep(tick)

    async def _work(self, n: int) -> None:
        await asyncio.sleep(n * 0.1)
        while True:
            try:
                if await self.processing_paused():  # by this agent or another on the store
                    await asyncio.sleep(0.5)
                    continue
                job = await self.run(self.store.claim, utcnow())
            except StoreUnavailable:
                await asyncio.sleep(1)
                continue
            if job is None:
                await asyncio.sleep(0.3)
                continue
            self.busy += 1
            crashed = False
            try:
                crashed = await self._run_job(job)
            except StoreUnavailable:
                await asyncio.sleep(1)
            finally:
                self.busy -= 1
            if crashed:
                await asyncio.sleep(3.0)  # restarting; the abandoned job will be stuck

    async def _run_job(self, job: Job) -> bool:
        """Run one job; True when the worker "crashed" and left it processing."""
        phase = self.phase
        lo, hi = phase.duration
        total = self.rng.uniform(lo, hi)
        if phase.crash:
            await asyncio.sleep(min(total, 1.0))
            log.error("Worker crashed while processing job %s; restarting", job.id)
            return True
        steps = max(1, int(total))
        for i in range(steps):
            await asyncio.sleep(total / steps)
            if self.phase.crash:  # a crash takes down jobs in flight too
                log.error("Worker crashed while processing job %s; restarting", job.id)
                return True
            if i + 1 < steps:
                await self.run(
                    self.store.progress, job, int(100 * (i + 1) / steps), "Processing", utcnow()
                )
        if self.rng.random() < phase.failure_rate:
            error = self.rng.choice(ERRORS)
            outcome = await self.run(self.store.fail, job, error, utcnow())
            if outcome == "failed":
                log.error("Job failed: %s - %s", job.id, error)
            elif outcome == "pending":
                log.warning("Job retry attempt %d: %s - %s", job.attempts + 1, job.id, error)
        elif await self.run(self.store.complete, job, utcnow()):
            # Both the seed's phrases: its statistics count "Job completed:", its success
            # patterns "Job completed successfully" (the job's own message, as the store sets it).
            log.info("Job completed: %s - Job completed successfully", job.id)
        return False

    async def _watchdog(self) -> None:
        """Recover stuck jobs once the crash phase is over, as a supervisor would."""
        while True:
            await asyncio.sleep(2)
            if self.phase.name == "calm":
                with contextlib.suppress(StoreUnavailable):
                    r = await self.recover_stuck()
                    if r.recovered or r.failed:
                        log.info("Demo watchdog recovered %d stuck jobs", r.recovered + r.failed)
