"""Backup, restore and recovery, end to end: nothing is lost, whatever fails halfway."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import threading
import time
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from jobtui.agent import schema
from jobtui.agent.backups import BackupError, Backups
from jobtui.agent.store import JobStore, NewJob
from jobtui.contract import BackupList, RestoreResult, decode, iso, utcnow
from tests.support import add_job, jobtui_cmd

MIN = timedelta(minutes=1)


def bulk_fill(store: JobStore, n: int, seed: int = 1) -> None:
    """n jobs of every status, loaded fast (triggers off, rollups recomputed after)."""
    rng = random.Random(seed)
    now = utcnow()
    rows = []
    for i in range(n):
        status = rng.choice(
            ["completed", "completed", "failed", "pending", "processing", "cancelled"]
        )
        created = now - timedelta(seconds=rng.uniform(0, 86400 * 3))
        started = created + timedelta(seconds=rng.uniform(0, 30)) if status != "pending" else None
        done = (
            started + timedelta(seconds=rng.uniform(0, 60))
            if status in ("completed", "failed")
            else None
        )
        rows.append(
            {
                "id": f"job-{i:07d}",
                "type": rng.choice(["story_generation", "image_generation"]),
                "status": status,
                "progress": 100 if status == "completed" else rng.randint(0, 99),
                "message": rng.choice([None, "Processing", "Job completed successfully"]),
                "payload": json.dumps({"n": i, "text": "ünïcødé"}) if i % 3 else None,
                "error": "Out of memory" if status == "failed" else None,
                "attempts": rng.randint(0, 3),
                "max_attempts": 3,
                "created_at": iso(created),
                "updated_at": iso(done or started or created),
                "started_at": iso(started) if started else None,
                "completed_at": iso(done) if done else None,
            }
        )
    cols = list(rows[0])
    sql = text(
        f"INSERT INTO background_jobs ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"
    )
    with store.write() as conn:
        schema.drop_triggers(conn, store.d)
        for i in range(0, n, 5000):
            conn.execute(sql, rows[i : i + 5000])
        schema.install_triggers(conn, store.d, store.bucket)
        schema.backfill(conn, store.d, store.bucket)


def table(store: JobStore) -> list[tuple]:
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM background_jobs ORDER BY id"))]


def rollups(store: JobStore) -> tuple:
    with store.read() as conn:
        counts = sorted(
            conn.execute(text("SELECT status, n FROM job_status_counts WHERE n > 0")).all()
        )
        stats = conn.execute(
            text("SELECT SUM(completed), SUM(failed), SUM(run_ms), SUM(wait_n) FROM job_stats")
        ).one()
    return tuple(counts), tuple(stats)


def admin(agent, method: str, path: str, **params) -> httpx.Response:
    return httpx.request(method, agent.url + path, params=params, timeout=120)


@pytest.fixture
def loaded(agent_factory):
    a = agent_factory()
    bulk_fill(a.store, 100_000)
    return a


def test_100k_jobs_back_up_and_restore_to_an_identical_table(loaded):
    before, sums = table(loaded.store), rollups(loaded.store)
    r = admin(loaded, "POST", "/api/admin/backups")
    assert r.status_code == 201
    name = r.json()["name"]
    assert r.json()["jobs"] == 100_000
    assert name.startswith("jobs_backup_") and name.endswith(".json")

    with loaded.store.write() as conn:  # disaster
        conn.execute(text("DELETE FROM background_jobs WHERE id > 'job-0050000'"))
        conn.execute(text("UPDATE background_jobs SET status = 'failed', error = 'oops'"))
    assert table(loaded.store) != before

    dry = decode(
        RestoreResult,
        admin(loaded, "POST", f"/api/admin/backups/{name}/restore", dryRun="true").json(),
    )
    assert (dry.inserted, dry.updated, dry.dry_run) == (49_999, 50_001, True)
    assert len(table(loaded.store)) == 50_001  # a dry run writes nothing

    result = decode(
        RestoreResult, admin(loaded, "POST", f"/api/admin/backups/{name}/restore").json()
    )
    assert (result.jobs, result.inserted, result.updated) == (100_000, 49_999, 50_001)
    assert table(loaded.store) == before
    assert rollups(loaded.store) == sums  # the figures follow: triggers back, rollups rebuilt

    again = decode(
        RestoreResult, admin(loaded, "POST", f"/api/admin/backups/{name}/restore").json()
    )
    assert (again.inserted, again.updated) == (0, 100_000)
    assert table(loaded.store) == before  # restoring twice changes nothing

    listing = decode(BackupList, admin(loaded, "GET", "/api/admin/backups").json())
    assert [(b.name, b.jobs, b.verified) for b in listing.backups] == [(name, 100_000, True)]


def test_sigkill_during_a_backup_leaves_no_partial_and_earlier_ones_intact(agent_factory):
    a = agent_factory()
    add_job(a.store, status="completed", started=2 * MIN, finished=MIN)
    first = admin(a, "POST", "/api/admin/backups").json()["name"]
    bulk_fill(a.store, 150_000)
    folder = a.backups_dir

    threading.Thread(
        target=lambda: _swallow(lambda: admin(a, "POST", "/api/admin/backups")), daemon=True
    ).start()
    deadline = time.monotonic() + 20
    while not list(folder.glob(".jobs_backup_*.partial")) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert list(folder.glob(".jobs_backup_*.partial")), (
        "the backup finished before it could be killed"
    )
    a.kill()

    b = agent_factory(database=a.database)
    listing = decode(BackupList, admin(b, "GET", "/api/admin/backups").json())
    assert [(x.name, x.verified, x.jobs) for x in listing.backups] == [(first, True, 1)]
    assert {p.name for p in folder.iterdir() if not p.name.startswith(".")} == {
        first,
        first + ".meta.json",
    }


def _swallow(fn) -> None:
    with contextlib.suppress(httpx.HTTPError):
        fn()


@pytest.mark.parametrize("damage", ["flip a byte", "truncate"])
def test_a_damaged_backup_is_refused_and_nothing_is_written(agent_factory, damage):
    a = agent_factory()
    for i in range(50):
        add_job(a.store, status="failed", error=f"e{i}", started=2 * MIN, finished=MIN)
    name = admin(a, "POST", "/api/admin/backups").json()["name"]
    path = a.backups_dir / name
    data = bytearray(path.read_bytes())
    if damage == "flip a byte":
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    else:
        path.write_bytes(bytes(data[: len(data) // 2]))
    with a.store.write() as conn:
        conn.execute(text("DELETE FROM background_jobs WHERE error < 'e3'"))
    before = table(a.store)

    listing = decode(BackupList, admin(a, "GET", "/api/admin/backups").json())
    assert listing.backups[0].verified is False
    assert "checksum mismatch" in (listing.backups[0].problem or "")
    r = admin(a, "POST", f"/api/admin/backups/{name}/restore")
    assert r.status_code == 422
    assert (
        r.json()["error"] == f"refusing to restore: {name}: checksum mismatch (corrupt or changed)"
    )
    assert table(a.store) == before


def test_foreign_and_malformed_files_are_refused(tmp_path, database):
    store = JobStore(database)
    store.migrate()
    add_job(store, status="pending")
    backups = Backups(store, tmp_path / "b")
    backups.dir.mkdir()
    before = table(store)

    seed_style = backups.dir / "jobs_backup_2026-11-01T00-00-00.000Z.json"
    seed_style.write_text(json.dumps([{"id": "x", "status": "pending"}], indent=2))
    with pytest.raises(BackupError, match="no checksum file"):
        backups.restore(seed_style.name)

    good = backups.create()
    path = backups.dir / good.name
    lines = path.read_text().splitlines()
    record = json.loads(lines[1].rstrip(","))
    lines[1] = json.dumps({**record, "status": "exploded"}) + (
        "," if lines[1].endswith(",") else ""
    )
    path.write_text("\n".join(lines) + "\n")
    meta = json.loads((backups.dir / (good.name + ".meta.json")).read_text())
    import hashlib

    meta["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()  # a "valid" checksum
    (backups.dir / (good.name + ".meta.json")).write_text(json.dumps(meta))
    with pytest.raises(BackupError, match="record 1: invalid status 'exploded'"):
        backups.restore(good.name)
    with pytest.raises(BackupError, match="no backup named"):
        backups.restore("../../etc/passwd")
    assert table(store) == before
    store.close()


def test_gzip_backups(agent_factory):
    a = agent_factory({"agent": {"backups": {"gzip": True}}})
    for _ in range(20):
        add_job(a.store, status="completed", started=2 * MIN, finished=MIN)
    r = admin(a, "POST", "/api/admin/backups").json()
    assert r["name"].endswith(".json.gz") and r["jobs"] == 20
    before = table(a.store)
    with a.store.write() as conn:
        conn.execute(text("DELETE FROM background_jobs"))
    assert admin(a, "POST", f"/api/admin/backups/{r['name']}/restore").json()["inserted"] == 20
    assert table(a.store) == before


def test_prune_keeps_the_newest_and_recent_ones(tmp_path, database):
    store = JobStore(database)
    store.migrate()
    backups = Backups(store, tmp_path / "b")
    now = utcnow()
    made = [backups.create(now - timedelta(days=d)).name for d in (30, 20, 10, 3)]
    result = backups.prune(timedelta(days=7), now)
    assert sorted(result.deleted) == sorted(made[:3]) and result.kept == 1
    assert [b.name for b in backups.list().backups] == [made[3]]
    # even when every backup is old, the newest stays
    assert backups.prune(timedelta(days=1), now + timedelta(days=30)).deleted == ()
    assert not any(
        p.name.endswith(".meta.json") and p.name[:-10] in made[:3] for p in backups.dir.iterdir()
    )
    store.close()


def test_scheduled_backups(agent_factory):
    a = agent_factory({"agent": {"backups": {"every_hours": 0.0003}}})  # about a second
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if len(admin(a, "GET", "/api/admin/backups").json()["backups"]) >= 2:
            break
        time.sleep(0.2)
    backups = admin(a, "GET", "/api/admin/backups").json()["backups"]
    assert len(backups) >= 2 and all(b["verified"] for b in backups)


RACED = 500  # jobs recovered while workers held them: the race, many times over


@pytest.mark.timeout(300)  # 10k jobs through four workers: minutes on a loaded machine
def test_recovery_racing_workers_loses_no_job_and_completes_none_twice(database):
    """10k jobs, four workers, and stuck-job recovery running flat out with a stuck limit
    shorter than a job: recovered jobs are re-run, yet each completes once and none is lost."""
    store = JobStore(database, pool_size=8)
    store.migrate()
    store.enqueue([NewJob("t", max_attempts=50) for _ in range(10_000)], utcnow())
    completed: Counter[str] = Counter()
    stop = threading.Event()
    recovered = [0]

    def worker() -> None:
        rng = random.Random()
        while not stop.is_set():
            job = store.claim(utcnow())
            if job is None:
                if not _unfinished(store):
                    return
                time.sleep(0.001)
                continue
            if rng.random() < 0.05:
                time.sleep(0.004)  # slower than the stuck limit: will be recovered under us
            if store.complete(job, utcnow()):
                completed[job.id] += 1

    def recoverer() -> None:
        # until enough jobs were recovered under the workers: on a loaded machine nearly
        # every job outlives a 2 ms limit, and recovering flat out would keep re-running them
        while not stop.is_set() and recovered[0] < RACED:
            reset, failed = store.recover_stuck(utcnow(), timedelta(milliseconds=2))
            recovered[0] += reset + failed
            time.sleep(0.002)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    rec = threading.Thread(target=recoverer)
    for t in (*threads, rec):
        t.start()
    for t in threads:
        t.join(300)
    stop.set()
    rec.join(10)
    with store.read() as conn:
        statuses = dict(
            conn.execute(text("SELECT status, COUNT(*) FROM background_jobs GROUP BY status")).all()
        )
        counts = dict(
            conn.execute(text("SELECT status, n FROM job_status_counts WHERE n > 0")).all()
        )
    assert sum(statuses.values()) == 10_000  # none lost
    assert statuses == {"completed": 10_000}
    assert len(completed) == 10_000 and max(completed.values()) == 1  # none completed twice
    assert recovered[0] > 0  # the race really happened
    assert counts == statuses  # and the rollups agree
    store.close()


def _unfinished(store: JobStore) -> int:
    with store.read() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT COUNT(*) FROM background_jobs WHERE status IN ('pending', 'processing')"
                )
            ).scalar_one()
        )


def test_system_recovery_while_demo_workers_run(agent_factory):
    a = agent_factory(extra_args=["--demo"])
    time.sleep(3)
    add_job(a.store, status="processing", created=30 * MIN, started=30 * MIN, updated=20 * MIN)
    r = admin(a, "POST", "/api/admin/recovery").json()
    assert r["success"] is True and r["recovered"] >= 1
    steps = [s["step"] for s in r["steps"]]
    assert steps == ["pause processing", "backup", "recover stuck jobs", "resume processing"]
    assert r["backup"].startswith("jobs_backup_")
    listing = admin(a, "GET", "/api/admin/backups").json()["backups"]
    assert listing[0]["name"] == r["backup"] and listing[0]["verified"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    return subprocess.run(jobtui_cmd(*args), capture_output=True, text=True, timeout=60, env=env)


def test_recover_with_a_failing_step_prints_each_step_and_exits_1(agent_factory, tmp_path):
    """The agent answers 500 with the steps when one fails: the command shows them all (the
    backup's reason, the stuck jobs still reset), not only the status."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    a = agent_factory({"agent": {"backups": {"dir": str(blocker / "backups")}}})
    add_job(a.store, status="processing", created=30 * MIN, started=30 * MIN, updated=20 * MIN)
    r = run_cli("recover", "--url", a.url)
    assert r.returncode == 1, r.stderr
    assert r.stdout.startswith("System recovery finished with errors: backup: cannot create")
    assert "recover stuck jobs: 1 reset to pending" in r.stdout
    assert "resume processing: workers resumed" in r.stdout


def test_cli_commands_print_one_line_and_exit_codes(agent):
    add_job(agent.store, status="processing", created=30 * MIN, started=30 * MIN, updated=20 * MIN)
    u = ["--url", agent.url]
    r = run_cli("backup", *u)
    assert r.returncode == 0 and r.stdout.startswith("Backup jobs_backup_") and "1 jobs" in r.stdout
    name = r.stdout.split()[1].rstrip(":")
    r = run_cli("backups", *u)
    assert r.returncode == 0 and name in r.stdout and " ok" in r.stdout
    r = run_cli("restore", name, "--dry-run", *u)
    assert r.returncode == 0 and "would insert 0 and update 1 of 1 jobs" in r.stdout
    r = run_cli("restore", "jobs_backup_nope.json", *u)
    assert r.returncode == 1 and r.stdout == "" and r.stderr.count("\n") == 1
    assert "no backup named" in r.stderr
    r = run_cli("recover", "--stuck-only", *u)
    assert (r.returncode, r.stdout.strip()) == (0, "Recovered 1 stuck job")
    r = run_cli("recover", *u)
    assert r.returncode == 0 and r.stdout.startswith("System recovery completed successfully")
    r = run_cli("prune", "--keep-days", "0", *u)
    assert r.returncode == 0 and "kept 1 (the newest is always kept)" in r.stdout
    r = run_cli("prune", "--keep-days", "-1", *u)
    assert r.returncode == 2 and "--keep-days" in r.stderr
    r = run_cli("backup", "--url", "http://127.0.0.1:9")
    assert r.returncode == 1 and "cannot connect" in r.stderr and "Traceback" not in r.stderr


def test_a_later_backup_cleans_stale_temporaries(tmp_path, database):
    """A temporary left by a crash is removed by a later backup (once it is a minute old)."""
    store = JobStore(database)
    store.migrate()
    backups = Backups(store, tmp_path / "b")
    backups.dir.mkdir()
    stale = backups.dir / ".jobs_backup_2026-01-01T00-00-00.000Z.json.partial"
    stale.write_text("[\n{")
    old = time.time() - 120
    os.utime(stale, (old, old))
    backups.create()
    assert not stale.exists()
    assert all(not p.name.startswith(".") for p in backups.dir.iterdir())
    store.close()


def test_the_listing_ignores_temporaries(agent):
    folder = agent.backups_dir
    folder.mkdir(exist_ok=True)
    (folder / ".jobs_backup_2026-01-01T00-00-00.000Z.json.partial").write_text("[")
    assert admin(agent, "GET", "/api/admin/backups").json()["backups"] == []


def _tamper(backups: Backups, name: str, changes: dict[int, str]) -> None:
    """Replace records (by number) with the given lines and give the file a matching checksum,
    as a hand-edited or foreign "backup" would have."""
    import hashlib

    path = backups.dir / name
    lines = path.read_text().splitlines()
    for n, line in changes.items():
        lines[n] = line + ("," if lines[n].endswith(",") else "")
    path.write_text("\n".join(lines) + "\n")
    meta_path = backups.dir / (name + ".meta.json")
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))


def _record(backups: Backups, name: str, n: int) -> dict:
    return json.loads((backups.dir / name).read_text().splitlines()[n].rstrip(","))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"progress": "5"}, "progress is not a whole number"),
        ({"attempts": True}, "attempts is not a whole number"),
        ({"message": 5}, "message is not text"),
        ({"type": None}, "missing type"),
        ({"id": ""}, "missing id"),
        ({"created_at": "2026-02-30T08:00:00.000Z"}, "created_at is not a timestamp"),
        ({"completed_at": "yesterday"}, "completed_at is not a timestamp"),
        ("[1, 2]", "not an object"),
        ('{"id": "x", "status": ', "is not valid JSON"),
    ],
)
def test_a_bad_record_late_in_a_big_restore_is_named_and_nothing_is_written(
    tmp_path, database, change, reason
):
    """6,000 jobs (the bulk path: triggers and indexes dropped): record 5,999 is bad. The
    restore is refused naming it, and table, rollups and triggers are as they were."""
    store = JobStore(database)
    store.migrate()
    bulk_fill(store, 6000)
    backups = Backups(store, tmp_path / "b")
    name = backups.create().name
    if isinstance(change, str):
        line = change
    else:
        line = json.dumps({**_record(backups, name, 5999), **change})
    _tamper(backups, name, {5999: line})
    with store.write() as conn:
        conn.execute(text("DELETE FROM background_jobs WHERE id > 'job-0003000'"))
    before, sums = table(store), rollups(store)

    with pytest.raises(BackupError) as err:
        backups.restore(name)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{name}: record 5999") and message.endswith(reason)
    with pytest.raises(BackupError, match="record 5999"):
        backups.restore(name, dry_run=True)
    assert table(store) == before and rollups(store) == sums
    add_job(store, status="failed", error="after", started=2 * MIN, finished=MIN)
    assert rollups(store)[0] != sums[0]  # the triggers are back: the new job is counted
    store.close()


def test_records_in_other_shapes_are_normalised_as_before(tmp_path, database):
    """Records a backup does not write itself (numeric id, offsets, missing optional columns)
    take the full check and are stored like the canonical ones."""
    store = JobStore(database)
    store.migrate()
    add_job(store, status="completed", started=2 * MIN, finished=MIN)
    add_job(store, status="completed", started=2 * MIN, finished=MIN)
    backups = Backups(store, tmp_path / "b")
    name = backups.create().name
    _tamper(
        backups,
        name,
        {
            1: json.dumps(
                {
                    "id": 42,
                    "type": "t",
                    "status": "completed",
                    "payload": {"k": ["ü", 1.5]},
                    "created_at": "2026-11-01T08:30:00+02:00",
                    "updated_at": "2026-11-01T06:31:00Z",
                    "started_at": "2026-11-01T06:30:30.5+00:00",
                    "completed_at": "2026-11-01T06:31:00.000Z",
                }
            )
        },
    )
    with store.write() as conn:
        conn.execute(text("DELETE FROM background_jobs"))
    result = backups.restore(name)
    assert (result.inserted, result.updated) == (2, 0)
    job = store.get_job("42")
    assert job is not None and (job.status, job.progress, job.attempts) == ("completed", 0, 0)
    assert iso(job.created_at) == "2026-11-01T06:30:00.000Z"
    assert iso(job.started_at) == "2026-11-01T06:30:30.500Z"
    with store.read() as conn:
        sql = text("SELECT payload FROM background_jobs WHERE id = '42'")
        payload = conn.execute(sql).one()[0]
    assert (json.loads(payload) if isinstance(payload, str) else payload) == {"k": ["ü", 1.5]}
    assert rollups(store)[0] == (("completed", 2),)
    store.close()


@pytest.mark.parametrize(
    ("changed", "bulk"),
    [
        ("id IN ('job-0000007', 'job-0011000')", False),  # a few rows: row by row
        ("id > 'job-0004000'", True),  # most rows, but not the first ones: bulk halfway
    ],
)
def test_a_restore_over_a_changed_table_brings_back_rows_and_rollups(
    tmp_path, database, changed, bulk, monkeypatch
):
    drops: list[bool] = []
    drop = schema.drop_indexes
    monkeypatch.setattr(schema, "drop_indexes", lambda *a: drops.append(True) or drop(*a))
    store = JobStore(database)
    store.migrate()
    bulk_fill(store, 12_000)
    backups = Backups(store, tmp_path / "b")
    name = backups.create().name
    before, sums = table(store), rollups(store)
    with store.write() as conn:
        conn.execute(text(f"UPDATE background_jobs SET status = 'cancelled' WHERE {changed}"))
        conn.execute(text("DELETE FROM background_jobs WHERE id = 'job-0000100'"))
    assert rollups(store) != sums

    drops.clear()
    result = backups.restore(name)
    assert (result.inserted, result.updated) == (1, 11_999)
    assert drops == ([True] if bulk else [])
    assert table(store) == before and rollups(store) == sums
    add_job(store, status="failed", error="after", started=2 * MIN, finished=MIN)
    assert rollups(store)[0] != sums[0]  # the triggers are in place
    store.close()


def test_a_job_listed_twice_is_refused_the_same_way_by_a_dry_run_and_a_restore(tmp_path, database):
    """Two records with one id: which should win is not for the restore to guess. The dry
    run used to count both as inserts while the restore kept the last one."""
    store = JobStore(database)
    store.migrate()
    add_job(store, status="pending", message="one", job_id="a")
    add_job(store, status="failed", message="two", job_id="b", started=2 * MIN, finished=MIN)
    backups = Backups(store, tmp_path / "b")
    name = backups.create().name
    _tamper(backups, name, {2: json.dumps({**_record(backups, name, 2), "id": "a"})})
    with store.write() as conn:
        conn.execute(text("DELETE FROM background_jobs WHERE id = 'b'"))
    before, sums = table(store), rollups(store)
    reason = f"{name}: record 2: duplicate id 'a' (also record 1)"
    for dry_run in (True, False):
        with pytest.raises(BackupError) as err:
            backups.restore(name, dry_run=dry_run)
        assert str(err.value) == reason
    assert table(store) == before and rollups(store) == sums
    store.close()
