"""Several worker processes on one store never run a job twice; migrations upgrade in place."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import create_engine, event, text

from jobtui.agent.db import _normalise
from jobtui.agent.schema import SCHEMA_VERSION, _metrics_table
from jobtui.agent.store import JobStore, NewJob
from jobtui.contract import PerformanceMetrics, decode, encode, iso, utcnow

WORKER = """
import json, sys
from jobtui.agent.store import JobStore
from jobtui.contract import utcnow
store = JobStore(sys.argv[1], pool_size=2)
done = []
while True:
    job = store.claim(utcnow())
    if job is None:
        break
    if store.complete(job, utcnow()):
        done.append(job.id)
print(json.dumps(done))
"""


def test_worker_processes_never_run_a_job_twice(database):
    """FOR UPDATE SKIP LOCKED on PostgreSQL, one writer at a time on SQLite: four processes
    drain 10,000 jobs, and every job is claimed and completed exactly once."""
    store = JobStore(database)
    store.migrate()
    ids = store.enqueue([NewJob("t") for _ in range(10_000)], utcnow())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, database], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    done: list[str] = []
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0
        done += json.loads(out)
    assert len(done) == len(set(done)) == 10_000
    assert set(done) == set(ids)
    with store.read() as conn:
        counts = dict(
            conn.execute(text("SELECT status, n FROM job_status_counts WHERE n > 0")).all()
        )
    assert counts == {"completed": 10_000}
    store.close()


SEED_TABLE = {
    "sqlite": """CREATE TABLE background_jobs (
        id TEXT PRIMARY KEY, user_id TEXT, job_type TEXT, status TEXT NOT NULL,
        progress INTEGER DEFAULT 0, message TEXT, input_data TEXT, result TEXT, error TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, started_at TEXT, completed_at TEXT)""",
    "postgresql": """CREATE TABLE background_jobs (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(), user_id UUID, job_type TEXT,
        status TEXT NOT NULL, progress INTEGER DEFAULT 0, message TEXT, input_data JSONB,
        result JSONB, error TEXT, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), started_at TIMESTAMPTZ,
        completed_at TIMESTAMPTZ)""",
}


def test_an_existing_seed_table_is_upgraded_in_place(database, agent_factory):
    """A table with only the seed's columns and rows already in it: the agent adds what it
    needs, counts what is there, and a second start changes nothing."""
    kind = "sqlite" if database.startswith("sqlite") else "postgresql"
    engine = create_engine(_normalise(database))
    now = utcnow()
    ts = (lambda d: iso(d)) if kind == "sqlite" else (lambda d: d)
    with engine.begin() as conn:
        conn.execute(text(SEED_TABLE[kind]))
        for i, status in enumerate(["pending", "pending", "processing", "completed", "failed"]):
            conn.execute(
                text(
                    "INSERT INTO background_jobs (id, job_type, status, error, created_at, "
                    "updated_at, started_at, completed_at) VALUES (:id, 'story', :status, :error, "
                    ":created, :updated, :started, :done)"
                ),
                {
                    "id": f"00000000-0000-4000-8000-00000000000{i}",
                    "status": status,
                    "error": "Out of memory" if status == "failed" else None,
                    "created": ts(now - timedelta(minutes=30)),
                    "updated": ts(now - timedelta(minutes=20 if status == "processing" else 1)),
                    "started": ts(now - timedelta(minutes=25)) if status != "pending" else None,
                    "done": ts(now - timedelta(minutes=1))
                    if status in ("completed", "failed")
                    else None,
                },
            )
    engine.dispose()
    a = agent_factory()
    h = httpx.get(a.url + "/api/jobs/health").json()
    assert h["metrics"]["queueDepth"] == 2
    assert h["health"]["stuckJobsCount"] == 1
    assert h["metrics"]["successRate"] == 50.0
    jobs = httpx.get(a.url + "/api/jobs", params={"status": "failed"}).json()["jobs"]
    assert [j["error"] for j in jobs] == ["Out of memory"]
    job_id = jobs[0]["id"]
    assert httpx.post(a.url + f"/api/jobs/{job_id}/retry").json()["status"] == "pending"
    assert httpx.post(a.url + "/api/admin/recover-stuck").json() == {"recovered": 1, "failed": 0}
    r = httpx.post(a.url + "/api/admin/backups", timeout=60)
    assert r.status_code == 201 and r.json()["jobs"] == 5
    assert (
        httpx.post(a.url + f"/api/admin/backups/{r.json()['name']}/restore", timeout=60).status_code
        == 200
    )
    a.stop()
    b = agent_factory(database=a.database)  # migrating again is a no-op
    # the retried and the recovered job wait too now
    assert httpx.get(b.url + "/api/jobs/health").json()["metrics"]["queueDepth"] == 4


def test_a_deep_page_is_an_index_seek(database):
    """Keyset pages cost the same at any depth: the cursor bounds the index range itself.
    (With bound parameters, SQLite seeks on a row value but not on "a < x OR (a = x AND
    b < y)"; it then walked every newer row: 12 ms at page 2,000 of 1M jobs.)"""
    store = JobStore(database)
    store.migrate()
    store.enqueue([NewJob("t") for _ in range(30)], utcnow())
    statements: list[tuple[str, Any]] = []
    event.listen(
        store.engine,
        "before_cursor_execute",
        lambda _c, _cur, stmt, params, _ctx, _many: statements.append((stmt, params)),
    )
    first, cursor = store.jobs_page(status="pending", limit=10)
    second, _ = store.jobs_page(status="pending", limit=10, cursor=cursor)
    assert cursor and {j.id for j in first}.isdisjoint(j.id for j in second)
    stmt, params = statements[-1]
    with store.engine.connect() as conn:
        if database.startswith("sqlite"):
            plan = " ".join(
                str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt, params)
            )
            assert "(created_at,id)<" in plan, plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + stmt, params))
            assert (
                "Index Cond: ((status = " in plan and "created_at" in plan.split("Index Cond")[1]
            ), plan
    store.close()


def _index_names(store: JobStore) -> set[str]:
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'background_jobs'"
        if store.d.sqlite
        else "SELECT indexname FROM pg_indexes "
        "WHERE tablename = 'background_jobs' AND schemaname = current_schema()"
    )
    with store.read() as conn:
        return {r[0] for r in conn.execute(text(sql))}


def test_v6_makes_the_stuck_and_finished_indexes_partial(database):
    """A v5 store loses its full (status, updated_at) and (status, completed_at) indexes for
    partial ones, once; the stuck-jobs and recent-failures queries use them."""
    store = JobStore(database)
    store.migrate()
    with store.write() as conn:  # back to what v5 had
        conn.execute(text("DROP INDEX ix_jobs_stuck"))
        conn.execute(text("DROP INDEX ix_jobs_finished"))
        conn.execute(
            text("CREATE INDEX ix_jobs_status_updated ON background_jobs (status, updated_at)")
        )
        conn.execute(
            text("CREATE INDEX ix_jobs_status_completed ON background_jobs (status, completed_at)")
        )
        conn.execute(text("UPDATE jobtui_meta SET value = '5' WHERE key = 'schema_version'"))
    assert store.migrate() == 5
    assert store.migrate() == SCHEMA_VERSION
    names = _index_names(store)
    assert {"ix_jobs_stuck", "ix_jobs_finished"} <= names
    assert not names & {"ix_jobs_status_updated", "ix_jobs_status_completed"}
    now = utcnow()
    queries = {
        "ix_jobs_stuck": "SELECT COUNT(*) FROM background_jobs "
        "WHERE status = 'processing' AND updated_at < :t",
        "ix_jobs_finished": "SELECT id FROM background_jobs WHERE status = 'failed' "
        "AND completed_at >= :t ORDER BY completed_at DESC LIMIT 10",
    }
    with store.read() as conn:
        if not store.d.sqlite:
            conn.execute(text("SET enable_seqscan = off"))
        for index, sql in queries.items():
            explain = "EXPLAIN QUERY PLAN " if store.d.sqlite else "EXPLAIN "
            rows = conn.execute(text(explain + sql), {"t": store.d.ts(now)}).all()
            plan = " ".join(str(r[-1]) for r in rows)
            assert index in plan, plan
    store.close()


def test_v7_adds_the_pauses_table_once(database):
    """A v6 store gains ``jobtui_pauses``; migrating again changes nothing."""
    store = JobStore(database)
    store.migrate()
    with store.write() as conn:  # back to what v6 had
        conn.execute(text("DROP TABLE jobtui_pauses"))
        conn.execute(text("UPDATE jobtui_meta SET value = '6' WHERE key = 'schema_version'"))
    assert store.migrate() == 6
    store.pause("p", "test", utcnow() + timedelta(minutes=1))
    assert store.migrate() == SCHEMA_VERSION
    assert store.paused(utcnow())
    store.close()


def test_v8_adds_the_host_figures_to_the_samples_and_keeps_the_old_ones(database):
    """A v7 store's samples (no host figures) survive the migration and still read back;
    new samples carry CPU, memory, 5-minute load and CPU count; migrating again is harmless."""
    store = JobStore(database)
    store.migrate()
    with store.write() as conn:  # back to what v7 had: job_metrics without the host columns
        conn.execute(text("DROP TABLE job_metrics"))
        _metrics_table(conn, store.d, 60)
        conn.execute(text("UPDATE jobtui_meta SET value = '7' WHERE key = 'schema_version'"))
    old = utcnow() - timedelta(minutes=2)
    with store.write() as conn:
        conn.execute(
            text(
                "INSERT INTO job_metrics (ts, queue_depth, processing_rate, success_rate, "
                "error_rate, average_processing_time, resource_utilization, jobs_per_hour, "
                "jobs_per_day) VALUES (:ts, 3, 0.5, 90, 10, 1200, 40, 30, 700)"
            ),
            {"ts": old.timestamp()},
        )
    assert store.migrate() == 7
    assert store.migrate() == SCHEMA_VERSION
    new = PerformanceMetrics(
        utcnow(), 4, 0.5, 90.0, 10.0, 1200.0, 60.0, 30, 700,
        cpu_percent=55.5, memory_percent=60.25, load_average=1.75, cpu_count=2,
    )  # fmt: skip
    store.add_sample(new)
    before, after = store.samples(old - timedelta(seconds=1), 500)
    assert before.queue_depth == 3 and before.cpu_percent is None and before.cpu_count is None
    assert (after.cpu_percent, after.memory_percent, after.load_average, after.cpu_count) == (
        55.5, 60.2, 1.75, 2,
    )  # fmt: skip
    wire = encode(before)
    assert wire["cpuPercent"] is None  # null: the figure was not taken
    old_server = {k: v for k, v in wire.items() if v is not None}  # one that lacks the fields
    assert decode(PerformanceMetrics, old_server).load_average is None
    averaged = store.samples(old - timedelta(seconds=1), 1)  # downsampled: old rows count not
    assert len(averaged) == 1 and averaged[0].cpu_percent == 55.5
    store.close()


def test_stale_statistics_do_not_turn_stuck_jobs_into_a_sort(tmp_path):
    """Statistics from a calm moment (100 jobs processing among 10M) make the partial
    stuck-jobs index look cheapest for "processing, oldest first"; when thousands are stuck,
    SQLite then read and sorted them all (health 22 ms at 10M). The health snapshot and the
    status-filtered pages stay on (status, created_at) whatever ANALYZE said."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store = JobStore(url)
    store.migrate()
    store.enqueue([NewJob("t") for _ in range(50)], utcnow())
    with store.write() as conn:
        conn.execute(text("ANALYZE"))
        conn.execute(text("DELETE FROM sqlite_stat1"))
        conn.execute(
            text(
                "INSERT INTO sqlite_stat1 VALUES "
                "('background_jobs', 'ix_jobs_stuck', '100 100 2'), "
                "('background_jobs', 'ix_jobs_status_created', '10000000 2000000 1 1')"
            )
        )
    store.close()
    store = JobStore(url)  # statistics are read when a connection opens
    statements: list[tuple[str, Any]] = []
    event.listen(
        store.engine,
        "before_cursor_execute",
        lambda _c, _cur, stmt, params, _ctx, _many: statements.append((stmt, params)),
    )
    store.snapshot(utcnow(), timedelta(days=1), timedelta(minutes=10))
    store.jobs_page(status="processing", limit=10)
    plans = []
    with store.engine.connect() as conn:
        for stmt, params in list(statements):
            if "ORDER BY created_at" in stmt:
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt, params).all()
                plans.append(" ".join(str(r[-1]) for r in rows))
    assert len(plans) == 2
    for plan in plans:
        assert "TEMP B-TREE" not in plan and "ix_jobs_stuck (status=?)" not in plan, plan
    store.close()
