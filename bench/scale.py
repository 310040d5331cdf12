"""Agent latency, recovery and backups at 1M and 10M jobs, on SQLite and PostgreSQL, over HTTP.

Fills each store with bench/agent.py's realistic mix (bulk load: triggers and indexes dropped,
rows inserted — COPY on PostgreSQL — then ``schema.create_indexes`` and ``schema.backfill``),
starts the real agent (``jobtui serve``) on a loopback port against it and prints p50/p99 of
health, latest metrics, the first and a deep page of jobs filtered by status, and the errors
endpoint; then recover-stuck with 10,000 stuck jobs set up among the rest (checked: all 10,000
recovered), single-row claim + complete throughput (the trigger cost of a worker's writes),
and backup and restore jobs/s (bench/backup.py's child processes).

    .venv/bin/python bench/scale.py --sizes 1000000 10000000 --stores sqlite postgresql \\
        --database postgresql://postgres@127.0.0.1:5432/jobtui_bench_scale --keep

PostgreSQL: the database must exist; each size gets a schema of its own (``scale_<n>``).
SQLite: files ``<dir>/scale-<n>.db``. With ``--keep`` both stay for the next run, which
reuses them (a filled store is recognised by a ``bench_rows`` entry in ``jobtui_meta``);
without it they are dropped at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import bindparam, text  # noqa: E402

import backup  # noqa: E402
from agent import measure, request, rows, start_agent  # noqa: E402
from jobtui.agent import schema  # noqa: E402
from jobtui.agent.store import JobStore, encode_cursor  # noqa: E402
from jobtui.contract import utcnow  # noqa: E402

COLS = backup.COLS  # the columns of bench/agent.py's rows, in order
PAGE = 50
DEEP_PAGE = 5000
STUCK = 10_000
TARGETS = {  # (endpoint, store, minimum size it applies from): p99 ms
    ("health", "sqlite"): 5.0,
    ("health", "postgresql"): 10.0,
}
PAGE_TARGET = 10.0
RECOVER_TARGET_S = 1.0


@dataclass
class Store:
    kind: str  # sqlite | postgresql
    n: int
    url: str
    folder: Path  # agent's working directory and backup folder
    cleanup: list[str]


# --------------------------------------------------------------------------- filling


def open_store(kind: str, n: int, args: argparse.Namespace, scratch: Path) -> Store:
    if kind == "sqlite":
        folder = Path(args.dir) / f"scale-{n}"
        folder.mkdir(parents=True, exist_ok=True)
        return Store(kind, n, f"sqlite:///{Path(args.dir) / f'scale-{n}.db'}", folder, [])
    if not args.database:
        raise SystemExit("--database postgresql://… is needed for --stores postgresql")
    import psycopg

    name = f"scale_{n}"
    with psycopg.connect(args.database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {name}")
    sep = "&" if "?" in args.database else "?"
    folder = scratch / f"pg-{n}"
    folder.mkdir(parents=True, exist_ok=True)
    return Store(kind, n, f"{args.database}{sep}options=-csearch_path%3D{name}", folder, [name])


def filled(store: JobStore) -> int:
    with store.read() as conn:
        meta = conn.execute(text(
            "SELECT value FROM jobtui_meta WHERE key = 'bench_rows'")).first()  # fmt: skip
    return int(meta[0]) if meta else 0


def fill(url: str, n: int) -> float:
    """Load n rows of the mix in one transaction without triggers or indexes, then rebuild
    both; return seconds taken."""
    store = JobStore(url, pool_size=1)
    store.migrate()
    start = time.perf_counter()
    now = datetime.now(UTC)
    rng = random.Random(42)
    with store.write() as conn:
        if store.d.sqlite:  # before the transaction's first write
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
            conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MB for the index sorts
        conn.execute(text("DELETE FROM background_jobs"))
        schema.drop_triggers(conn, store.d)
        schema.drop_indexes(conn)
        if store.d.sqlite:
            sql = f"INSERT INTO background_jobs ({COLS}) VALUES ({', '.join(['?'] * 12)})"
            for batch in _batches(rows(n, now, rng), 50_000):
                conn.exec_driver_sql(sql, batch)
        else:
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY background_jobs ({COLS}) FROM STDIN") as cp:
                for row in rows(n, now, rng):
                    cp.write_row(row)
        schema.create_indexes(conn)
        schema.install_triggers(conn, store.d, store.bucket)
        schema.backfill(conn, store.d, store.bucket)
        conn.execute(
            text(
                "INSERT INTO jobtui_meta (key, value) VALUES ('bench_rows', :n) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            {"n": str(n)},
        )
    analyze(store)
    store.close()
    return time.perf_counter() - start


def analyze(store: JobStore) -> None:
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if store.d.sqlite else "VACUUM ANALYZE background_jobs")


def _batches(it: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in it:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --------------------------------------------------------------------------- measuring


def deep_cursor(store: JobStore, status: str, page: int) -> tuple[str, int]:
    """The cursor that a client walking page by page would send for ``page`` (1-based), or for
    the last full page when there are fewer."""
    with store.read() as conn:
        count = int(conn.execute(text(
            "SELECT n FROM job_status_counts WHERE status = :s"), {"s": status}).scalar() or 0)  # fmt: skip
        page = max(2, min(page, count // PAGE))
        row = conn.execute(
            text(
                "SELECT created_at, id FROM background_jobs WHERE status = :s "
                "ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET :o"
            ),
            {"s": status, "o": (page - 1) * PAGE - 1},
        ).one()
    created = store.d.from_ts(row[0])
    assert created is not None
    return encode_cursor(created, str(row[1])), page


def wait_for_sample(conn: http.client.HTTPConnection, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        conn.request("GET", "/api/monitoring/metrics?latest=true")
        resp = conn.getresponse()
        resp.read()
        if resp.status == 200 or time.monotonic() > deadline:
            return
        time.sleep(0.5)


STUCK_SETS = {
    # Workers claim the oldest pending job first, so jobs left stuck by a dead fleet are a
    # run of the queue in created_at order: their index entries sit close together.
    "oldest pending (as workers claim them)": "created_at, id",
    # The worst case for the indexes: stuck jobs scattered over the whole table and its
    # seven days (ids are random UUIDs), every index entry on a page of its own.
    "scattered over the table": "id",
}


def stuck_ids(store: JobStore, n: int, order: str) -> list[str]:
    with store.read() as conn:
        return [r[0] for r in conn.execute(text(
            f"SELECT id FROM background_jobs WHERE status = 'pending' ORDER BY {order} LIMIT :n"),
            {"n": n})]  # fmt: skip


def make_stuck(store: JobStore, ids: list[str]) -> None:
    """These jobs: processing, last touched an hour ago (stuck after 10 minutes)."""
    old = store.d.ts(utcnow() - timedelta(hours=1))
    with store.write() as conn:
        conn.execute(
            text(
                "UPDATE background_jobs SET status = 'processing', attempts = 0, progress = 10, "
                "started_at = :old, updated_at = :old, completed_at = NULL "
                "WHERE id IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"old": old, "ids": ids},
        )


def recover_rounds(
    store: JobStore, conn: http.client.HTTPConnection, rounds: int, stuck: int, order: str
) -> list[float]:
    """Seconds per POST /api/admin/recover-stuck with exactly ``stuck`` stuck jobs."""
    request(conn, "POST", "/api/admin/recover-stuck")  # whatever the mix left stuck
    ids = stuck_ids(store, stuck, order)
    assert len(ids) == stuck, f"only {len(ids)} pending jobs to make stuck"
    times = []

    for _ in range(rounds):
        make_stuck(store, ids)
        conn.close()  # idle for longer than the agent's 5 s keep-alive: connect afresh
        t = time.perf_counter()
        body = json.loads(request(conn, "POST", "/api/admin/recover-stuck"))
        times.append(time.perf_counter() - t)
        got = body["recovered"] + body["failed"]
        if got != stuck:
            raise RuntimeError(f"recover-stuck recovered {got}, expected {stuck}")
    return times


def claim_complete(store: JobStore, n: int) -> tuple[float, float]:
    """Single-row statements as a worker makes them: claim (pending → processing) then
    complete, n times; returns (claims/s, completes/s). The jobs are put back afterwards."""
    claim_s = complete_s = 0.0
    done: list[str] = []
    for _ in range(n):
        t = time.perf_counter()
        job = store.claim(utcnow())
        claim_s += time.perf_counter() - t
        assert job is not None
        t = time.perf_counter()
        assert store.complete(job, utcnow())
        complete_s += time.perf_counter() - t
        done.append(job.id)
    with store.write() as conn:
        conn.execute(
            text(
                "UPDATE background_jobs SET status = 'pending', progress = 0, message = NULL, "
                "started_at = NULL, completed_at = NULL WHERE id IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": done},
        )
    return n / claim_s, n / complete_s


def pct(times: list[float]) -> tuple[float, float]:
    s = sorted(times)
    return s[len(s) // 2], s[min(len(s) - 1, int(len(s) * 0.99))]


def verdict(ok: bool, target: str) -> str:
    return f"{target}: {'met' if ok else '**missed**'}"


def bench_one(s: Store, args: argparse.Namespace) -> None:
    store = JobStore(s.url, pool_size=2)
    store.migrate()
    label = f"{s.kind} {s.n:,}"
    have = filled(store)
    if have != s.n or args.refill:
        # In a child process, so that this one stays small: bench/backup.py's children
        # inherit its peak RSS through fork.
        out = subprocess.run(
            [sys.executable, __file__, "--fill-child", s.url, str(s.n)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        took = float(out.stdout.strip().splitlines()[-1])
        print(f"| {label} | fill (bulk load, indexes, rollups) | {took:.1f} s | "
              f"{s.n / took:,.0f} rows/s | |", flush=True)  # fmt: skip
    else:
        print(f"| {label} | fill | reused | | |", flush=True)
    if args.fill_only:
        store.close()
        return
    pages = [
        ("failed jobs, first page", "/api/jobs?status=failed&limit=50"),
    ]
    for status in ("failed", "completed"):
        cursor, page = deep_cursor(store, status, DEEP_PAGE)
        pages.append((f"{status} jobs, page {page:,}", f"/api/jobs?status={status}&limit=50&cursor={cursor}"))  # fmt: skip
    endpoints = [
        ("health", "/api/jobs/health"),
        ("latest metrics", "/api/monitoring/metrics?latest=true"),
        *pages,
        ("errors (24 h)", "/api/monitoring/errors?hours=24"),
    ]
    proc, url = start_agent(s.url, s.folder)
    try:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        wait_for_sample(conn)
        for name, path in endpoints if "http" in args.measure else ():
            reps = args.requests if "errors" not in path else max(50, args.requests // 5)
            p50, p99 = measure(conn, path, reps)
            target = ""
            if name == "health":
                limit = TARGETS[("health", s.kind)]
                if (s.kind == "sqlite" and s.n <= 1_000_000) or s.kind == "postgresql":
                    target = verdict(p99 <= limit, f"≤ {limit:g} ms")
            elif "page" in name:
                target = verdict(p99 <= PAGE_TARGET, f"≤ {PAGE_TARGET:g} ms")
            print(f"| {label} | {name} | {p50:.2f} | {p99:.2f} | {target} |", flush=True)
        stuck = min(STUCK, s.n // 100)
        for which, order in STUCK_SETS.items() if "recover" in args.measure else ():
            times = recover_rounds(store, conn, args.recover_rounds, stuck, order)
            p50, worst = pct(times)
            print(
                f"| {label} | recover-stuck, {stuck:,} stuck, {which} ({len(times)} rounds), ms "
                f"| {p50 * 1000:.0f} | {worst * 1000:.0f} (max) "
                f"| {verdict(worst < RECOVER_TARGET_S, '< 1 s')} |",
                flush=True,
            )
        conn.close()
    finally:
        proc.terminate()
        proc.wait(30)
    if args.claims and "claims" in args.measure:
        claims, completes = claim_complete(store, args.claims)
        print(f"| {label} | claim / complete, single-row ({args.claims:,} each), jobs/s | "
              f"{claims:,.0f} | {completes:,.0f} | |", flush=True)  # fmt: skip
        # The same without the rollup triggers: their share of each statement. Nothing is
        # counted while they are off, and the jobs are put back as they were.
        with store.write() as conn:
            schema.drop_triggers(conn, store.d)
        try:
            claims, completes = claim_complete(store, args.claims)
        finally:
            with store.write() as conn:
                schema.install_triggers(conn, store.d, store.bucket)
        print(f"| {label} | the same without the rollup triggers | "
              f"{claims:,.0f} | {completes:,.0f} | |", flush=True)  # fmt: skip
    store.close()
    if args.backup_ops:
        folder = str(s.folder / "backups")
        b = backup.run("backup", s.url, folder)
        for op in args.backup_ops:
            r = b if op == "backup" else backup.run(op, s.url, folder, b["name"])
            print(
                f"| {label} | {op} | {r['seconds']:.1f} s | {r['jobs'] / r['seconds']:,.0f} jobs/s "
                f"| peak RSS {r['peak_mb']:.0f} MB |",
                flush=True,
            )
        shutil.rmtree(folder, ignore_errors=True)
        if s.kind == "postgresql" and args.keep:  # a restore rewrote every row
            store = JobStore(s.url, pool_size=1)
            analyze(store)
            store.close()


def drop(s: Store, args: argparse.Namespace) -> None:
    if s.kind == "sqlite":
        db = Path(s.url.removeprefix("sqlite:///"))
        for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            p.unlink(missing_ok=True)
        shutil.rmtree(s.folder, ignore_errors=True)
        return
    import psycopg

    with psycopg.connect(args.database, autocommit=True) as conn:
        for name in s.cleanup:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"],
                    choices=["sqlite", "postgresql"])  # fmt: skip
    ap.add_argument("--database", help="PostgreSQL URL of an existing database")
    ap.add_argument("--dir", default="/tmp/jobtui-scale", help="where SQLite files go")
    ap.add_argument("--keep", action="store_true", help="keep the filled stores for next time")
    ap.add_argument("--refill", action="store_true", help="fill again even if a store is kept")
    ap.add_argument("--requests", type=int, default=1000, help="per endpoint (errors: a fifth)")
    ap.add_argument("--recover-rounds", type=int, default=5)
    ap.add_argument("--claims", type=int, default=2000, help="single-row claim/complete pairs")
    ap.add_argument("--backup-ops", nargs="*", default=["backup", "restore-full"],
                    choices=["backup", "restore-full", "restore-empty"])  # fmt: skip
    ap.add_argument("--measure", nargs="+", default=["http", "recover", "claims"],
                    choices=["http", "recover", "claims"])  # fmt: skip
    ap.add_argument("--fill-only", action="store_true", help="fill (or reuse) and stop")
    ap.add_argument("--fill-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.fill_child:
        print(fill(args.fill_child[0], int(args.fill_child[1])))
        return
    print("| store, jobs | measure | p50 ms | p99 ms | target (p99) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for n in args.sizes:
            for kind in args.stores:
                s = open_store(kind, n, args, Path(scratch))
                try:
                    bench_one(s, args)
                finally:
                    if not args.keep:
                        drop(s, args)


if __name__ == "__main__":
    main()
