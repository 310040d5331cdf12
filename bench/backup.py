"""Backup and restore throughput and peak memory at 100k and 1M jobs.

Fills a fresh SQLite file (or a PostgreSQL schema with --database) with the realistic mix of
bench/agent.py, then runs each operation in a child process of its own, so that its peak RSS
is its own: a backup, a restore into the emptied table (all inserts), a restore over the full
table (every row equal to its record: nothing to write) and a restore over the table after
every row's message was changed (all updates).

    .venv/bin/python bench/backup.py                      # 100k and 1M on SQLite
    .venv/bin/python bench/backup.py --sizes 100000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import text  # noqa: E402

from agent import rows  # noqa: E402
from jobtui.agent import schema  # noqa: E402
from jobtui.agent.backups import Backups  # noqa: E402
from jobtui.agent.store import JobStore  # noqa: E402

COLS = (
    "id, type, status, progress, message, error, attempts, max_attempts, "
    "created_at, updated_at, started_at, completed_at"
)


def fill(url: str, n: int) -> None:
    store = JobStore(url)
    store.migrate()
    marks = ", ".join([store.d.placeholder] * 12)
    sql = f"INSERT INTO background_jobs ({COLS}) VALUES ({marks})"
    rng = random.Random(42)
    batch: list[tuple] = []
    with store.write() as conn:
        schema.drop_triggers(conn, store.d)
        for row in rows(n, datetime.now(UTC), rng):
            batch.append(row)
            if len(batch) == 20_000:
                conn.exec_driver_sql(sql, batch)
                batch.clear()
        if batch:
            conn.exec_driver_sql(sql, batch)
        schema.install_triggers(conn, store.d, store.bucket)
        schema.backfill(conn, store.d, store.bucket)
    store.close()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(op: str, url: str, folder: str, name: str) -> None:
    """One operation; prints JSON with its figures (CPU: this process's, so on PostgreSQL
    the client's share only; on a busy machine it shows the work, the seconds the wait)."""
    store = JobStore(url)
    store.migrate()
    backups = Backups(store, folder)
    start, cpu_start = time.perf_counter(), _cpu()
    if op == "backup":
        r = backups.create()
        jobs, name = r.jobs, r.name
    else:
        if op in ("restore-empty", "restore-changed"):
            with store.write() as conn:
                if op == "restore-empty":
                    conn.execute(text("DELETE FROM background_jobs"))
                else:  # no rollup counts messages: without the triggers (PostgreSQL's
                    # join the old and new rows of the statement, unindexed: minutes at 100k)
                    schema.drop_triggers(conn, store.d)
                    conn.execute(text("UPDATE background_jobs SET message = 'changed'"))
                    schema.install_triggers(conn, store.d, store.bucket)
            start, cpu_start = time.perf_counter(), _cpu()
        jobs = backups.restore(name).jobs
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_start
    peak_mb = usage.ru_maxrss / 1024
    print(
        json.dumps({"jobs": jobs, "seconds": seconds, "cpu": cpu, "peak_mb": peak_mb, "name": name})
    )


def run(op: str, url: str, folder: str, name: str = "") -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", op, url, folder, name],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--database", help="a PostgreSQL URL (default: a temporary SQLite file)")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    print(
        f"{'jobs':>9}  {'operation':<26} {'seconds':>8} {'jobs/s':>9} {'CPU s':>6} {'peak RSS MB':>12}"
    )
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database or f"sqlite:///{Path(tmp) / 'bench.db'}"
            if args.database:
                store = JobStore(url)
                store.migrate()
                with store.write() as conn:
                    conn.execute(text("DELETE FROM background_jobs"))
                store.close()
            fill(url, n)
            folder = str(Path(tmp) / "backups")
            b = run("backup", url, folder)
            for label, op in (
                ("backup", None),
                ("restore into empty table", "restore-empty"),
                ("restore over full table", "restore-full"),
                ("restore over changed table", "restore-changed"),
            ):
                r = b if op is None else run(op, url, folder, b["name"])
                rate = r["jobs"] / r["seconds"]
                print(
                    f"{n:>9}  {label:<26} {r['seconds']:>8.2f} {rate:>9.0f} {r['cpu']:>6.2f} "
                    f"{r['peak_mb']:>12.1f}"
                )


if __name__ == "__main__":
    main()
