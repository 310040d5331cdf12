"""Faults, measured: the agent while its database restarts or is locked, its backup disk
fills up, or it is killed mid-restore. Each test prints what it measured (``pytest -s``);
docs/reliability.md keeps the figures."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from jobtui.agent.backups import Backups
from jobtui.agent.store import JobStore
from tests.support import AgentProcess, add_job, add_jobs, free_port, wait_for
from tests.test_backups import bulk_fill, table

MIN = timedelta(minutes=1)
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def measured(what: str, value: str) -> None:
    """A figure for docs/reliability.md, shown with ``pytest -s``."""
    print(f"\nmeasured: {what}: {value}", flush=True)


# --------------------------------------------------------------------------- a private PostgreSQL


class PrivateServer:
    """A PostgreSQL instance of the test's own (initdb into a temporary folder), which the
    test may stop and start while other tests use the machine's shared one."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="jobtui-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.root, "postgres", "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    def _run(self, tool: str, *args: str) -> None:
        cmd = [*self.as_owner, str(self.bin / tool), *args]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120, cwd=self.root)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "60", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_pg() -> Iterator[PrivateServer]:
    if not PG_BIN or not (PG_BIN[-1] / "initdb").exists():
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql")
    server = PrivateServer(PG_BIN[-1])
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


def _status(url: str, timeout: float = 10.0) -> tuple[int, float]:
    """The status of ``GET url`` (0: no answer) and how long it took."""
    start = time.monotonic()
    try:
        code = httpx.get(url, timeout=timeout).status_code
    except httpx.HTTPError:
        code = 0
    return code, time.monotonic() - start


class Poller:
    """Clients asking ``url`` back to back in a thread: every answer's status (0: none) and
    how long it took, in order."""

    def __init__(self, url: str, clients: int = 2):
        self.url = url
        self.answers: list[tuple[float, int, float]] = []  # (when asked, status, seconds)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self) -> None:
        with httpx.Client(timeout=15) as client:
            while not self._stop.is_set():
                start = time.monotonic()
                try:
                    code = client.get(self.url).status_code
                except httpx.HTTPError:
                    code = 0
                self.answers.append((start, code, time.monotonic() - start))

    def __enter__(self) -> Poller:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def since(self, t: float) -> list[tuple[float, int, float]]:
        return [a for a in self.answers if a[0] >= t]


def test_postgresql_restarted_while_the_agent_serves(private_pg, agents):
    """While the database is gone health and reads answer 503 at once, never a hang or a
    500; once it is back the same agent answers 200 again, and samples again, without a
    restart."""
    agent = agents(database=private_pg.url)
    add_job(agent.store, status="pending")
    health = agent.url + "/api/jobs/health"
    jobs = agent.url + "/api/jobs"
    assert _status(health)[0] == 200

    with Poller(health) as polled, Poller(jobs, clients=1) as listed:
        wait_for(lambda: len(polled.answers) > 20)
        stopping = time.monotonic()
        private_pg.stop()
        stopped = time.monotonic()
        wait_for(lambda: len(polled.since(stopped)) > 20 and len(listed.since(stopped)) > 5)
        body = httpx.get(health, timeout=10).json()
        assert body["status"] == "critical" and body["message"] == "Database connection failed"
        assert httpx.get(jobs, timeout=10).json() == {"error": "Database connection failed"}
        starting = time.monotonic()
        private_pg.start()
        back = time.monotonic()
        first_ok = wait_for(
            lambda: next((a for a in polled.since(back) if a[1] == 200), None), timeout=30
        )
        wait_for(lambda: len(polled.since(first_ok[0])) > 20)
    assert agent.proc.poll() is None  # the same process
    answers = polled.answers + listed.answers
    assert {code for _, code, _ in answers} <= {200, 503}, sorted({c for _, c, _ in answers})
    down = [a for a in answers if stopped <= a[0] and a[0] + a[2] <= starting]
    assert down and {code for _, code, _ in down} == {503}
    assert all(code == 200 for _, code, _ in polled.since(first_ok[0]))
    slowest = max(took for _, _, took in down)
    assert slowest < 5, f"a 503 took {slowest:.1f} s"
    assert _status(jobs)[0] == 200
    wait_for(lambda: _latest_sample_after(agent, back), timeout=30)
    assert "Traceback" not in agent.stderr()
    measured("pg_ctl stop -m fast took", f"{(stopped - stopping) * 1000:.0f} ms")
    measured(
        "503 answers while PostgreSQL was down", f"{len(down)}, slowest {slowest * 1000:.0f} ms"
    )
    measured("pg_ctl start -w took", f"{(back - starting) * 1000:.0f} ms")
    measured(
        "pg_ctl start returned → first health 200 asked after it",
        f"{(first_ok[0] + first_ok[2] - back) * 1000:.0f} ms",
    )


def _latest_sample_after(agent: AgentProcess, t: float) -> bool:
    """A metrics sample taken after monotonic time ``t`` (the collector runs again)."""
    r = httpx.get(agent.url + "/api/monitoring/metrics", params={"latest": "true"}, timeout=10)
    if r.status_code != 200:
        return False
    taken = datetime.fromisoformat(r.json()["timestamp"].replace("Z", "+00:00")).timestamp()
    return taken > time.time() - (time.monotonic() - t)


def _processes(server: PrivateServer) -> list[int]:
    """The server's postmaster and its children."""
    pid = int((server.data / "postmaster.pid").read_text().split()[0])
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [pid, *map(int, found.split())]


def test_postgresql_frozen_while_the_agent_serves(private_pg, agents):
    """A database that accepts connections but never answers (its processes stopped, as a
    hung host or a dead network looks): health answers 503 within its deadline, again and
    again, instead of hanging; once the database answers again, so does health with 200."""
    agent = agents(database=private_pg.url)
    health = agent.url + "/api/jobs/health"
    assert _status(health)[0] == 200
    pids = _processes(private_pg)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        frozen: list[tuple[int, float]] = []
        threads = [
            threading.Thread(target=lambda: frozen.append(_status(health, timeout=20)))
            for _ in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        body = httpx.get(health, timeout=20).json()
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    thawed = time.monotonic()
    assert [code for code, _ in frozen] == [503] * 3, frozen
    slowest = max(took for _, took in frozen)
    assert slowest < 9.5, f"a 503 took {slowest:.1f} s: a client with a 10 s timeout gives up"
    assert body["status"] == "critical"
    assert body["message"] == "Database connection failed"
    wait_for(lambda: _status(health)[0] == 200, timeout=60, interval=0.05)
    back = time.monotonic() - thawed
    assert "Traceback" not in agent.stderr()
    measured("health while PostgreSQL is frozen", f"503 after at most {slowest:.1f} s")
    measured("PostgreSQL thawed → first health 200", f"{back * 1000:.0f} ms")


# --------------------------------------------------------------------------- SQLite locked

LOCK_SECONDS = 10.0


@contextlib.contextmanager
def sqlite_locked(path: Path, seconds: float = LOCK_SECONDS) -> Iterator[subprocess.Popen[str]]:
    """Another process holds ``BEGIN EXCLUSIVE`` on the SQLite file for ``seconds``; the
    block starts once it holds the lock."""
    code = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN EXCLUSIVE')\n"
        "c.execute(\"UPDATE background_jobs SET message = 'held' WHERE 0\")\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "c.execute('COMMIT')\n"
        "print('released', flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        if proc.poll() is None:
            proc.wait(seconds + 30)


def _timed(method: str, url: str, **kwargs: Any) -> tuple[int, float, httpx.Response | None]:
    """Status (0: no answer), seconds and the response of one request."""
    start = time.monotonic()
    try:
        r: httpx.Response | None = httpx.request(method, url, timeout=30, **kwargs)
    except httpx.HTTPError:
        r = None
    return (r.status_code if r is not None else 0), time.monotonic() - start, r


def test_sqlite_locked_by_another_writer(tmp_path, agents):
    """Another process holds BEGIN EXCLUSIVE for 10 s. Reads (health included) are served
    from the last committed state, as WAL lets them; each write fails after the busy
    timeout with a 503 that says why and when to try again, well inside a client's 10 s;
    once the lock is released everything works."""
    db = tmp_path / "jobs.db"
    agent = agents(database=f"sqlite:///{db}")
    failed = add_job(agent.store, status="failed", error="boom", started=MIN, finished=MIN)
    pending = add_job(agent.store, status="pending")
    u = agent.url
    backup = httpx.post(u + "/api/admin/backups", timeout=30).json()["name"]
    reads = {
        "health": ("GET", u + "/api/jobs/health", None),
        "jobs": ("GET", u + "/api/jobs", None),
        "job": ("GET", u + f"/api/jobs/{pending}", None),
        "metrics": ("GET", u + "/api/monitoring/metrics", None),
        "errors": ("GET", u + "/api/monitoring/errors", None),
        "backups": ("GET", u + "/api/admin/backups", None),
        "backup": ("POST", u + "/api/admin/backups", None),  # it only reads the table
    }
    writes = {  # afterwards in this order: the restore first, then the changes
        "restore": ("POST", u + f"/api/admin/backups/{backup}/restore", None),
        "retry": ("POST", u + f"/api/jobs/{failed}/retry", None),
        "cancel": ("POST", u + f"/api/jobs/{pending}/cancel", None),
        "bulk retry": ("POST", u + "/api/jobs/bulk", {"action": "retry", "status": "failed"}),
        "recover-stuck": ("POST", u + "/api/admin/recover-stuck", None),
    }
    before = _table(agent)
    answers: dict[str, tuple[int, float, httpx.Response | None]] = {}

    def ask(name: str, method: str, url: str, body: Any) -> None:
        answers[name] = _timed(method, url, json=body)

    with Poller(u + "/api/jobs/health", clients=1) as polled, sqlite_locked(db) as locker:
        locked = time.monotonic()
        threads = [
            threading.Thread(target=ask, args=(name, *req))
            for name, req in {**reads, **writes}.items()
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        held = time.monotonic() - locked
        during = polled.since(locked)
        assert locker.poll() is None, f"the lock went before every answer came ({held:.1f} s)"
    assert during and {code for _, code, _ in during} == {200}, during
    for name in reads:
        code, took, r = answers[name]
        assert code in (200, 201) and took < 5, (name, code, took)
    for name in writes:
        code, took, r = answers[name]
        assert r is not None and code == 503, (name, code, r and r.text)
        assert r.json() == {
            "error": "the database is locked by another writer (waited 5 s); try again"
        }
        assert r.headers["Retry-After"] == "5"
        assert took < 9, f"{name} took {took:.1f} s: a client with a 10 s timeout gives up"
    assert _table(agent) == before  # nothing half-written

    for name, (method, url, body) in writes.items():
        code, _, r = _timed(method, url, json=body)
        assert code == 200, (name, code, r and r.text)
    for job_id, status in ((failed, "pending"), (pending, "cancelled")):
        assert httpx.get(u + f"/api/jobs/{job_id}", timeout=10).json()["status"] == status
    assert "Traceback" not in agent.stderr()
    slowest_read = max([took for _, _, took in during] + [answers[n][1] for n in reads])
    slowest_write = max(answers[n][1] for n in writes)
    measured("lock held while asked", f"{held:.1f} s")
    measured(
        "reads during the lock",
        f"{len(during) + len(reads)} answered 200, slowest {slowest_read * 1000:.0f} ms",
    )
    measured(
        "writes during the lock",
        f"{len(writes)} answered 503 after {min(answers[n][1] for n in writes):.1f}"
        f"–{slowest_write:.1f} s",
    )


def _table(agent: AgentProcess) -> list[tuple[Any, ...]]:
    with agent.store.read() as conn:
        rows = conn.execute(text("SELECT * FROM background_jobs ORDER BY id"))
        return [tuple(r) for r in rows]


# --------------------------------------------------------------------------- backup disk full


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs mounted for the test (root only), unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(disk)],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a small tmpfs for the backups (needs root): {exc}")
    try:
        yield disk
    finally:
        if subprocess.run(["umount", str(disk)], capture_output=True, timeout=30).returncode:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)


def _free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@pytest.mark.parametrize("runs_out_in", ["the data file", "its header"])
def test_the_backup_disk_full_mid_backup(tmp_path, small_disk, agents, runs_out_in):
    """The backup folder's disk fills up while a backup is written (in its data file, or in
    its header once the data fit): 507 saying so, no partial file left or listed, the
    earlier backup intact and restorable, and a backup works again once there is room."""
    agent = agents(
        {"agent": {"backups": {"dir": str(small_disk)}}},
        database=f"sqlite:///{tmp_path / 'jobs.db'}",
    )
    for i in range(20):
        add_job(agent.store, status="failed", error=f"e{i}", started=MIN, finished=MIN)
    u = agent.url
    first = httpx.post(u + "/api/admin/backups", timeout=30)
    assert first.status_code == 201, first.text
    earlier = first.json()["name"]
    kept = _table(agent)
    add_jobs(agent.store, [{"status": "completed", "message": "x" * 200}] * 2000)
    # The next backup's size, from the same rows written elsewhere.
    probe = Backups(agent.store, tmp_path / "probe").create()
    page = os.statvfs(small_disk).f_frsize
    data_pages = -(-probe.size // page) * page
    leave = data_pages // 2 if runs_out_in == "the data file" else data_pages
    filler = small_disk / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * (_free(small_disk) - leave))
    assert _free(small_disk) == leave

    start = time.monotonic()
    r = httpx.post(u + "/api/admin/backups", timeout=30)
    took = time.monotonic() - start
    assert r.status_code == 507, r.text
    assert r.json() == {
        "error": f"backup to {small_disk} failed: the disk is full (No space left on device)"
    }
    listing = httpx.get(u + "/api/admin/backups", timeout=30).json()["backups"]
    assert [(b["name"], b["verified"]) for b in listing] == [(earlier, True)]
    assert sorted(p.name for p in small_disk.iterdir()) == sorted(
        [earlier, earlier + ".meta.json", "filler"]
    )
    assert _free(small_disk) == leave  # nothing of the failed backup stays behind

    restored = httpx.post(u + f"/api/admin/backups/{earlier}/restore", timeout=60)
    assert restored.status_code == 200, restored.text
    with agent.store.write() as conn:  # back to the earlier table exactly
        conn.execute(text("DELETE FROM background_jobs WHERE message = :m"), {"m": "x" * 200})
    assert _table(agent) == kept

    filler.unlink()
    again = httpx.post(u + "/api/admin/backups", timeout=30)
    assert again.status_code == 201, again.text
    assert "Traceback" not in agent.stderr() and "Exception ignored" not in agent.stderr()
    assert "the disk is full" in agent.stderr()  # logged as the error it is
    measured(f"backup disk full in {runs_out_in}: 507 after", f"{took * 1000:.0f} ms")


# --------------------------------------------------------------------------- SIGKILL mid-restore

RESTORE_JOBS = 100_000


def _schema_objects(store: JobStore) -> list[tuple[Any, ...]]:
    """The table's indexes and triggers (a bulk restore drops and rebuilds them)."""
    if store.d.sqlite:
        sql = "SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY 2"
    else:
        sql = (
            "SELECT 'index', indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "UNION ALL SELECT 'trigger', tgname FROM pg_trigger t JOIN pg_class c "
            "ON c.oid = t.tgrelid WHERE NOT t.tgisinternal "
            "AND c.relnamespace = current_schema()::regnamespace ORDER BY 2"
        )
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def _rollups(store: JobStore, since: int) -> tuple[Any, ...]:
    """The status counts, and the sums of the rollup buckets from ``since`` (epoch seconds):
    older buckets are the agent's to prune (past 25 h) whenever a new one starts."""
    with store.read() as conn:
        counts = sorted(
            conn.execute(text("SELECT status, n FROM job_status_counts WHERE n > 0")).all()
        )
        stats = conn.execute(
            text(
                "SELECT SUM(completed), SUM(failed), SUM(run_ms), SUM(wait_n) FROM job_stats "
                "WHERE bucket >= :since"
            ),
            {"since": since},
        ).one()
    return tuple(counts), tuple(int(v or 0) for v in stats)


def _restoring(agent: AgentProcess) -> bool:
    """The agent is well into writing a restore, past dropping the indexes and triggers: on
    SQLite its uncommitted pages fill the WAL (emptied before the restore); on PostgreSQL its
    session runs the upsert from the restore's table or rebuilds an index."""
    store = agent.store
    if store.d.sqlite:
        wal = Path(f"{store.engine.url.database}-wal")
        return wal.exists() and wal.stat().st_size > 8 << 20
    with store.read() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND (query LIKE 'INSERT INTO background_jobs AS j %' "
                    "OR query LIKE 'CREATE INDEX %') AND datname = current_database()"
                )
            ).scalar_one()
        )


def _empty_wal(store: JobStore) -> None:
    if store.d.sqlite:
        with store.read() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def test_sigkill_during_a_restore_leaves_the_table_as_before_or_fully_restored(agent_factory):
    """A real agent restores a backup of 100,000 jobs over a changed table and is killed
    with SIGKILL while it writes: the table is the changed one or the backup's, never a mix,
    with its indexes, triggers and rollups; a new agent then restores it in full."""
    a = agent_factory()
    bulk_fill(a.store, RESTORE_JOBS)
    name = httpx.post(a.url + "/api/admin/backups", timeout=120).json()["name"]
    since = int(time.time()) - 20 * 3600

    def rollups(store: JobStore) -> tuple[Any, ...]:
        return _rollups(store, since)

    full, full_sums, objects = table(a.store), rollups(a.store), _schema_objects(a.store)
    with a.store.write() as conn:  # the disaster the restore repairs
        conn.execute(text("DELETE FROM background_jobs WHERE id > 'job-0050000'"))
        conn.execute(text("UPDATE background_jobs SET status = 'failed', error = 'oops'"))
    changed, changed_sums = table(a.store), rollups(a.store)
    _empty_wal(a.store)

    answered: list[int] = []

    def restore() -> None:
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.post(a.url + f"/api/admin/backups/{name}/restore", timeout=300)
            answered.append(r.status_code)

    thread = threading.Thread(target=restore, daemon=True)
    started = time.monotonic()
    thread.start()
    wait_for(lambda: _restoring(a) or answered, timeout=120, interval=0.01)
    assert not answered, "the restore finished before it could be killed"
    a.kill()
    killed_after = time.monotonic() - started
    thread.join(30)
    assert not answered

    start = time.monotonic()
    b = agent_factory(database=a.database, timeout=120)
    back = time.monotonic() - start
    after = table(b.store)
    assert after in (changed, full), "the table is a mix of before and after"
    assert rollups(b.store) == (changed_sums if after == changed else full_sums)
    assert _schema_objects(b.store) == objects
    state = "as before" if after == changed else "fully restored"

    start = time.monotonic()
    r = httpx.post(b.url + f"/api/admin/backups/{name}/restore", timeout=300)
    took = time.monotonic() - start
    assert r.status_code == 200, r.text
    assert table(b.store) == full and rollups(b.store) == full_sums
    measured(
        f"SIGKILL {killed_after:.1f} s into a restore of {RESTORE_JOBS:,} jobs ({b.store.d.name})",
        f"table {state}; a new agent served after {back:.1f} s; a full restore took {took:.1f} s",
    )
