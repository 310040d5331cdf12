"""Scheduled backups, as the seed's strategy: daily by default, kept 7 days, into a folder
beside a SQLite database or in the state folder (never the working directory), taken by one
agent of several on one store."""

from __future__ import annotations

import re
import stat
import time
from datetime import timedelta
from pathlib import Path

import httpx

from tests.support import add_job, wait_for

DEFAULTS = {"agent": {"backups": {"dir": None, "every_hours": None}}}  # the agent's own
SECOND = 1 / 3600  # every_hours: one second


def backups_in(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.glob("jobs_backup_*") if "meta" not in p.name)


def start_line(agent) -> str:
    wait_for(lambda: "Scheduled backups" in agent.stderr(), timeout=10)
    (line,) = [x for x in agent.stderr().splitlines() if "Scheduled backups" in x]
    return line


def test_serve_backs_up_daily_beside_a_sqlite_database_by_default(agents, tmp_path):
    db = tmp_path / "data" / "jobs.db"
    db.parent.mkdir()
    url = f"sqlite:///{db}"
    folder = db.parent / "backups"
    a = agents(DEFAULTS, database=url)
    add_job(
        a.store, status="completed", started=timedelta(seconds=2), finished=timedelta(seconds=1)
    )
    line = start_line(a)
    assert re.search(rf"every 24 h into {re.escape(str(folder))}, keeping 7 days", line), line
    # No backup yet in the folder: the first is due at once, taken by the leader.
    wait_for(lambda: backups_in(folder), timeout=15)
    assert not (tmp_path / "backups").exists()  # not the working directory
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    listing = httpx.get(a.url + "/api/admin/backups").json()
    assert listing["directory"] == str(folder)
    (first,) = backups_in(folder)
    a.stop()
    # A restarted agent finds the newest backup recent: the next is due 24 h after it.
    b = agents(DEFAULTS, database=url)
    start_line(b)
    time.sleep(3)  # three metrics intervals: time enough for a wrong backup to land
    assert backups_in(folder) == [first]


def test_without_a_database_file_the_default_is_the_state_folder(agent_factory, tmp_path):
    """On PostgreSQL (no file to stand beside), backups go to $XDG_STATE_HOME/jobtui/backups."""
    a = agent_factory(DEFAULTS)
    if a.database.startswith("sqlite"):
        folder = Path(a.database.removeprefix("sqlite:///")).parent / "backups"
    else:
        folder = tmp_path / "state" / "jobtui" / "backups"  # start_agent's XDG_STATE_HOME
    assert str(folder) in start_line(a)
    wait_for(lambda: backups_in(folder), timeout=15)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_every_hours_0_turns_the_schedule_off(agents, tmp_path):
    a = agents({"agent": {"backups": {"every_hours": 0}}})
    assert "Scheduled backups: off (agent.backups.every_hours: 0)" in start_line(a)
    time.sleep(3)
    assert backups_in(a.backups_dir) == []


def test_only_the_leader_takes_the_scheduled_backups(agents, tmp_path):
    """Two agents on one store, each with its own folder: one folder fills, the other stays
    empty, until the leader dies and the other agent takes over."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    folders = [tmp_path / "one", tmp_path / "two"]
    first, second = (
        agents({"agent": {"backups": {"dir": str(f), "every_hours": SECOND}}}, database=url)
        for f in folders
    )
    wait_for(lambda: len(backups_in(folders[0])) + len(backups_in(folders[1])) >= 3, timeout=20)
    counts = [len(backups_in(f)) for f in folders]
    assert sorted(counts)[0] == 0, counts
    leader, other = (first, second) if counts[0] else (second, first)
    idle = folders[1] if counts[0] else folders[0]
    leader.kill()
    wait_for(lambda: backups_in(idle), timeout=20)
    assert other.proc.poll() is None
