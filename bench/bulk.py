"""Bulk repair by cause: 10,000 failed jobs of one category, retried in one request.

Fills a fresh SQLite file with bench/agent.py's realistic mix (the background), adds 10,000
jobs that failed with the seed's rate-limit error over the last 20 hours, starts the real
agent and times, over HTTP, one dry run and then the real retry of the category
(``POST /api/jobs/bulk``), each a single request. Target: under 1 s each.

    .venv/bin/python bench/bulk.py                        # 100k background jobs
    .venv/bin/python bench/bulk.py --background 10000 --failed 10000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from agent import fill, start_agent  # noqa: E402
from jobtui.contract import iso  # noqa: E402

ERROR = "OpenAI API Error: Rate limit exceeded"
CATEGORY = "Rate Limiting"
COLUMNS = (
    "id, type, status, progress, message, error, attempts, max_attempts, "
    "created_at, updated_at, started_at, completed_at"
)


def add_failures(path: Path, n: int) -> float:
    """``n`` jobs that failed with the rate-limit error over the last 20 hours, inserted
    through the triggers (as an application would); seconds taken."""
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        finished = now - timedelta(seconds=72_000 * (n - i) / n)
        started = finished - timedelta(seconds=2)
        created = started - timedelta(seconds=1)
        rows.append(
            (str(uuid.uuid4()), "story_generation", "failed", 0, "Job failed", ERROR, 3, 3,
             iso(created), iso(finished), iso(started), iso(finished))
        )  # fmt: skip
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.executemany(f"INSERT INTO background_jobs ({COLUMNS}) VALUES ({','.join('?' * 12)})", rows)
    conn.commit()
    conn.close()
    return time.perf_counter() - start


def post(conn: http.client.HTTPConnection, body: dict[str, object]) -> tuple[float, dict]:
    """One ``POST /api/jobs/bulk``: (seconds, answer)."""
    raw = json.dumps(body)
    t = time.perf_counter()
    conn.request("POST", "/api/jobs/bulk", raw, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    took = time.perf_counter() - t
    if resp.status != 200:
        raise RuntimeError(f"POST /api/jobs/bulk: {resp.status} {data[:200]!r}")
    return took, json.loads(data)


def count(conn: http.client.HTTPConnection) -> tuple[float, int]:
    """The Errors tab's count of the category: (seconds, count)."""
    t = time.perf_counter()
    conn.request("GET", "/api/monitoring/errors?hours=24")
    report = json.loads(conn.getresponse().read())
    took = time.perf_counter() - t
    return took, next((c["count"] for c in report["categories"] if c["category"] == CATEGORY), 0)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, {platform.system()} {platform.release()}; load {load}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--background", type=int, default=100_000, help="other jobs in the table")
    ap.add_argument("--failed", type=int, default=10_000, help="failures of the category")
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        took = fill(path, args.background)
        print(f"filled {args.background:,} background jobs in {took:.1f} s")
        took = add_failures(path, args.failed)
        print(f"added {args.failed:,} failed jobs ({CATEGORY}) in {took:.1f} s")
        proc, url = start_agent(f"sqlite:///{path}", Path(tmp))
        try:
            host, port = url.removeprefix("http://").rsplit(":", 1)
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            took, before = count(conn)
            print(f"errors endpoint (24 h): {took:.3f} s, {CATEGORY} {before:,}")
            ask = {"action": "retry", "status": "failed", "category": CATEGORY, "hours": 24}
            print(f"{'request':<26} {'seconds':>8} {'matched':>8} {'changed':>8} {'skipped':>8}")
            for name, body in (("dry run", {**ask, "dryRun": True}), ("retry", ask)):
                took, r = post(conn, body)
                print(
                    f"{name:<26} {took:>8.3f} {r['matched']:>8} {r['changed']:>8} {r['skipped']:>8}"
                )
            took, after = count(conn)
            print(f"errors endpoint (24 h): {took:.3f} s, {CATEGORY} {after:,}")
            conn.close()
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
