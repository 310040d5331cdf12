"""The backup folder as a file system sees it: a file changed in place after it was listed,
modes, backups started together, symbolic links, odd names, and how many backups stay."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from jobtui.agent.backups import BackupError, Backups, NoSuchBackup
from jobtui.agent.store import JobStore
from jobtui.config import ConfigError, load_config
from jobtui.contract import utcnow
from tests.support import AgentProcess, add_job

MIN = timedelta(minutes=1)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common umask (022), which left files 0644 and folders 0755: what is private must
    be so by its own mode, whatever the umask. Agents started meanwhile inherit it."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def table(store: JobStore) -> list[tuple]:
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM background_jobs ORDER BY id"))]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def fill(store: JobStore, n: int = 30) -> None:
    for i in range(n):
        add_job(store, status="failed", error=f"e{i:02d}", started=2 * MIN, finished=MIN)


@pytest.mark.parametrize("gz", [False, True], ids=["json", "gzip"])
def test_a_backup_changed_in_place_after_listing_is_refused(agent_factory, gz):
    """List (which verifies and remembers), change one byte keeping size and mtime, restore:
    the restore checks the bytes it reads, not the listing's memory of them."""
    a: AgentProcess = agent_factory({"agent": {"backups": {"gzip": gz}}})
    fill(a.store)
    name = httpx.post(a.url + "/api/admin/backups").json()["name"]
    listing = httpx.get(a.url + "/api/admin/backups").json()["backups"]
    assert [(b["name"], b["verified"]) for b in listing] == [(name, True)]

    path = a.backups_dir / name
    st = path.stat()
    data = bytearray(path.read_bytes())
    # A byte of a record's error text: "e07" becomes "e17", still valid JSON (for gzip, a
    # byte of the compressed stream).
    at = data.index(b'"e07"') + 2 if not gz else len(data) // 2
    data[at] ^= 0x01 if not gz else 0x10
    with open(path, "r+b") as f:  # in place: same inode, same size
        f.write(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns and path.stat().st_size == st.st_size

    with a.store.write() as conn:
        conn.execute(text("DELETE FROM background_jobs WHERE error < 'e10'"))
    before = table(a.store)
    mismatch = f"refusing to restore: {name}: checksum mismatch (corrupt or changed)"
    for dry in ("true", "false"):
        r = httpx.post(a.url + f"/api/admin/backups/{name}/restore", params={"dryRun": dry})
        assert r.status_code == 422, (dry, r.text)
        assert r.json()["error"] == mismatch
    assert table(a.store) == before
    listing = httpx.get(a.url + "/api/admin/backups").json()["backups"]
    assert listing[0]["verified"] is False


def test_backups_and_logs_are_private(agent_factory, open_umask):
    a: AgentProcess = agent_factory(extra_args=["--log-level", "info"])
    fill(a.store, 3)
    name = httpx.post(a.url + "/api/admin/backups").json()["name"]
    folder = a.backups_dir
    assert mode(folder) == 0o700
    assert mode(folder / name) == 0o600
    assert mode(folder / (name + ".meta.json")) == 0o600
    logs = a.cwd / "logs"
    assert mode(logs) == 0o700
    assert {p.name: mode(p) for p in logs.iterdir()} == {"all.log": 0o600, "error.log": 0o600}


def test_twenty_backups_at_once_all_succeed_with_names_of_their_own(agent_factory):
    """Names were unique only to the millisecond: 11 of 20 failed with "No such file"
    (the unit test below is the deterministic one; two bursts make this one bite)."""
    a: AgentProcess = agent_factory()
    fill(a.store, 200)
    answers: list[httpx.Response] = []

    def burst() -> None:
        gate = threading.Barrier(20)

        def one() -> None:
            with httpx.Client(base_url=a.url, timeout=60) as client:
                client.get("/openapi.json")  # connected already: the posts arrive together
                gate.wait()
                answers.append(client.post("/api/admin/backups"))

        threads = [threading.Thread(target=one) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

    for _ in range(2):
        burst()
    assert sorted(r.status_code for r in answers) == [201] * 40, [r.text for r in answers]
    names = {r.json()["name"] for r in answers}
    assert len(names) == 40  # under the count cap of 50: all stay
    listing = httpx.get(a.url + "/api/admin/backups").json()["backups"]
    assert {b["name"] for b in listing} == names
    assert all(b["verified"] and b["jobs"] == 200 for b in listing)
    assert not [p.name for p in a.backups_dir.iterdir() if p.name.startswith(".")]


def test_two_backups_of_the_same_instant_keep_both(tmp_path, database):
    store = JobStore(database)
    store.migrate()
    fill(store, 2)
    backups = Backups(store, tmp_path / "b")
    now = utcnow()
    first, second = backups.create(now).name, backups.create(now).name
    assert first != second
    assert [b.name for b in backups.list().backups] == [second, first]  # newest first
    assert all(b.verified for b in backups.list().backups)
    store.close()


def test_symbolic_links_in_the_folder_are_not_backups(agent: AgentProcess, tmp_path):
    fill(agent.store, 3)
    real = httpx.post(agent.url + "/api/admin/backups").json()["name"]
    folder = agent.backups_dir
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # A complete backup outside the folder, linked in under a backup's name (with its meta).
    linked = "jobs_backup_2031-01-01T00-00-00.000Z.json"
    for suffix in ("", ".meta.json"):
        (elsewhere / (linked + suffix)).write_bytes((folder / (real + suffix)).read_bytes())
        (folder / (linked + suffix)).symlink_to(elsewhere / (linked + suffix))
    # A real data file whose header is a link.
    meta_linked = "jobs_backup_2030-01-01T00-00-00.000Z.json"
    (folder / meta_linked).write_bytes((folder / real).read_bytes())
    (folder / (meta_linked + ".meta.json")).symlink_to(elsewhere / (linked + ".meta.json"))
    with agent.store.write() as conn:
        conn.execute(text("DELETE FROM background_jobs"))

    listing = httpx.get(agent.url + "/api/admin/backups").json()["backups"]
    assert [b["name"] for b in listing] == [meta_linked, real]
    assert listing[0]["verified"] is False and "symbolic link" in listing[0]["problem"]
    r = httpx.post(agent.url + f"/api/admin/backups/{linked}/restore")
    assert r.status_code == 422
    assert r.json()["error"] == f"refusing to restore: {linked} is a symbolic link, not a backup"
    r = httpx.post(agent.url + f"/api/admin/backups/{meta_linked}/restore")
    assert r.status_code == 422 and "symbolic link" in r.json()["error"]
    assert table(agent.store) == []


def test_a_name_with_a_trailing_newline_is_not_a_backup(tmp_path, database):
    store = JobStore(database)
    store.migrate()
    fill(store, 2)
    backups = Backups(store, tmp_path / "b")
    good = backups.create().name
    odd = "jobs_backup_2020-01-01T00-00-00.000Z.json\n"  # the pattern once ended in "$"
    for suffix in ("", ".meta.json"):
        (backups.dir / (odd + suffix)).write_bytes((backups.dir / (good + suffix)).read_bytes())
    assert [b.name for b in backups.list().backups] == [good]
    with pytest.raises(NoSuchBackup):
        backups.restore(odd)
    store.close()


def test_the_count_cap_keeps_the_newest_ones(tmp_path, database):
    store = JobStore(database)
    store.migrate()
    fill(store, 1)
    backups = Backups(store, tmp_path / "b", keep_count=3)
    now = utcnow()
    made = [backups.create(now - timedelta(minutes=m)).name for m in (50, 40, 30, 20, 10)]
    # Each backup removes the oldest beyond the cap, with their headers.
    assert [b.name for b in backups.list().backups] == made[:1:-1]
    assert {p.name for p in backups.dir.iterdir()} == {
        n + s for n in made[2:] for s in ("", ".meta.json")
    }
    # Prune by age and by count together; the newest stays whatever its age.
    result = backups.prune(timedelta(minutes=15), now)
    assert sorted(result.deleted) == sorted(made[2:4]) and result.kept == 1
    with pytest.raises(BackupError, match="no backup named"):
        backups.restore(made[0])
    store.close()


def test_recoveries_leave_at_most_keep_count_backups(agent_factory):
    a: AgentProcess = agent_factory({"agent": {"backups": {"keep_count": 3}}})
    fill(a.store, 2)
    names = []
    for _ in range(6):
        r = httpx.post(a.url + "/api/admin/recovery", timeout=60).json()
        assert r["success"] is True
        names.append(r["backup"])
    listing = httpx.get(a.url + "/api/admin/backups").json()["backups"]
    assert [b["name"] for b in listing] == names[:2:-1]
    assert len(list(a.backups_dir.iterdir())) == 6  # three backups and their headers


def test_keep_count_in_the_config(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("agent:\n  backups:\n    keep_count: 7\n")
    assert load_config(f, env={}).agent.backup_keep_count == 7
    assert (
        load_config(None, env={"XDG_CONFIG_HOME": str(tmp_path / "x")}).agent.backup_keep_count
        == 50
    )
    f.write_text("agent:\n  backups:\n    keep_count: 0\n")
    with pytest.raises(ConfigError, match="keep_count"):
        load_config(f, env={})
