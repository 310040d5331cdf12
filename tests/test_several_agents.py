"""Several agents on one store: the singleton work on one of them at a time, the pause shared.

Three real agents (``jobtui serve`` subprocesses) on one PostgreSQL schema; the lock seam
itself on PostgreSQL and SQLite.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from jobtui.agent.leader import Leadership, lock_for
from jobtui.agent.store import JobStore
from jobtui.contract import parse_time, utcnow
from tests.support import AgentProcess, wait_for

INTERVAL = 2.0  # seconds between samples
CONFIG = {"agent": {"metrics_interval": f"{INTERVAL:g}s"}}
on_postgresql = pytest.mark.parametrize("database", ["postgresql"], indirect=True)

# Recovery's backup takes 3 s in this agent, so that its pause is in force long enough to see.
SLOW_BACKUP = """
import time
from jobtui.agent import backups
_create = backups.Backups.create
def _slow(self, *args, **kwargs):
    time.sleep(3)
    return _create(self, *args, **kwargs)
backups.Backups.create = _slow
"""


def leader_gauge(agent: AgentProcess) -> int:
    body = httpx.get(agent.url + "/metrics", timeout=10).text
    m = re.search(r"^jobtui_agent_leader (\S+)$", body, re.M)
    assert m, "no jobtui_agent_leader in /metrics"
    return int(float(m.group(1)))


def the_leader(agents: list[AgentProcess]) -> AgentProcess:
    """Wait until exactly one of ``agents`` says it leads; that one."""

    def one() -> AgentProcess | None:
        leading = [a for a in agents if leader_gauge(a)]
        return leading[0] if len(leading) == 1 else None

    return wait_for(one, timeout=30, interval=0.2)


def sample_times(agent: AgentProcess) -> list[float]:
    r = httpx.get(agent.url + "/api/monitoring/metrics", params={"hours": 1}, timeout=10)
    return [parse_time(m["timestamp"]).timestamp() for m in r.json()["metrics"]]


def samples_in(agent: AgentProcess, intervals: int) -> int:
    """The samples the store gained over the next ``intervals`` intervals."""
    start = time.time()
    time.sleep(intervals * INTERVAL)
    end = time.time()
    return sum(start < t <= end for t in sample_times(agent))


def processing_enabled(agent: AgentProcess) -> bool:
    body = httpx.get(agent.url + "/api/jobs/health", timeout=10).json()
    return body["operational"]["autoProcessingEnabled"]


@pytest.fixture
def three(agent_factory: Any) -> list[AgentProcess]:
    return [agent_factory(CONFIG) for _ in range(3)]


# --------------------------------------------------------------------------- three agents


@on_postgresql
def test_three_agents_take_one_sample_per_interval(three):
    the_leader(three)
    n = samples_in(three[1], 4)
    # Three agents sampling on their own would add about 12; one adds 4, give or take the
    # sample on the window's boundary (and fewer when the machine is slow).
    assert 1 <= n <= 5, f"{n} samples in 4 intervals"
    assert sum(leader_gauge(a) for a in three) == 1


@on_postgresql
def test_when_the_leader_is_killed_another_samples_within_two_intervals(three):
    leader = the_leader(three)
    wait_for(lambda: sample_times(leader), timeout=20)
    leader.kill()  # SIGKILL: no goodbye, its connection simply drops
    killed = time.time()
    rest = [a for a in three if a is not leader]

    def resumed() -> float | None:
        after = [t for t in sample_times(rest[0]) if t > killed]
        return min(after) if after else None

    first = wait_for(resumed, timeout=30, interval=0.1)
    gap = first - killed
    assert gap <= 2 * INTERVAL + 1.0, f"sampling resumed {gap:.1f} s after the kill"
    the_leader(rest)
    n = samples_in(rest[0], 3)
    assert 1 <= n <= 4, f"{n} samples in 3 intervals after the takeover"


@on_postgresql
def test_a_pause_from_one_agent_is_seen_by_all(agent_factory):
    pausing = agent_factory(CONFIG, prelude=SLOW_BACKUP)
    others = [agent_factory(CONFIG) for _ in range(2)]
    assert all(processing_enabled(a) for a in [pausing, *others])
    answer: dict[str, Any] = {}

    def recover() -> None:
        answer["r"] = httpx.post(pausing.url + "/api/admin/recovery", timeout=60)

    thread = threading.Thread(target=recover)
    thread.start()
    try:
        wait_for(lambda: not any(processing_enabled(a) for a in others), timeout=20)
    finally:
        thread.join(60)
    assert answer["r"].status_code == 200, answer["r"].text
    steps = [s["step"] for s in answer["r"].json()["steps"]]
    assert steps[0] == "pause processing" and steps[-1] == "resume processing"
    assert all(processing_enabled(a) for a in [pausing, *others])


# --------------------------------------------------------------------------- the lock seam


@pytest.fixture
def stores(database: str) -> Any:
    """Two stores on one database, as two agents would open it."""
    first, second = JobStore(database), JobStore(database)
    first.migrate()
    yield first, second
    first.close()
    second.close()


def test_one_holder_at_a_time_until_it_releases(stores):
    a, b = (lock_for(s.engine, s.d) for s in stores)
    try:
        assert a.acquire()
        assert not b.acquire()
        assert a.acquire()  # the holder keeps it
        assert not b.acquire()
        a.release()
        assert b.acquire()
        assert not a.acquire()
    finally:
        a.release()
        b.release()


@on_postgresql
def test_a_holder_whose_session_ends_loses_the_lock(stores):
    a, b = (lock_for(s.engine, s.d) for s in stores)
    try:
        assert a.acquire()
        with stores[1].write() as conn:  # the server ends the holder's session
            conn.execute(
                text(  # only this schema's lock: other tests may share the server
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND objsubid = 2 AND objid::bigint = "
                    "(hashtext(current_schema())::bigint & 4294967295) AND granted"
                )
            )
        assert b.acquire()
        assert not a.acquire()  # it notices, and does not get it back
    finally:
        a.release()
        b.release()


@on_postgresql
def test_installations_in_two_schemas_do_not_share_the_lock(stores, tmp_path):
    import os
    import uuid

    import psycopg

    base = os.environ["JOBTUI_TEST_DATABASE_URL"]
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in base else "?"
    other = JobStore(f"{base}{sep}options=-csearch_path%3D{name}")
    a, b = lock_for(stores[0].engine, stores[0].d), lock_for(other.engine, other.d)
    try:
        assert a.acquire()
        assert b.acquire()
    finally:
        a.release()
        b.release()
        other.close()
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


async def test_leadership_logs_one_line_when_gained_and_when_lost(stores, caplog):
    a, b = (Leadership(lock_for(s.engine, s.d)) for s in stores)
    caplog.set_level(logging.INFO, logger="jobtui.agent")
    try:
        assert await a.check()
        assert await a.check()
        assert not await b.check()
        await a.resign()
        assert await b.check()
    finally:
        await a.resign()
        await b.resign()
    lines = [r.getMessage().split(":")[0] for r in caplog.records]
    assert lines == ["Became leader", "Resigned leadership", "Became leader", "Resigned leadership"]


def test_a_pause_ends_with_its_lease(stores):
    store = stores[0]
    store.pause("p1", "test", utcnow() + timedelta(seconds=60))
    store.pause("p2", "test", utcnow() - timedelta(seconds=1))  # its agent died long ago
    assert stores[1].paused(utcnow())
    assert not stores[1].paused(utcnow() + timedelta(seconds=61))
    store.resume("p1")
    assert not stores[1].paused(utcnow())
