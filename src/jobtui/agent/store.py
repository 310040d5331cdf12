"""The job store: every query the agent makes, the same on SQLite and PostgreSQL.

Methods are synchronous (the API calls them in a thread pool) and raise
:class:`StoreUnavailable` when the database cannot be reached or answer.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError

from jobtui.agent import schema
from jobtui.agent.db import BUSY_TIMEOUT, open_engine
from jobtui.contract import Job, PerformanceMetrics, parse_time, utcnow

JOB_FIELDS = (
    "id, type, status, progress, message, error, attempts, max_attempts, "
    "created_at, updated_at, started_at, completed_at"
)


_BROKEN_SCHEMA = {"42P01", "3F000"}  # PostgreSQL: undefined table, undefined schema


class StoreUnavailable(Exception):
    """The database did not answer; the API turns this into a 503."""


class StoreBusy(StoreUnavailable):
    """Another writer holds the database's lock (SQLite's "database is locked") longer than
    a statement waits for it: a write that may succeed later (503 with Retry-After)."""


class Conflict(Exception):
    """The job is not in a state that allows the action (409)."""


class BadQuery(ValueError):
    """A filter no job can match as given (the API answers 400 with the message)."""


class BadCursor(BadQuery):
    pass


@dataclass(frozen=True, slots=True)
class Transition:
    """An operator's action on a job: the statuses it applies to and what it writes."""

    allowed: tuple[str, ...]
    sets: str  # the SET clause; ``:now`` is the time of the change
    dated_by: str  # the column that dates a job in an allowed status (for a time window)

    @property
    def allowed_words(self) -> str:
        return " or ".join(self.allowed)

    @property
    def allowed_sql(self) -> str:
        return ", ".join(f"'{s}'" for s in self.allowed)


TRANSITIONS: dict[str, Transition] = {
    # Failed or cancelled → pending, with a fresh set of attempts.
    "retry": Transition(
        ("failed", "cancelled"),
        "status = 'pending', progress = 0, attempts = 0, error = NULL, "
        "message = 'Retry requested by operator', updated_at = :now, "
        "started_at = NULL, completed_at = NULL",
        "completed_at",
    ),
    # Pending or processing → cancelled.
    "cancel": Transition(
        ("pending", "processing"),
        "status = 'cancelled', message = 'Cancelled by operator', "
        "updated_at = :now, completed_at = :now",
        "updated_at",
    ),
}


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the health figures are made of, read in one go from the rollups."""

    counts: dict[str, int]
    completed: int  # in the stats window
    failed: int
    run_ms: int
    run_n: int
    wait_ms: int
    wait_n: int
    finished_hour: int
    finished_day: int
    stuck: int
    last_finished: datetime | None
    oldest_unfinished: datetime | None  # created_at of the oldest pending or processing job
    paused: bool = False  # a pause of processing is in force (any agent's)
    last_sample: datetime | None = None  # the newest metrics sample (any agent's)


@dataclass(frozen=True, slots=True)
class NewJob:
    type: str
    payload: Any = None
    max_attempts: int = 3
    id: str | None = None


@dataclass(frozen=True, slots=True)
class FailedJob:
    id: str
    error: str | None
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """The failed jobs of a window that share one error message."""

    error: str | None
    count: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A job a bulk action matched, as it was when matched."""

    id: str
    status: str
    error: str | None


def text_problem(value: str) -> str | None:
    """Why neither store can keep or compare this text as it is (PostgreSQL refuses NUL,
    SQLite's LIKE stops at one; UTF-8 has no lone surrogates), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate"
    return None


def encode_cursor(created_at: datetime, job_id: str) -> str:
    """Opaque to clients; full precision, since PostgreSQL keeps microseconds."""
    raw = json.dumps([created_at.isoformat(), job_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor of :func:`encode_cursor` names. Anything else, whatever it
    decodes to, is a BadCursor saying why: a cursor is opaque, never trusted."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (ValueError, binascii.Error, RecursionError):
        raise BadCursor("invalid cursor: not one this server made") from None
    if not (
        isinstance(decoded, list)
        and len(decoded) == 2
        and all(isinstance(part, str) for part in decoded)
    ):
        raise BadCursor("invalid cursor: not one this server made")
    created, job_id = decoded
    try:
        at = parse_time(created)
    except OverflowError:
        raise BadCursor("invalid cursor: its time is out of range") from None
    except ValueError:
        raise BadCursor("invalid cursor: its time is not a timestamp") from None
    if "\x00" in job_id:
        raise BadCursor("invalid cursor: its job id holds a NUL character")
    return at, job_id


class JobStore:
    def __init__(self, url: str, *, stats_bucket: int = 60, pool_size: int = 8):
        self.engine, self.d = open_engine(url, pool_size=pool_size)
        self.url = url
        self._stats_bucket = stats_bucket
        self.bucket = stats_bucket

    # ------------------------------------------------------------------ plumbing

    def migrate(self) -> int:
        with self._guard():
            before = schema.migrate(self.engine, self.d, self._stats_bucket)
            with self.engine.connect() as conn:
                self.bucket = schema.stats_bucket(conn)
            return before

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn "the database cannot answer" (down, locked, corrupt) into StoreUnavailable;
        errors that mean a bug or bad data (programming, integrity) stay what they are."""
        try:
            yield
        except ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) in _BROKEN_SCHEMA:
                raise StoreUnavailable(_first_line(exc)) from None
            raise
        except (IntegrityError, DataError):
            raise
        except DBAPIError as exc:
            if _busy(exc):
                raise StoreBusy(
                    f"the database is locked by another writer (waited {BUSY_TIMEOUT:g} s)"
                ) from None
            raise StoreUnavailable(_first_line(exc)) from None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._guard(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self._guard(), self.engine.begin() as conn:
            yield conn

    def _job(self, row: Row[*tuple[Any, ...]]) -> Job:
        f = self.d.from_ts
        return Job(
            id=str(row.id),
            type=row.type,
            status=row.status,
            progress=int(row.progress or 0),
            message=row.message,
            error=row.error,
            attempts=int(row.attempts or 0),
            max_attempts=int(row.max_attempts or 0),
            created_at=f(row.created_at),  # type: ignore[arg-type]  # NOT NULL: never None
            updated_at=f(row.updated_at),  # type: ignore[arg-type]  # NOT NULL: never None
            started_at=f(row.started_at),
            completed_at=f(row.completed_at),
        )

    # ------------------------------------------------------------------ figures

    def snapshot(self, now: datetime, window: timedelta, stuck_after: timedelta) -> Snapshot:
        """Counts, windowed sums and timestamps for the health figures: a handful of index
        look-ups and at most ``window / stats_bucket`` rollup rows, whatever the table's size."""
        ts = self.d.ts
        epoch = now.timestamp()
        hour = int(epoch - 3600) // self.bucket * self.bucket
        win_sql, params = self._sums_sql(epoch - window.total_seconds(), epoch)
        by_created = self.d.indexed_by("ix_jobs_status_created")
        with self.read() as conn:
            counts = {r[0]: int(r[1]) for r in conn.execute(text(
                "SELECT status, n FROM job_status_counts"))}  # fmt: skip
            # Everything else in one round trip (on PostgreSQL each costs ~0.3 ms).
            row = conn.execute(
                text(
                    f"""SELECT w.*,
                      (SELECT COALESCE(SUM(completed + failed), 0) FROM job_stats
                        WHERE bucket >= :h),
                      (SELECT COUNT(*) FROM background_jobs
                        WHERE status = 'processing' AND updated_at < :cutoff),
                      (SELECT completed_at FROM background_jobs
                        WHERE status = 'completed' AND completed_at IS NOT NULL
                        ORDER BY completed_at DESC LIMIT 1),
                      (SELECT completed_at FROM background_jobs
                        WHERE status = 'failed' AND completed_at IS NOT NULL
                        ORDER BY completed_at DESC LIMIT 1),
                      (SELECT created_at FROM background_jobs{by_created}
                        WHERE status = 'pending' ORDER BY created_at LIMIT 1),
                      (SELECT created_at FROM background_jobs{by_created}
                        WHERE status = 'processing' ORDER BY created_at LIMIT 1),
                      (SELECT COUNT(*) FROM jobtui_pauses WHERE expires > :epoch),
                      (SELECT MAX(ts) FROM job_metrics)
                    FROM ({win_sql}) AS w"""
                ),
                {**params, "h": hour, "cutoff": ts(now - stuck_after), "epoch": epoch},
            ).one()
            win = tuple(int(v) for v in row[:6])
            day = win if window == timedelta(days=1) else self._sums(conn, epoch - 86_400, epoch)
        finished_hour, t = row[6], row[7:]
        finished = [x for x in (self.d.from_ts(t[1]), self.d.from_ts(t[2])) if x is not None]
        unfinished = [x for x in (self.d.from_ts(t[3]), self.d.from_ts(t[4])) if x is not None]
        completed, failed, run_ms, run_n, wait_ms, wait_n = win
        return Snapshot(
            counts=counts,
            completed=completed,
            failed=failed,
            run_ms=run_ms,
            run_n=run_n,
            wait_ms=wait_ms,
            wait_n=wait_n,
            finished_hour=int(finished_hour),
            finished_day=day[0] + day[1],
            stuck=int(t[0]),
            last_finished=max(finished) if finished else None,
            oldest_unfinished=min(unfinished) if unfinished else None,
            paused=bool(t[5]),
            last_sample=datetime.fromtimestamp(float(t[6]), UTC) if t[6] is not None else None,
        )

    def _sums(self, conn: Connection, since: float, until: float) -> tuple[int, ...]:
        sql, params = self._sums_sql(since, until)
        return tuple(int(v) for v in conn.execute(text(sql), params).one())

    def _sums_sql(self, since: float, until: float) -> tuple[str, dict[str, int]]:
        """Rollup sums from ``since`` (rounded down to a bucket) to now: whole hours from the
        hourly table, the ragged ends from the fine one. One row of six columns."""
        lo = int(since) // self.bucket * self.bucket
        h1 = -(-lo // schema.HOURLY) * schema.HOURLY  # the first whole hour
        h2 = int(until) // schema.HOURLY * schema.HOURLY  # the current hour
        if h1 >= h2:
            h1 = h2 = lo
        cols = "completed, failed, run_ms, run_n, wait_ms, wait_n"
        sql = f"""SELECT COALESCE(SUM(completed), 0) AS completed,
                      COALESCE(SUM(failed), 0) AS failed, COALESCE(SUM(run_ms), 0) AS run_ms,
                      COALESCE(SUM(run_n), 0) AS run_n, COALESCE(SUM(wait_ms), 0) AS wait_ms,
                      COALESCE(SUM(wait_n), 0) AS wait_n
                FROM (SELECT {cols} FROM job_stats_hourly WHERE bucket >= :h1 AND bucket < :h2
                      UNION ALL SELECT {cols} FROM job_stats WHERE bucket >= :lo AND bucket < :h1
                      UNION ALL SELECT {cols} FROM job_stats WHERE bucket >= :h2) AS s"""
        return sql, {"lo": lo, "h1": h1, "h2": h2}

    def failed_total(self, since: datetime) -> int:
        with self.read() as conn:
            return self._sums(conn, since.timestamp(), utcnow().timestamp())[1]

    def recent_failures(self, since: datetime, limit: int) -> list[FailedJob]:
        """The newest failed jobs since ``since``, newest first, at most ``limit``."""
        with self.read() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, error, completed_at FROM background_jobs "
                    "WHERE status = 'failed' AND completed_at >= :since "
                    "ORDER BY completed_at DESC LIMIT :limit"
                ),
                {"since": self.d.ts(since), "limit": limit},
            ).all()
        return [FailedJob(str(r[0]), r[1], self.d.from_ts(r[2])) for r in rows]

    def failure_groups(self, since: datetime, limit: int) -> list[FailureGroup]:
        """The failed jobs since ``since`` counted per distinct error message, most frequent
        first, at most ``limit`` messages: the database counts, however many jobs failed."""
        with self.read() as conn:
            rows = conn.execute(
                text(
                    "SELECT error, COUNT(*), MIN(completed_at), MAX(completed_at) "
                    "FROM background_jobs WHERE status = 'failed' AND completed_at >= :since "
                    "GROUP BY error ORDER BY COUNT(*) DESC LIMIT :limit"
                ),
                {"since": self.d.ts(since), "limit": limit},
            ).all()
        f = self.d.from_ts
        return [FailureGroup(r[0], int(r[1]), f(r[2]), f(r[3])) for r in rows]

    def counters(self) -> tuple[dict[str, float], list[tuple[float, int]]]:
        """Monotonic totals and the duration histogram's cumulative buckets, for /metrics."""
        with self.read() as conn:
            totals = {r[0]: float(r[1]) for r in conn.execute(text(
                "SELECT name, value FROM job_counters"))}  # fmt: skip
            buckets = [(float(r[0]), int(r[1])) for r in conn.execute(text(
                "SELECT le, n FROM job_duration_buckets ORDER BY le"))]  # fmt: skip
        return totals, buckets

    # ------------------------------------------------------------------ jobs

    def jobs_page(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        q: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Job], str | None]:
        """Newest first, by keyset on (created_at, id): a page costs the same at any depth."""
        where, params = self._filters(status, type, q)
        params["limit"] = limit + 1
        if cursor:
            created, job_id = decode_cursor(cursor)
            # A row value, not "a < x OR (a = x AND b < y)": with bound parameters SQLite
            # seeks the index only on the row value, else it walks every newer row (12 ms
            # at page 2,000 of 1M jobs instead of 0.1 ms).
            where.append("(created_at, id) < (:c_at, :c_id)")
            params["c_at"] = self.d.ts(created)
            params["c_id"] = job_id
        sql = f"SELECT {JOB_FIELDS} FROM background_jobs"
        if status and not type and not q:
            sql += self.d.indexed_by("ix_jobs_status_created")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC LIMIT :limit"
        with self.read() as conn:
            rows = conn.execute(text(sql), params).all()
        jobs = [self._job(r) for r in rows[:limit]]
        more = len(rows) > limit
        return jobs, encode_cursor(jobs[-1].created_at, jobs[-1].id) if more and jobs else None

    def _filters(
        self, status: str | None, type: str | None, q: str | None
    ) -> tuple[list[str], dict[str, Any]]:
        """WHERE terms and parameters for the jobs list's filters (status, type, search)."""
        where: list[str] = []
        params: dict[str, Any] = {}
        for name, value in (("status", status), ("type", type), ("q", q)):
            # The same answer on both stores (q=%00 matched every job on SQLite; a lone
            # surrogate, from a JSON body, cannot even be sent to either).
            if value and (problem := text_problem(value)):
                raise BadQuery(f"invalid {name}: {problem}")
        if status:
            where.append("status = :status")
            params["status"] = status
        if type:
            where.append("type = :type")
            params["type"] = type
        if q:
            like = f"{self.d.like} :qlike ESCAPE '\\'"
            where.append(f"(id = :q OR type {like} OR message {like} OR error {like})")
            params["q"] = q
            params["qlike"] = (
                "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            )
        return where, params

    def get_job(self, job_id: str) -> Job | None:
        if "\x00" in job_id:  # no store keeps one in an id (PostgreSQL would refuse the query)
            return None
        with self.read() as conn:
            row = conn.execute(
                text(f"SELECT {JOB_FIELDS} FROM background_jobs WHERE id = :id"), {"id": job_id}
            ).first()
        return self._job(row) if row else None

    def _transition(self, job_id: str, action: str, now: datetime) -> Job:
        t = TRANSITIONS[action]
        if "\x00" in job_id:  # as in get_job: no such job
            raise KeyError(job_id)
        with self.write() as conn:
            row = conn.execute(
                text(
                    f"UPDATE background_jobs SET {t.sets} "
                    f"WHERE id = :id AND status IN ({t.allowed_sql}) RETURNING {JOB_FIELDS}"
                ),
                {"id": job_id, "now": self.d.ts(now)},
            ).first()
            if row is not None:
                return self._job(row)
            current = conn.execute(
                text("SELECT status FROM background_jobs WHERE id = :id"), {"id": job_id}
            ).first()
        if current is None:
            raise KeyError(job_id)
        raise Conflict(
            f"job {job_id} is {current[0]}; only {t.allowed_words} jobs can be changed so"
        )

    def retry(self, job_id: str, now: datetime) -> Job:
        """Failed or cancelled → pending, with a fresh set of attempts."""
        return self._transition(job_id, "retry", now)

    def cancel(self, job_id: str, now: datetime) -> Job:
        """Pending or processing → cancelled."""
        return self._transition(job_id, "cancel", now)

    # ------------------------------------------------------------------ bulk actions

    def bulk_candidates(
        self,
        action: str,
        *,
        status: str | None = None,
        type: str | None = None,
        q: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Candidate]:
        """The jobs ``action`` may change that match the filters, oldest first (``since``:
        dated by the action's column, e.g. when a failed job failed)."""
        t = TRANSITIONS[action]
        where, params = self._filters(status, type, q)
        if not status:
            where.append(f"status IN ({t.allowed_sql})")
        if since is not None:
            where.append(f"{t.dated_by} >= :since")
            params["since"] = self.d.ts(since)
        sql = "SELECT id, status, error FROM background_jobs WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at, id"
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = limit
        with self.read() as conn:
            rows = conn.execute(text(sql), params).all()
        return [Candidate(str(r[0]), r[1], r[2]) for r in rows]

    def bulk_apply(self, action: str, matched: Sequence[Candidate], now: datetime) -> int:
        """Apply ``action`` to the matched jobs in one transaction; each row is written only
        if its status is still the one it was matched with. Returns how many were written."""
        t = TRANSITIONS[action]
        by_status: dict[str, list[str]] = {}
        for c in matched:
            if c.status in t.allowed:
                by_status.setdefault(c.status, []).append(c.id)
        changed = 0
        where = f"{self.d.in_json('id', 'ids')} AND {self.d.unindexed('status')} = :was"
        with self.write() as conn:
            for was, ids in by_status.items():
                changed += conn.execute(
                    text(f"UPDATE background_jobs SET {t.sets} WHERE {where}"),
                    {"ids": json.dumps(ids), "was": was, "now": self.d.ts(now)},
                ).rowcount
        return changed

    def jobs_by_ids(self, ids: Sequence[str]) -> list[Job]:
        """The jobs with these ids, in the order given (missing ones left out)."""
        if not ids:
            return []
        with self.read() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {JOB_FIELDS} FROM background_jobs WHERE {self.d.in_json('id', 'ids')}"
                ),
                {"ids": json.dumps(list(ids))},
            ).all()
        found = {str(r.id): self._job(r) for r in rows}
        return [found[i] for i in ids if i in found]

    def recover_stuck(self, now: datetime, stuck_after: timedelta) -> tuple[int, int]:
        """Reset jobs still ``processing`` whose last update is older than ``stuck_after``.

        One guarded statement: a job that finishes meanwhile no longer matches the WHERE
        and is never overwritten. A job with no attempts left becomes failed.
        Returns (reset to pending, failed).
        """
        spent = "attempts + 1 >= max_attempts"
        with self.write() as conn:
            rows = conn.execute(
                text(
                    f"""UPDATE background_jobs SET
                      status = CASE WHEN {spent} THEN 'failed' ELSE 'pending' END,
                      progress = 0,
                      message = CASE WHEN {spent} THEN 'Maximum retries exceeded'
                                     ELSE 'Recovered from stuck state' END,
                      error = CASE WHEN {spent} THEN 'Maximum retries exceeded' ELSE error END,
                      completed_at = CASE WHEN {spent} THEN :now ELSE NULL END,
                      started_at = CASE WHEN {spent} THEN started_at ELSE NULL END,
                      attempts = attempts + 1,
                      updated_at = :now
                    WHERE status = 'processing' AND updated_at < :cutoff
                    RETURNING status"""
                ),
                {"now": self.d.ts(now), "cutoff": self.d.ts(now - stuck_after)},
            ).all()
        failed = sum(1 for r in rows if r[0] == "failed")
        return len(rows) - failed, failed

    # ------------------------------------------------------------------ workload (demo, tests)

    def enqueue(self, jobs: Sequence[NewJob], now: datetime) -> list[str]:
        ids = [j.id or str(uuid.uuid4()) for j in jobs]
        rows = [
            {
                "id": job_id,
                "type": j.type,
                "payload": json.dumps(j.payload) if j.payload is not None else None,
                "max_attempts": j.max_attempts,
                "now": self.d.ts(now),
            }
            for job_id, j in zip(ids, jobs, strict=True)
        ]
        with self.write() as conn:
            conn.execute(
                text(
                    "INSERT INTO background_jobs (id, type, status, progress, payload, attempts, "
                    "max_attempts, created_at, updated_at) VALUES "
                    "(:id, :type, 'pending', 0, :payload, 0, :max_attempts, :now, :now)"
                ),
                rows,
            )
        return ids

    def claim(self, now: datetime) -> Job | None:
        """Take the oldest pending job (SKIP LOCKED on PostgreSQL: no job runs twice)."""
        with self.write() as conn:
            row = conn.execute(
                text(
                    f"""UPDATE background_jobs SET status = 'processing', started_at = :now,
                          updated_at = :now, progress = 0, message = 'Started'
                    WHERE id = (SELECT id FROM background_jobs WHERE status = 'pending'
                                ORDER BY created_at, id LIMIT 1{self.d.skip_locked})
                      AND status = 'pending'
                    RETURNING {JOB_FIELDS}"""
                ),
                {"now": self.d.ts(now)},
            ).first()
        return self._job(row) if row else None

    # A worker's writes name its claim (attempts, started_at), not just the job: once a job
    # was recovered and claimed again, the first worker's late writes match nothing.
    _MINE = "id = :id AND status = 'processing' AND attempts = :attempts AND started_at = :started"

    def _claim_params(self, job: Job) -> dict[str, Any]:
        return {"id": job.id, "attempts": job.attempts, "started": self.d.ts(job.started_at)}

    def progress(self, job: Job, progress: int, message: str, now: datetime) -> bool:
        with self.write() as conn:
            n = conn.execute(
                text(
                    "UPDATE background_jobs SET progress = :p, message = :m, updated_at = :now "
                    f"WHERE {self._MINE}"
                ),
                {**self._claim_params(job), "p": progress, "m": message, "now": self.d.ts(now)},
            ).rowcount
        return n == 1

    def complete(self, job: Job, now: datetime) -> bool:
        with self.write() as conn:
            n = conn.execute(
                text(
                    "UPDATE background_jobs SET status = 'completed', progress = 100, "
                    "message = 'Job completed successfully', error = NULL, "
                    "updated_at = :now, completed_at = :now "
                    f"WHERE {self._MINE}"
                ),
                {**self._claim_params(job), "now": self.d.ts(now)},
            ).rowcount
        return n == 1

    def fail(self, job: Job, error: str, now: datetime) -> str | None:
        """Record a failed attempt: back to pending while attempts remain, else failed."""
        spent = "attempts + 1 >= max_attempts"
        with self.write() as conn:
            row = conn.execute(
                text(
                    f"""UPDATE background_jobs SET
                      status = CASE WHEN {spent} THEN 'failed' ELSE 'pending' END,
                      message = CASE WHEN {spent} THEN 'Job failed'
                                     ELSE 'Job retry attempt ' || (attempts + 1) END,
                      error = :error, attempts = attempts + 1, updated_at = :now,
                      completed_at = CASE WHEN {spent} THEN :now ELSE NULL END,
                      started_at = CASE WHEN {spent} THEN started_at ELSE NULL END
                    WHERE {self._MINE}
                    RETURNING status"""
                ),
                {**self._claim_params(job), "error": error, "now": self.d.ts(now)},
            ).first()
        return row[0] if row else None

    # ------------------------------------------------------------------ processing pause

    def pause(self, pause_id: str, reason: str, expires: datetime) -> None:
        """Pause processing (for every agent on the store) until :meth:`resume` or
        ``expires``, whichever comes first; pausing again under one id moves the lease."""
        with self.write() as conn:
            conn.execute(
                text(
                    "INSERT INTO jobtui_pauses (id, reason, expires) VALUES (:id, :r, :e) "
                    "ON CONFLICT (id) DO UPDATE SET expires = excluded.expires"
                ),
                {"id": pause_id, "r": reason, "e": expires.timestamp()},
            )

    def resume(self, pause_id: str) -> None:
        """End one pause; processing resumes when no other is in force. Expired pauses go."""
        with self.write() as conn:
            conn.execute(
                text("DELETE FROM jobtui_pauses WHERE id = :id OR expires <= :now"),
                {"id": pause_id, "now": utcnow().timestamp()},
            )

    def paused(self, now: datetime) -> bool:
        with self.read() as conn:
            return bool(
                conn.execute(
                    text("SELECT COUNT(*) FROM jobtui_pauses WHERE expires > :now"),
                    {"now": now.timestamp()},
                ).scalar()
            )

    # ------------------------------------------------------------------ metrics history

    def add_sample(self, m: PerformanceMetrics) -> None:
        with self.write() as conn:
            conn.execute(
                text(
                    "INSERT INTO job_metrics (ts, queue_depth, processing_rate, success_rate, "
                    "error_rate, average_processing_time, resource_utilization, jobs_per_hour, "
                    "jobs_per_day, cpu_percent, memory_percent, load_average, cpu_count) "
                    "VALUES (:ts, :qd, :pr, :sr, :er, :apt, :ru, :jph, :jpd, :cpu, :mem, :load, "
                    ":cores) ON CONFLICT (ts) DO NOTHING"
                ),
                {
                    "ts": m.timestamp.timestamp(),
                    "qd": m.queue_depth,
                    "pr": m.processing_rate,
                    "sr": m.success_rate,
                    "er": m.error_rate,
                    "apt": m.average_processing_time,
                    "ru": m.resource_utilization,
                    "jph": m.jobs_per_hour,
                    "jpd": m.jobs_per_day,
                    "cpu": m.cpu_percent,
                    "mem": m.memory_percent,
                    "load": m.load_average,
                    "cores": m.cpu_count,
                },
            )

    _SAMPLE = (
        "queue_depth, processing_rate, success_rate, error_rate, average_processing_time, "
        "resource_utilization, jobs_per_hour, jobs_per_day, cpu_percent, memory_percent, "
        "load_average, cpu_count"
    )

    def samples(self, since: datetime, max_points: int) -> list[PerformanceMetrics]:
        """Samples since ``since``, averaged into at most ``max_points`` equal time buckets."""
        lo = since.timestamp()
        with self.read() as conn:
            n, first, last = conn.execute(
                text("SELECT COUNT(*), MIN(ts), MAX(ts) FROM job_metrics WHERE ts >= :lo"),
                {"lo": lo},
            ).one()
            if not n:
                return []
            if n <= max_points:
                rows = conn.execute(
                    text(f"SELECT ts, {self._SAMPLE} FROM job_metrics WHERE ts >= :lo ORDER BY ts"),
                    {"lo": lo},
                ).all()
            else:
                # a hair wider than span/max_points, so the last sample stays in bucket max-1
                step = (float(last) - float(first)) / max_points * 1.000001 or 1.0
                b = self.d.floor_div("(ts - :first)", ":step")
                avgs = ", ".join(f"AVG({c})" for c in self._SAMPLE.split(", "))
                rows = conn.execute(
                    text(
                        f"SELECT AVG(ts), {avgs} FROM job_metrics WHERE ts >= :lo "
                        f"GROUP BY {b} ORDER BY 1"
                    ),
                    {"lo": lo, "first": float(first), "step": step},
                ).all()
        return [_sample(r) for r in rows]

    def latest_sample(self) -> PerformanceMetrics | None:
        with self.read() as conn:
            row = conn.execute(
                text(f"SELECT ts, {self._SAMPLE} FROM job_metrics ORDER BY ts DESC LIMIT 1")
            ).first()
        return _sample(row) if row else None

    def prune(self, metrics_before: datetime, stats_before: datetime) -> None:
        """Drop samples past retention and rollup buckets no window reaches any more."""
        with self.write() as conn:
            conn.execute(
                text("DELETE FROM job_metrics WHERE ts < :t"), {"t": metrics_before.timestamp()}
            )
            for table, _ in schema.stats_levels(self.bucket):
                conn.execute(
                    text(f"DELETE FROM {table} WHERE bucket < :b"),
                    {"b": int(stats_before.timestamp()) // schema.HOURLY * schema.HOURLY},
                )


def _sample(r: Row[*tuple[Any, ...]]) -> PerformanceMetrics:
    return PerformanceMetrics(
        timestamp=datetime.fromtimestamp(float(r[0]), UTC),
        queue_depth=round(float(r[1]), 2),
        processing_rate=round(float(r[2]), 3),
        success_rate=round(float(r[3]), 2),
        error_rate=round(float(r[4]), 2),
        average_processing_time=round(float(r[5]), 1),
        resource_utilization=round(float(r[6]), 1),
        jobs_per_hour=round(float(r[7]), 2),
        jobs_per_day=round(float(r[8]), 2),
        cpu_percent=_opt(r[9], 1),
        memory_percent=_opt(r[10], 1),
        load_average=_opt(r[11], 2),
        cpu_count=None if r[12] is None else round(float(r[12])),
    )


def _opt(value: Any, digits: int) -> float | None:
    """A host figure of a sample: None in rows older than schema v8."""
    return None if value is None else round(float(value), digits)


def _busy(exc: DBAPIError) -> bool:
    """SQLite's SQLITE_BUSY or SQLITE_LOCKED (extended codes included)."""
    name = getattr(exc.orig, "sqlite_errorname", "")
    return isinstance(name, str) and name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]
