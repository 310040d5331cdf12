"""The health endpoint against a real agent: every figure, status and alert kind."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from jobtui.contract import Health, decode, utcnow
from tests.support import add_job, add_jobs

MIN = timedelta(minutes=1)


def health(agent) -> Health:
    r = httpx.get(agent.url + "/api/jobs/health")
    assert r.status_code == 200
    return decode(Health, r.json())


def alerts(h: Health) -> str:
    return " | ".join(h.health.alerts)


# Resource utilization is the live host's; park it out of the way unless a test wants it.
QUIET = {
    "thresholds": {
        "warning": {"resource_utilization": 100},
        "critical": {"resource_utilization": 100},
    }
}


@pytest.fixture
def quiet(agent_factory):
    return agent_factory(QUIET)


def test_empty_store_is_healthy_with_the_seed_shape(quiet):
    raw = httpx.get(quiet.url + "/api/jobs/health").json()
    assert set(raw) == {
        "status",
        "message",
        "timestamp",
        "systemStatus",
        "metrics",
        "health",
        "operational",
    }
    h = decode(Health, raw)
    assert h.status == "healthy"
    assert h.message == "All systems operational"
    assert h.metrics.queue_depth == 0
    assert h.metrics.success_rate == 100.0
    assert h.metrics.error_rate == 0.0
    assert h.metrics.processing_capacity == 5
    assert h.health.alerts == ()
    assert h.system_status.manager and h.system_status.config
    assert h.operational.max_concurrent_jobs == 5


def test_figures_follow_the_definitions(quiet):
    s = quiet.store
    # two completed in the window: run 60 s and 120 s, waits 10 s and 30 s; one failed
    sec = timedelta(seconds=1)
    add_job(
        s,
        status="completed",
        created=11 * MIN,
        started=11 * MIN - 10 * sec,
        finished=10 * MIN - 10 * sec,
    )
    add_job(
        s,
        status="completed",
        created=21 * MIN,
        started=21 * MIN - 30 * sec,
        finished=19 * MIN - 30 * sec,
    )
    add_job(
        s,
        status="failed",
        error="Invalid input",
        created=5 * MIN,
        started=5 * MIN,
        finished=4 * MIN,
    )
    # finished two days ago: outside every window
    add_job(
        s,
        status="failed",
        created=timedelta(days=2),
        started=timedelta(days=2),
        finished=timedelta(days=2),
    )
    add_job(s, status="processing", created=MIN, started=MIN)
    add_jobs(s, [{"status": "pending"}] * 3)
    h = health(quiet)
    m = h.metrics
    assert m.queue_depth == 3
    assert m.processing_capacity == 4
    assert m.success_rate == pytest.approx(66.67, abs=0.01)
    assert m.error_rate == pytest.approx(33.33, abs=0.01)
    assert m.average_processing_time == pytest.approx(90_000, abs=5)
    # waits: 10 s, 30 s, 0 s (failed one), 0 s (processing one)
    assert m.wait_time == pytest.approx(10_000, abs=5)
    assert m.jobs_per_hour == 3
    assert m.last_processed_at is not None
    assert h.status == "critical"  # error rate 33 % > 20 %
    assert "Error rate 33.3% > 20.0%" in alerts(h)


@pytest.mark.parametrize(
    ("pending", "status"),
    [(20, "healthy"), (21, "warning"), (51, "critical")],
)
def test_queue_depth_thresholds(quiet, pending, status):
    add_jobs(quiet.store, [{"status": "pending"}] * pending)
    h = health(quiet)
    assert h.status == status
    if status != "healthy":
        assert f"Queue depth {pending} >" in alerts(h)
        assert any("capacity" in r for r in h.health.recommendations)


def test_error_rate_warning(quiet):
    done = {"created": MIN, "started": MIN, "finished": MIN}
    add_jobs(quiet.store, [{"status": "completed", **done}] * 85)
    add_jobs(quiet.store, [{"status": "failed", "error": "x", **done}] * 15)
    h = health(quiet)
    assert h.status == "warning"
    assert alerts(h) == "WARNING: Error rate 15.0% > 10.0%"


@pytest.mark.parametrize(("minutes", "status"), [(4, "healthy"), (6, "warning"), (16, "critical")])
def test_processing_time_thresholds(quiet, minutes, status):
    add_job(
        quiet.store,
        status="completed",
        created=(minutes + 1) * MIN,
        started=(minutes + 1) * MIN,
        finished=MIN,
    )
    h = health(quiet)
    assert h.status == status
    assert h.metrics.average_processing_time == pytest.approx(minutes * 60_000, abs=5)
    if status != "healthy":
        assert "Average processing time" in alerts(h)


@pytest.mark.parametrize(("minutes", "status"), [(2, "healthy"), (4, "warning"), (11, "critical")])
def test_wait_time_thresholds(quiet, minutes, status):
    add_job(
        quiet.store,
        status="processing",
        created=(minutes + 1) * MIN,
        started=MIN,
        updated=timedelta(0),
    )
    h = health(quiet)
    assert h.status == status
    if status != "healthy":
        assert "Average wait time" in alerts(h)


@pytest.mark.parametrize(("stuck", "status"), [(2, "healthy"), (3, "warning"), (6, "critical")])
def test_stuck_jobs(quiet, stuck, status):
    spec = {"status": "processing", "created": 30 * MIN, "started": 29 * MIN, "updated": 11 * MIN}
    add_jobs(quiet.store, [spec] * stuck)
    add_job(
        quiet.store, status="processing", created=12 * MIN, started=12 * MIN, updated=9 * MIN
    )  # not yet
    add_job(quiet.store, status="completed", created=MIN, started=MIN, finished=timedelta(0))
    h = health(quiet)
    assert h.health.stuck_jobs_count == stuck
    assert h.status == status
    if status != "healthy":
        assert f"Stuck jobs {stuck} >" in alerts(h)
        assert any("recover" in r.lower() for r in h.health.recommendations)


def test_processing_stalled(quiet):
    add_job(quiet.store, status="completed", created=40 * MIN, started=39 * MIN, finished=16 * MIN)
    add_job(quiet.store, status="pending", created=20 * MIN)
    h = health(quiet)
    assert h.status == "critical"
    assert "Processing stalled: no job finished for 16 min while 1 jobs are pending" in alerts(h)
    assert "Restart the processing system." in h.health.recommendations


def test_new_work_after_a_quiet_day_is_not_stalled(quiet):
    add_job(
        quiet.store,
        status="completed",
        created=timedelta(days=1),
        started=timedelta(days=1),
        finished=timedelta(days=1),
    )
    add_job(quiet.store, status="pending", created=timedelta(seconds=5))
    assert health(quiet).status == "healthy"


def test_resource_utilization_threshold_from_config(agent_factory):
    a = agent_factory({"thresholds": {"warning": {"resource_utilization": 0.001}}})
    h = health(a)
    assert h.metrics.resource_utilization is not None and h.metrics.resource_utilization > 0
    assert "Resource utilization" in alerts(h)


def test_thresholds_come_from_config(agent_factory):
    a = agent_factory(
        {
            **QUIET,
            "thresholds": {
                **QUIET["thresholds"],
                "warning": {"queue_depth": 2, "resource_utilization": 100},
            },
        }
    )
    add_jobs(a.store, [{"status": "pending"}] * 3)
    h = health(a)
    assert h.status == "warning"
    assert "Queue depth 3 > 2" in alerts(h)


def test_worst_level_decides_and_message_names_it(quiet):
    add_jobs(quiet.store, [{"status": "pending"}] * 25)  # warning
    spec = {"status": "processing", "created": 30 * MIN, "started": 30 * MIN, "updated": 20 * MIN}
    add_jobs(quiet.store, [spec] * 6)  # critical
    h = health(quiet)
    assert h.status == "critical"
    assert h.message.startswith("Stuck jobs 6 > 5")
    assert "(+" in h.message


def test_counts_stay_right_through_updates_and_deletes(quiet):
    """The rollups follow every write, whoever makes it: claim, finish, retry, delete."""
    from sqlalchemy import text

    from jobtui.contract import utcnow

    s = quiet.store
    add_jobs(s, [{"status": "pending"}] * 4)
    job = s.claim(utcnow())
    assert job is not None
    s.complete(job, utcnow())
    job2 = s.claim(utcnow())
    assert s.fail(job2, "Network request failed", utcnow()) == "pending"  # retried
    with s.write() as conn:
        conn.execute(
            text("DELETE FROM background_jobs WHERE status = 'pending' AND id <> :id"),
            {"id": job2.id},
        )
    h = health(quiet)
    assert h.metrics.queue_depth == 1
    assert h.metrics.jobs_per_hour == 1
    assert h.metrics.success_rate == 100.0


def test_windowed_figures_match_a_full_scan(quiet):
    """Hourly and fine rollups together give what scanning every row would."""
    import random

    rng = random.Random(7)
    specs, done_day, failed_day, done_hour, runs = [], 0, 0, 0, []
    for _ in range(400):
        age = timedelta(minutes=rng.uniform(0, 30 * 60))
        edges = (timedelta(hours=24), timedelta(hours=1))
        if any(abs(age - e) < timedelta(minutes=3) for e in edges):
            continue  # the windows start at a bucket edge: keep clear of it
        status = rng.choice(["completed", "completed", "completed", "failed"])
        run = timedelta(seconds=rng.uniform(1, 300))
        specs.append(
            {"status": status, "created": age + run, "started": age + run, "finished": age}
        )
        if age < timedelta(hours=24):
            done_day += status == "completed"
            failed_day += status == "failed"
            if status == "completed":
                runs.append(run.total_seconds() * 1000)
        if age < timedelta(hours=1):
            done_hour += 1
    add_jobs(quiet.store, specs)
    m = health(quiet).metrics
    assert m.jobs_per_hour == done_hour
    assert m.success_rate == pytest.approx(round(100 * done_day / (done_day + failed_day), 2))
    assert m.average_processing_time == pytest.approx(sum(runs) / len(runs), abs=1)
    sample = quiet.store.snapshot(utcnow(), timedelta(hours=24), timedelta(minutes=10))
    assert sample.finished_day == done_day + failed_day
