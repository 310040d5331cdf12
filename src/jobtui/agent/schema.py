"""The job store's schema and its versioned, idempotent migrations.

Besides ``background_jobs`` the agent keeps small rollup tables that triggers maintain on every
write, whoever writes (the user's application, our workers, a restore). They make the health
figures O(1) in the table's size:

- ``job_status_counts``: rows per status;
- ``job_stats``: per time bucket (``stats_bucket`` seconds wide) the jobs that finished in it
  (completed, failed, run time of completed ones) and the jobs that started in it (wait time);
  kept equal to an aggregate of the table's current rows, so deletes and restores stay right;
- ``job_counters`` / ``job_duration_buckets``: monotonic totals for Prometheus, bumped on
  each transition into completed or failed.

``jobtui_pauses`` keeps "processing paused" where every agent on the store sees it.

Every migration can run again without harm; ``jobtui_meta`` records the version reached.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from jobtui.agent.db import Dialect

SCHEMA_VERSION = 8
DURATION_BUCKETS: tuple[float, ...] = (
    0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600,
)  # fmt: skip
INF = 1e308  # stands for +Inf in job_duration_buckets

JOB_COLUMNS: dict[str, tuple[str, str]] = {
    # name: (SQLite type and default, PostgreSQL type and default)
    "type": ("TEXT NOT NULL DEFAULT 'default'", "TEXT NOT NULL DEFAULT 'default'"),
    "status": ("TEXT NOT NULL DEFAULT 'pending'", "TEXT NOT NULL DEFAULT 'pending'"),
    "progress": ("INTEGER NOT NULL DEFAULT 0", "INTEGER NOT NULL DEFAULT 0"),
    "message": ("TEXT", "TEXT"),
    "payload": ("TEXT", "JSONB"),
    "error": ("TEXT", "TEXT"),
    "attempts": ("INTEGER NOT NULL DEFAULT 0", "INTEGER NOT NULL DEFAULT 0"),
    "max_attempts": ("INTEGER NOT NULL DEFAULT 3", "INTEGER NOT NULL DEFAULT 3"),
    "created_at": ("TEXT NOT NULL DEFAULT ''", "TIMESTAMPTZ NOT NULL DEFAULT now()"),
    "updated_at": ("TEXT NOT NULL DEFAULT ''", "TIMESTAMPTZ NOT NULL DEFAULT now()"),
    "started_at": ("TEXT", "TIMESTAMPTZ"),
    "completed_at": ("TEXT", "TIMESTAMPTZ"),
}

INDEXES: tuple[tuple[str, str], ...] = (
    ("ix_jobs_created", "(created_at, id)"),
    ("ix_jobs_status_created", "(status, created_at, id)"),
    ("ix_jobs_type_created", "(type, created_at, id)"),
    # Partial: a job has an entry only while a query can want it (stuck jobs are processing,
    # last finish and recent failures have a completed_at). PostgreSQL writes an entry in
    # every index whose predicate holds on each version of a row whose status changes, so
    # recovering jobs to pending skips these two, and claiming them the second.
    ("ix_jobs_stuck", "(status, updated_at) WHERE status = 'processing'"),
    ("ix_jobs_finished", "(status, completed_at) WHERE completed_at IS NOT NULL"),
)
RETIRED_INDEXES = ("ix_jobs_status_updated", "ix_jobs_status_completed")  # before v6


def _columns(conn: Connection, d: Dialect, table: str) -> set[str]:
    if d.sqlite:
        rows = conn.execute(text(f"PRAGMA table_info({table})")).all()
        return {r[1] for r in rows}
    rows = conn.execute(
        text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = :t AND table_schema = current_schema()"
        ),
        {"t": table},
    ).all()
    return {r[0] for r in rows}


def _jobs_table(conn: Connection, d: Dialect, _bucket: int) -> None:
    """1: ``background_jobs`` with our columns (added to an existing table) and its indexes."""
    i = 0 if d.sqlite else 1
    cols = ",\n  ".join(f"{name} {types[i]}" for name, types in JOB_COLUMNS.items())
    conn.execute(
        text(f"CREATE TABLE IF NOT EXISTS background_jobs (\n  id TEXT PRIMARY KEY,\n  {cols}\n)")
    )
    have = _columns(conn, d, "background_jobs")
    for name, types in JOB_COLUMNS.items():
        if name not in have:
            conn.execute(text(f"ALTER TABLE background_jobs ADD COLUMN {name} {types[i]}"))
    create_indexes(conn)


def _rollups(conn: Connection, d: Dialect, bucket: int) -> None:
    """2: rollup tables, the triggers that maintain them, and a backfill from the table."""
    real = "REAL" if d.sqlite else "DOUBLE PRECISION"
    big = "INTEGER" if d.sqlite else "BIGINT"
    for ddl in (
        f"CREATE TABLE IF NOT EXISTS job_status_counts (status TEXT PRIMARY KEY, n {big} NOT NULL)",
        *(
            f"""CREATE TABLE IF NOT EXISTS {table} (
              bucket {big} PRIMARY KEY,
              completed {big} NOT NULL DEFAULT 0, failed {big} NOT NULL DEFAULT 0,
              run_ms {big} NOT NULL DEFAULT 0, run_n {big} NOT NULL DEFAULT 0,
              wait_ms {big} NOT NULL DEFAULT 0, wait_n {big} NOT NULL DEFAULT 0)"""
            for table, _ in stats_levels(bucket)
        ),
        f"CREATE TABLE IF NOT EXISTS job_counters (name TEXT PRIMARY KEY, value {real} NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS job_duration_buckets (le {real} PRIMARY KEY, n {big} NOT NULL)",
    ):
        conn.execute(text(ddl))
    install_triggers(conn, d, bucket)
    backfill(conn, d, bucket)


def _metrics_table(conn: Connection, d: Dialect, _bucket: int) -> None:
    """3: the metrics collector's history (timestamps as epoch seconds)."""
    real = "REAL" if d.sqlite else "DOUBLE PRECISION"
    fields = ", ".join(
        f"{c} {real} NOT NULL"
        for c in [
            "queue_depth",
            "processing_rate",
            "success_rate",
            "error_rate",
            "average_processing_time",
            "resource_utilization",
            "jobs_per_hour",
            "jobs_per_day",
        ]
    )
    conn.execute(text(f"CREATE TABLE IF NOT EXISTS job_metrics (ts {real} PRIMARY KEY, {fields})"))


def _triggers_v4(conn: Connection, d: Dialect, bucket: int) -> None:
    """4: triggers that an outer upsert cannot break (SQLite), statement-level (PostgreSQL)."""
    install_triggers(conn, d, bucket)


def _partial_indexes(conn: Connection, _d: Dialect, _bucket: int) -> None:
    """6: the stuck-jobs and finished-jobs indexes become partial (:data:`INDEXES`)."""
    for name in RETIRED_INDEXES:
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    create_indexes(conn)  # the three others exist already


def _pauses_table(conn: Connection, d: Dialect, _bucket: int) -> None:
    """7: pauses of processing, one row each, seen by every agent on the store. A pause
    lasts until its holder deletes it or its lease (``expires``, epoch seconds) runs out."""
    real = "REAL" if d.sqlite else "DOUBLE PRECISION"
    conn.execute(
        text(
            "CREATE TABLE IF NOT EXISTS jobtui_pauses "
            f"(id TEXT PRIMARY KEY, reason TEXT NOT NULL, expires {real} NOT NULL)"
        )
    )


HOST_COLUMNS = ("cpu_percent", "memory_percent", "load_average", "cpu_count")


def _metrics_host(conn: Connection, d: Dialect, _bucket: int) -> None:
    """8: each sample also records the sampling agent's host (CPU %, memory %, 5-minute
    load, CPU count); nullable, so the samples taken before stay as they are."""
    real = "REAL" if d.sqlite else "DOUBLE PRECISION"
    have = _columns(conn, d, "job_metrics")
    for name in HOST_COLUMNS:
        if name not in have:
            kind = "INTEGER" if name == "cpu_count" else real
            conn.execute(text(f"ALTER TABLE job_metrics ADD COLUMN {name} {kind}"))


MIGRATIONS: tuple[tuple[int, Callable[[Connection, Dialect, int], None]], ...] = (
    (1, _jobs_table),
    (2, _rollups),
    (3, _metrics_table),
    (4, _triggers_v4),
    (5, _triggers_v4),  # PostgreSQL: progress-only updates skip the rollups
    (6, _partial_indexes),
    (7, _pauses_table),
    (8, _metrics_host),
)


def migrate(engine: Engine, d: Dialect, stats_bucket: int = 60) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; return the version it was at."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS jobtui_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
        )
        if not d.sqlite:  # one migrating agent at a time
            conn.execute(text("SELECT pg_advisory_xact_lock(8787)"))
        row = conn.execute(
            text("SELECT value FROM jobtui_meta WHERE key = 'schema_version'")
        ).first()
        current = int(row[0]) if row else 0
        brow = conn.execute(
            text("SELECT value FROM jobtui_meta WHERE key = 'stats_bucket'")
        ).first()
        bucket = int(brow[0]) if brow else stats_bucket  # fixed when the database is created
        for version, step in MIGRATIONS:
            if version > current:
                step(conn, d, bucket)
        _set_meta(conn, d, "schema_version", str(SCHEMA_VERSION))
        _set_meta(conn, d, "stats_bucket", str(bucket))
    return current


def stats_bucket(conn: Connection) -> int:
    row = conn.execute(text("SELECT value FROM jobtui_meta WHERE key = 'stats_bucket'")).first()
    return int(row[0]) if row else 60


def _set_meta(conn: Connection, d: Dialect, key: str, value: str) -> None:
    conn.execute(
        text(
            "INSERT INTO jobtui_meta (key, value) VALUES (:k, :v) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        {"k": key, "v": value},
    )


# --------------------------------------------------------------------------- rollup SQL


def _ms_sqlite(later: str, earlier: str) -> str:
    return f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400000.0) AS INTEGER)"


def _bucket_sqlite(col: str, width: int) -> str:
    return f"(CAST(strftime('%s', {col}) AS INTEGER) / {width} * {width})"


HOURLY = 3600


def stats_levels(width: int) -> tuple[tuple[str, int], ...]:
    """The rollup tables and their bucket widths: fine buckets, and hourly ones so that a
    day's window reads about 24 + 2 x 60 rows instead of 1,440. Fine buckets divide an hour."""
    if HOURLY % width:
        raise ValueError(f"stats bucket of {width} s does not divide an hour")
    return (("job_stats", width), ("job_stats_hourly", HOURLY))


def _sqlite_stats(row: str, sign: str, width: int) -> list[str]:
    """Statements adding (+) or removing (-) one row's contribution at every level."""
    return [stmt for table, w in stats_levels(width) for stmt in _sqlite_level(row, sign, table, w)]


def _sqlite_level(row: str, sign: str, table: str, width: int) -> list[str]:
    fin_b = _bucket_sqlite(f"{row}.completed_at", width)
    start_b = _bucket_sqlite(f"{row}.started_at", width)
    finished = f"{row}.status IN ('completed', 'failed') AND {row}.completed_at IS NOT NULL"
    ran = f"{row}.status = 'completed' AND {row}.started_at IS NOT NULL"
    stmts = []
    if sign == "+":
        stmts += [
            # Not INSERT OR IGNORE: an outer upsert's conflict policy would override it.
            f"INSERT INTO {table} (bucket) SELECT {fin_b} WHERE {finished} "
            f"AND NOT EXISTS (SELECT 1 FROM {table} WHERE bucket = {fin_b})",
            f"INSERT INTO {table} (bucket) SELECT {start_b} WHERE {row}.started_at IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {table} WHERE bucket = {start_b})",
        ]
    stmts += [
        f"""UPDATE {table} SET
              completed = completed {sign} ({row}.status = 'completed'),
              failed = failed {sign} ({row}.status = 'failed'),
              run_ms = run_ms {sign} (CASE WHEN {ran}
                  THEN {_ms_sqlite(f"{row}.completed_at", f"{row}.started_at")} ELSE 0 END),
              run_n = run_n {sign} ({ran})
            WHERE {finished} AND bucket = {fin_b}""",
        f"""UPDATE {table} SET
              wait_ms = wait_ms {sign} {_ms_sqlite(f"{row}.started_at", f"{row}.created_at")},
              wait_n = wait_n {sign} 1
            WHERE {row}.started_at IS NOT NULL AND bucket = {start_b}""",
    ]
    return stmts


TRIGGERS_SQLITE = (
    "jobtui_jobs_insert", "jobtui_jobs_delete", "jobtui_jobs_status", "jobtui_jobs_times",
    "jobtui_jobs_finished",
)  # fmt: skip


def drop_indexes(conn: Connection) -> None:
    """For bulk loads: maintaining five indexes row by row costs more than rebuilding them."""
    for name in (*(name for name, _ in INDEXES), *RETIRED_INDEXES):
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


def create_indexes(conn: Connection) -> None:
    for name, cols in INDEXES:
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON background_jobs {cols}"))


def install_triggers(conn: Connection, d: Dialect, width: int) -> None:
    (_sqlite_triggers if d.sqlite else _postgres_triggers)(conn, width)


def drop_triggers(conn: Connection, d: Dialect) -> None:
    """For bulk loads inside one transaction: drop, load, :func:`backfill`, reinstall."""
    if d.sqlite:
        for name in TRIGGERS_SQLITE:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    else:
        for op in ("insert", "update", "delete"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS jobtui_rollup_{op} ON background_jobs"))
        conn.execute(text("DROP TRIGGER IF EXISTS jobtui_rollup ON background_jobs"))


def _sqlite_triggers(conn: Connection, width: int) -> None:
    def trigger(name: str, when: str, body: list[str]) -> None:
        conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        conn.execute(text(f"CREATE TRIGGER {name} {when} BEGIN\n" + ";\n".join(body) + ";\nEND"))

    count_new = [
        "INSERT INTO job_status_counts (status, n) SELECT NEW.status, 0 WHERE NOT EXISTS "
        "(SELECT 1 FROM job_status_counts WHERE status = NEW.status)",
        "UPDATE job_status_counts SET n = n + 1 WHERE status = NEW.status",
    ]
    count_old = ["UPDATE job_status_counts SET n = n - 1 WHERE status = OLD.status"]
    secs = "(julianday(NEW.completed_at) - julianday(NEW.started_at)) * 86400.0"
    timed = "NEW.started_at IS NOT NULL AND NEW.completed_at IS NOT NULL"
    trigger(
        "jobtui_jobs_insert",
        "AFTER INSERT ON background_jobs",
        count_new + _sqlite_stats("NEW", "+", width),
    )
    trigger(
        "jobtui_jobs_delete",
        "AFTER DELETE ON background_jobs",
        count_old + _sqlite_stats("OLD", "-", width),
    )
    trigger(
        "jobtui_jobs_status",
        "AFTER UPDATE OF status ON background_jobs WHEN OLD.status IS NOT NEW.status",
        count_old + count_new,
    )
    trigger(
        "jobtui_jobs_times",
        "AFTER UPDATE OF status, created_at, started_at, completed_at ON background_jobs",
        _sqlite_stats("OLD", "-", width) + _sqlite_stats("NEW", "+", width),
    )
    trigger(
        "jobtui_jobs_finished",
        "AFTER UPDATE OF status ON background_jobs "
        "WHEN NEW.status IN ('completed', 'failed') AND OLD.status IS NOT NEW.status",
        [
            "UPDATE job_counters SET value = value + 1 WHERE name = NEW.status || '_total'",
            f"UPDATE job_counters SET value = value + {secs} "
            f"WHERE name = 'duration_seconds_sum' AND {timed}",
            f"UPDATE job_counters SET value = value + 1 "
            f"WHERE name = 'duration_seconds_count' AND {timed}",
            f"UPDATE job_duration_buckets SET n = n + 1 WHERE {timed} AND le >= {secs}",
        ],
    )


def _pg_contributions(rel: str, sign: int, width: int) -> str:
    """Rows of (bucket, completed, failed, run_ms, run_n, wait_ms, wait_n) that the jobs in
    transition table ``rel`` add (sign 1) or take away (sign -1) at bucket ``width``."""

    def bucket(col: str) -> str:
        return f"(FLOOR(EXTRACT(EPOCH FROM {col}) / {width}) * {width})::BIGINT"

    ran = "(status = 'completed' AND started_at IS NOT NULL)"
    run = "ROUND(EXTRACT(EPOCH FROM completed_at - started_at) * 1000)::BIGINT"
    wait = "ROUND(EXTRACT(EPOCH FROM started_at - created_at) * 1000)::BIGINT"
    return f"""
      SELECT {bucket("completed_at")} AS bucket,
             {sign} * (status = 'completed')::INT AS completed,
             {sign} * (status = 'failed')::INT AS failed,
             {sign} * (CASE WHEN {ran} THEN {run} ELSE 0 END) AS run_ms,
             {sign} * ({ran})::INT AS run_n, 0 AS wait_ms, 0 AS wait_n
      FROM {rel} WHERE status IN ('completed', 'failed') AND completed_at IS NOT NULL
      UNION ALL
      SELECT {bucket("started_at")}, 0, 0, 0, 0, {sign} * {wait}, {sign}
      FROM {rel} WHERE started_at IS NOT NULL"""


def _pg_apply(rels: tuple[tuple[str, int], ...], width: int) -> str:
    """Statements folding a whole statement's transition tables into every rollup."""
    counts = " UNION ALL ".join(f"SELECT status, {sign} AS d FROM {rel}" for rel, sign in rels)
    out = [
        f"""INSERT INTO job_status_counts AS c (status, n)
      SELECT status, SUM(d) FROM ({counts}) AS x GROUP BY status HAVING SUM(d) <> 0
      ON CONFLICT (status) DO UPDATE SET n = c.n + excluded.n;"""
    ]
    for table, w in stats_levels(width):
        parts = " UNION ALL ".join(_pg_contributions(rel, sign, w) for rel, sign in rels)
        out.append(
            f"""INSERT INTO {table} AS s (bucket, completed, failed, run_ms, run_n, wait_ms, wait_n)
      SELECT bucket, SUM(completed), SUM(failed), SUM(run_ms), SUM(run_n), SUM(wait_ms),
             SUM(wait_n)
      FROM ({parts}) AS x GROUP BY bucket
      HAVING SUM(ABS(completed) + ABS(failed) + ABS(run_ms) + ABS(wait_ms) + ABS(wait_n)) <> 0
      ON CONFLICT (bucket) DO UPDATE SET completed = s.completed + excluded.completed,
        failed = s.failed + excluded.failed, run_ms = s.run_ms + excluded.run_ms,
        run_n = s.run_n + excluded.run_n, wait_ms = s.wait_ms + excluded.wait_ms,
        wait_n = s.wait_n + excluded.wait_n;"""
        )
    return "\n    ".join(out)


_PG_UNCHANGED = """
    IF NOT EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
                   WHERE (o.status, o.created_at, o.started_at, o.completed_at)
                         IS DISTINCT FROM (n.status, n.created_at, n.started_at, n.completed_at))
    THEN
      RETURN NULL;  -- progress and messages: nothing any rollup counts
    END IF;
"""

_PG_FINISHED = """
    WITH t AS (
      SELECT n.status, EXTRACT(EPOCH FROM n.completed_at - n.started_at) AS secs
      FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE n.status IN ('completed', 'failed') AND o.status IS DISTINCT FROM n.status),
    v AS (
      SELECT status || '_total' AS name, COUNT(*)::DOUBLE PRECISION AS delta FROM t GROUP BY status
      UNION ALL SELECT 'duration_seconds_sum', SUM(secs) FROM t HAVING COUNT(secs) > 0
      UNION ALL SELECT 'duration_seconds_count', COUNT(secs) FROM t HAVING COUNT(secs) > 0)
    UPDATE job_counters c SET value = c.value + v.delta FROM v WHERE c.name = v.name;
    WITH t AS (
      SELECT EXTRACT(EPOCH FROM n.completed_at - n.started_at) AS secs
      FROM new_rows n JOIN old_rows o ON o.id = n.id
      WHERE n.status IN ('completed', 'failed') AND o.status IS DISTINCT FROM n.status
        AND n.started_at IS NOT NULL AND n.completed_at IS NOT NULL)
    UPDATE job_duration_buckets b SET n = b.n + v.cnt
    FROM (SELECT le, COUNT(*) AS cnt FROM job_duration_buckets, t WHERE t.secs <= le GROUP BY le) v
    WHERE b.le = v.le;"""


def _postgres_triggers(conn: Connection, width: int) -> None:
    """Statement-level triggers over transition tables: one fold per statement, however many
    rows it touched. (Row-level triggers would update the same counter rows once per job;
    PostgreSQL keeps every version of a row updated repeatedly in one transaction, so a bulk
    UPDATE of 20,000 jobs took minutes.)"""
    bodies = {
        "INSERT": ("REFERENCING NEW TABLE AS new_rows", _pg_apply((("new_rows", 1),), width)),
        "DELETE": ("REFERENCING OLD TABLE AS old_rows", _pg_apply((("old_rows", -1),), width)),
        "UPDATE": (
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            _PG_UNCHANGED + _pg_apply((("old_rows", -1), ("new_rows", 1)), width) + _PG_FINISHED,
        ),
    }
    drop_triggers(conn, Dialect("postgresql"))
    for op, (referencing, body) in bodies.items():
        name = f"jobtui_rollup_{op.lower()}"
        conn.execute(
            text(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN\n    {body}\n    RETURN NULL;\nEND $$"
            )
        )
        conn.execute(
            text(
                f"CREATE TRIGGER {name} AFTER {op} ON background_jobs {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
        )


def backfill(conn: Connection, d: Dialect, width: int) -> None:
    """Recompute every rollup from the table's rows (on install, or after bulk changes)."""
    conn.execute(text("DELETE FROM job_status_counts"))
    conn.execute(
        text(
            "INSERT INTO job_status_counts (status, n) "
            "SELECT status, COUNT(*) FROM background_jobs GROUP BY status"
        )
    )
    for status in ("pending", "processing", "completed", "failed", "cancelled"):
        conn.execute(
            text(
                "INSERT INTO job_status_counts (status, n) SELECT :s, 0 WHERE NOT EXISTS "
                "(SELECT 1 FROM job_status_counts WHERE status = :s)"
            ),
            {"s": status},
        )
    (fine, width), (hourly, _) = stats_levels(width)
    _backfill_level(conn, d, fine, width)
    # Fine buckets nest in hours: the hourly level is a sum of the fine one, not another scan.
    conn.execute(text(f"DELETE FROM {hourly}"))
    conn.execute(
        text(
            f"""INSERT INTO {hourly} (bucket, completed, failed, run_ms, run_n, wait_ms, wait_n)
            SELECT {d.floor_div("bucket", str(HOURLY))} * {HOURLY}, SUM(completed), SUM(failed),
                   SUM(run_ms), SUM(run_n), SUM(wait_ms), SUM(wait_n)
            FROM {fine} GROUP BY 1"""
        )
    )
    secs = (
        "(julianday(completed_at) - julianday(started_at)) * 86400.0"
        if d.sqlite
        else "EXTRACT(EPOCH FROM completed_at - started_at)"
    )
    # Totals and the whole histogram from one scan of the finished jobs. SQLite would copy
    # ``secs`` (two julianday() calls) into each of the 18 sums: materialised, it is computed once.
    limits = (*DURATION_BUCKETS, INF)
    sums = ", ".join(f"SUM(CASE WHEN secs <= {le!r} THEN 1 ELSE 0 END)" for le in limits)
    row = conn.execute(
        text(
            f"""WITH finished AS {"MATERIALIZED " if d.sqlite else ""}(
              SELECT status, {secs} AS secs FROM background_jobs
              WHERE status IN ('completed', 'failed'))
            SELECT SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END),
                   COALESCE(SUM(secs), 0), COUNT(secs), {sums}
            FROM finished"""
        )
    ).one()
    conn.execute(text("DELETE FROM job_counters"))
    conn.execute(text("DELETE FROM job_duration_buckets"))
    totals = ("completed_total", "failed_total", "duration_seconds_sum", "duration_seconds_count")
    conn.execute(
        text("INSERT INTO job_counters (name, value) VALUES (:name, :value)"),
        [{"name": n, "value": float(v or 0)} for n, v in zip(totals, row[:4], strict=True)],
    )
    conn.execute(
        text("INSERT INTO job_duration_buckets (le, n) VALUES (:le, :n)"),
        [{"le": le, "n": int(n or 0)} for le, n in zip(limits, row[4:], strict=True)],
    )


def _backfill_level(conn: Connection, d: Dialect, table: str, width: int) -> None:
    if d.sqlite:
        fin_b = _bucket_sqlite("completed_at", width)
        start_b = _bucket_sqlite("started_at", width)
        run = _ms_sqlite("completed_at", "started_at")
        wait = _ms_sqlite("started_at", "created_at")
    else:
        fin_b = f"(FLOOR(EXTRACT(EPOCH FROM completed_at) / {width}) * {width})::BIGINT"
        start_b = f"(FLOOR(EXTRACT(EPOCH FROM started_at) / {width}) * {width})::BIGINT"
        run = "ROUND(EXTRACT(EPOCH FROM completed_at - started_at) * 1000)::BIGINT"
        wait = "ROUND(EXTRACT(EPOCH FROM started_at - created_at) * 1000)::BIGINT"
    ran = "(status = 'completed' AND started_at IS NOT NULL)"
    conn.execute(text(f"DELETE FROM {table}"))
    conn.execute(
        text(
            f"""INSERT INTO {table} (bucket, completed, failed, run_ms, run_n, wait_ms, wait_n)
            SELECT bucket, SUM(completed), SUM(failed), SUM(run_ms), SUM(run_n),
                   SUM(wait_ms), SUM(wait_n)
            FROM (
              SELECT {fin_b} AS bucket,
                     CASE WHEN status = 'completed' THEN 1 ELSE 0 END AS completed,
                     CASE WHEN status = 'failed' THEN 1 ELSE 0 END AS failed,
                     CASE WHEN {ran} THEN {run} ELSE 0 END AS run_ms,
                     CASE WHEN {ran} THEN 1 ELSE 0 END AS run_n,
                     0 AS wait_ms, 0 AS wait_n
              FROM background_jobs
              WHERE status IN ('completed', 'failed') AND completed_at IS NOT NULL
              UNION ALL
              SELECT {start_b}, 0, 0, 0, 0, {wait}, 1
              FROM background_jobs WHERE started_at IS NOT NULL
            ) AS contributions
            GROUP BY bucket"""
        )
    )
