"""Agent latency at 10k, 100k and 1M jobs, over HTTP.

Fills a fresh SQLite file with a realistic mix (80 % completed, 10 % failed with the seed's
error messages, 5 % pending, 5 % cancelled, created over the last 7 days; 100 processing, 10 of
them stuck),
starts the real agent on it and prints p50/p99 of health, latest metrics, the first page of
failed jobs and the errors endpoint.

    .venv/bin/python bench/agent.py                       # 10k, 100k, 1M
    .venv/bin/python bench/agent.py --sizes 10000 --requests 200
    .venv/bin/python bench/agent.py --sizes 10000 --requests 1000 --against 0334ea0

``--against REV`` also starts the agent of another commit (its ``src`` exported with ``git
archive``) on a copy of the same file and times both side by side: each endpoint's requests
alternate between the two in rounds of 50, so a busy machine weighs on both alike.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from jobtui.agent.store import JobStore  # noqa: E402
from jobtui.contract import iso  # noqa: E402

ERRORS = (
    "OpenAI API Error: Rate limit exceeded",
    "Database connection failed",
    "Job exceeded maximum processing time",
    "Out of memory",
    "Maximum retries exceeded",
    "Invalid input: prompt is empty",
    "Network request failed: ECONNRESET",
    "TypeError: Cannot read properties of undefined",
)
TYPES = ("story_generation", "image_generation", "audio_narration", "pdf_export")
MIX = (("completed", 0.80), ("failed", 0.10), ("pending", 0.05), ("cancelled", 0.05))
RUNNING = 100  # jobs processing now (a fleet's worth of workers), 10 of them stuck


def rows(n: int, now: datetime, rng: random.Random):
    span = 7 * 86400
    statuses = [s for s, _ in MIX]
    weights = [w for _, w in MIX]
    for i in range(n):
        status = rng.choices(statuses, weights)[0] if i >= RUNNING else "processing"
        created = now - timedelta(seconds=rng.uniform(0, span))
        if status == "processing":
            created = now - timedelta(
                seconds=rng.uniform(60, 900) if i < 10 else rng.uniform(0, 60)
            )
        started = finished = None
        if status in ("completed", "failed", "processing"):
            started = min(created + timedelta(seconds=rng.uniform(0.1, 60)), now)
        if status in ("completed", "failed"):
            finished = min(started + timedelta(seconds=rng.expovariate(1 / 30)), now)
        if status == "cancelled":
            finished = created + timedelta(seconds=5)
        updated = finished or started or created
        yield (
            str(uuid.uuid4()),
            rng.choice(TYPES),
            status,
            100 if status == "completed" else 0,
            None,
            rng.choice(ERRORS) if status == "failed" else None,
            1 if status == "failed" else 0,
            3,
            iso(created),
            iso(updated),
            iso(started) if started else None,
            iso(finished) if finished else None,
        )


def fill(path: Path, n: int) -> float:
    """Create the schema, insert n rows through the triggers; return seconds taken."""
    store = JobStore(f"sqlite:///{path}")
    store.migrate()
    store.close()
    import sqlite3

    start = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    rng = random.Random(42)
    now = datetime.now(UTC)
    batch = []
    for row in rows(n, now, rng):
        batch.append(row)
        if len(batch) == 50_000:
            conn.executemany(
                "INSERT INTO background_jobs (id, type, status, progress, message, error, attempts, max_attempts, created_at, updated_at, started_at, completed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                batch,
            )
            batch.clear()
    if batch:
        conn.executemany(
            "INSERT INTO background_jobs (id, type, status, progress, message, error, attempts, max_attempts, created_at, updated_at, started_at, completed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            batch,
        )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - start


def start_agent(
    database: str,
    folder: Path,
    config: str = "agent:\n  metrics_interval: 5s\n",
    src: Path | None = None,
) -> tuple[subprocess.Popen[str], str]:
    """``jobtui serve`` on a free loopback port against ``database`` with the YAML ``config``
    (from the ``src`` folder given, else this checkout's); returns (process, URL). The caller
    stops the process (terminate, wait)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    cfg = folder / "bench.yaml"
    cfg.write_text(config)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobtui",
            "serve",
            "--port",
            "0",
            "--database",
            database,
            "--config",
            str(cfg),
            "--log-level",
            "warn",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=folder,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        proc.wait(5)
        raise RuntimeError(f"agent did not start on {database}")
    return proc, line.strip().rsplit(" ", 1)[-1]


def request(conn: http.client.HTTPConnection, method: str, path: str) -> bytes:
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{method} {path}: {resp.status} {body[:200]!r}")
    return body


def get(conn: http.client.HTTPConnection, path: str) -> None:
    request(conn, "GET", path)


def timed(conn: http.client.HTTPConnection, path: str, n: int) -> list[float]:
    """``n`` sequential requests on one keep-alive connection, in ms each (http.client: the
    client's own overhead stays in the tens of microseconds, so the figures are the
    server's)."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        get(conn, path)
        times.append((time.perf_counter() - t) * 1000)
    return times


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def measure(conn: http.client.HTTPConnection, path: str, n: int) -> tuple[float, float]:
    for _ in range(min(50, n)):
        get(conn, path)
    return percentiles(timed(conn, path, n))


def side_by_side(
    conns: list[http.client.HTTPConnection], path: str, n: int, rounds: int = 50
) -> list[tuple[float, float]]:
    """``n`` requests to each agent, alternating between them every ``n // rounds``."""
    for conn in conns:
        for _ in range(min(50, n)):
            get(conn, path)
    times: list[list[float]] = [[] for _ in conns]
    step = max(1, n // rounds)
    for _ in range(0, n, step):
        for conn, sink in zip(conns, times, strict=True):
            sink.extend(timed(conn, path, step))
    return [percentiles(t) for t in times]


def export(rev: str, folder: Path) -> Path:
    """The ``src`` folder of commit ``rev``, written under ``folder``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


ENDPOINTS = (
    ("health", "/api/jobs/health"),
    ("latest metrics", "/api/monitoring/metrics?latest=true"),
    ("failed jobs, first page", "/api/jobs?status=failed&limit=50"),
    ("errors (24 h)", "/api/monitoring/errors?hours=24"),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--against", metavar="REV", help="also time this commit's agent, alongside")
    args = ap.parse_args()
    if args.against:
        compare(args)
        return
    print(f"{'jobs':>9}  {'endpoint':<24} {'p50 ms':>8} {'p99 ms':>8}")
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            took = fill(path, n)
            print(f"{n:>9}  {'(fill through triggers)':<24} {took:>7.1f}s  {n / took:>8.0f} rows/s")
            proc, url = start_agent(f"sqlite:///{path}", Path(tmp))
            try:
                host, port = url.removeprefix("http://").rsplit(":", 1)
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                for name, ep in ENDPOINTS:
                    reps = args.requests if "errors" not in ep else max(50, args.requests // 5)
                    p50, p99 = measure(conn, ep, reps)
                    print(f"{n:>9}  {name:<24} {p50:>8.2f} {p99:>8.2f}")
                conn.close()
            finally:
                proc.terminate()
                proc.wait(10)


def compare(args: argparse.Namespace) -> None:
    rev = args.against
    print(
        f"{'jobs':>9}  {'endpoint':<24} {rev + ' p50':>12} {'p99':>7}  {'this p50':>9} {'p99':>7}"
    )
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "before").mkdir()
            (folder / "after").mkdir()
            path = folder / "bench.db"
            took = fill(path, n)
            print(f"{n:>9}  {'(fill through triggers)':<24} {took:>7.1f}s")
            shutil.copy(path, folder / "before" / "bench.db")
            shutil.copy(path, folder / "after" / "bench.db")
            src = export(rev, folder / "before")
            procs = []
            try:
                for name, where in (("before", src), ("after", None)):
                    db = f"sqlite:///{folder / name / 'bench.db'}"
                    procs.append(start_agent(db, folder / name, src=where))
                conns = []
                for _, url in procs:
                    host, port = url.removeprefix("http://").rsplit(":", 1)
                    conns.append(http.client.HTTPConnection(host, int(port), timeout=30))
                for label, ep in ENDPOINTS:
                    reps = args.requests if "errors" not in ep else max(50, args.requests // 5)
                    (b50, b99), (a50, a99) = side_by_side(conns, ep, reps)
                    print(f"{n:>9}  {label:<24} {b50:>12.2f} {b99:>7.2f}  {a50:>9.2f} {a99:>7.2f}")
                for conn in conns:
                    conn.close()
            finally:
                for proc, _ in procs:
                    proc.terminate()
                    proc.wait(10)


if __name__ == "__main__":
    main()
