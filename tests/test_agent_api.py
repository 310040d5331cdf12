"""Every other endpoint of the contract against a real agent over HTTP."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from jobtui.contract import (
    ErrorsReport,
    Job,
    JobsPage,
    MetricsHistory,
    PerformanceMetrics,
    RecoveryResult,
    decode,
    utcnow,
)
from tests.support import add_job, add_jobs, wait_for

MIN = timedelta(minutes=1)


def get(agent, path, **params):
    return httpx.get(agent.url + path, params=params)


def post(agent, path, **params):
    return httpx.post(agent.url + path, params=params)


# --------------------------------------------------------------------------- metrics history


def test_metrics_history_and_latest(agent):
    wait_for(lambda: get(agent, "/api/monitoring/metrics", hours=1).json()["count"] >= 2)
    body = get(agent, "/api/monitoring/metrics", hours=1).json()
    hist = decode(MetricsHistory, body)
    assert hist.timespan == "1 hours"
    assert hist.count == len(hist.metrics)
    stamps = [m.timestamp for m in hist.metrics]
    assert stamps == sorted(stamps)
    latest = decode(PerformanceMetrics, get(agent, "/api/monitoring/metrics", latest="true").json())
    assert latest.timestamp >= stamps[-1]


def test_latest_is_404_without_samples(agent):
    wait_for(lambda: get(agent, "/api/monitoring/metrics", latest="true").status_code == 200)
    with agent.store.write() as conn:
        conn.execute(text("DELETE FROM job_metrics"))
    # the collector samples each second: check quickly and accept either outcome's shape
    r = get(agent, "/api/monitoring/metrics", latest="true")
    if r.status_code == 404:
        assert r.json() == {"error": "No metrics available"}
    else:
        decode(PerformanceMetrics, r.json())


def test_history_is_downsampled_to_max_points(agent):
    now = utcnow()
    for i in range(1500):
        agent.store.add_sample(
            PerformanceMetrics(
                now - timedelta(minutes=i), i % 50, 1.0, 99.0, 1.0, 1000.0, 50.0, 60.0, 1440.0
            )
        )
    hist = decode(MetricsHistory, get(agent, "/api/monitoring/metrics", hours=24).json())
    assert 400 <= hist.count <= 500
    stamps = [m.timestamp for m in hist.metrics]
    assert stamps == sorted(stamps)
    assert stamps[0] >= now - timedelta(hours=24, minutes=5)
    assert all(0 <= m.queue_depth <= 49 for m in hist.metrics)
    # a timespan with fewer samples than max_points is answered point for point
    assert (
        decode(MetricsHistory, get(agent, "/api/monitoring/metrics", hours=2).json()).count >= 120
    )


def test_history_survives_a_restart(agent_factory, tmp_path):
    a = agent_factory()
    wait_for(lambda: get(a, "/api/monitoring/metrics", hours=1).json()["count"] >= 2)
    a.stop()
    b = agent_factory(database=a.database)
    assert get(b, "/api/monitoring/metrics", hours=1).json()["count"] >= 2


@pytest.mark.parametrize("hours", ["0", "169", "abc", "1.5", "-1"])
def test_bad_hours_are_400_naming_the_parameter(agent, hours):
    r = get(agent, "/api/monitoring/metrics", hours=hours)
    assert r.status_code == 400
    assert r.json()["error"].startswith("invalid hours")


# --------------------------------------------------------------------------- jobs


def test_jobs_pages_newest_first_without_gaps_or_repeats(agent):
    ids = []
    for i in range(23):
        ids.append(add_job(agent.store, created=timedelta(seconds=100 - i)))
    seen, cursor = [], None
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = decode(JobsPage, get(agent, "/api/jobs", **params).json())
        seen += [j.id for j in page.jobs]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_same_timestamp_ties_are_paged_by_id(agent):
    now = utcnow()
    ids = add_jobs(agent.store, [{"created": MIN} for _ in range(7)], now=now)
    seen, cursor = [], None
    for _ in range(10):
        page = get(agent, "/api/jobs", limit=3, **({"cursor": cursor} if cursor else {})).json()
        seen += [j["id"] for j in page["jobs"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 7


def test_jobs_filters_and_search(agent):
    s = agent.store
    add_job(
        s,
        status="failed",
        type="image_generation",
        error="Out of memory in resize",
        finished=MIN,
        started=2 * MIN,
    )
    add_job(
        s,
        status="failed",
        type="story_generation",
        error="Invalid input: empty prompt",
        finished=MIN,
        started=2 * MIN,
    )
    add_job(s, status="pending", type="image_generation")
    target = add_job(
        s, status="completed", type="pdf_export", started=MIN, finished=MIN, message="100% done"
    )

    def ids(**params):
        return [j["id"] for j in get(agent, "/api/jobs", **params).json()["jobs"]]

    assert len(ids(status="failed")) == 2
    assert len(ids(type="image_generation")) == 2
    assert len(ids(status="failed", type="image_generation")) == 1
    assert len(ids(q="memory")) == 1
    assert len(ids(q="MEMORY")) == 1  # case-insensitive
    assert ids(q=target) == [target]
    assert ids(q="100%") == [target]  # % is literal, not a wildcard
    assert ids(q="no such thing") == []


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"status": "exploded"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "!!!"}, "cursor"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_job_queries_are_400(agent, params, name):
    r = get(agent, "/api/jobs", **params)
    assert r.status_code == 400
    assert name in r.json()["error"]


def test_job_detail_and_unknown_job(agent):
    job_id = add_job(
        agent.store,
        status="failed",
        error="Database connection failed",
        started=2 * MIN,
        finished=MIN,
        attempts=3,
    )
    job = decode(Job, get(agent, f"/api/jobs/{job_id}").json())
    assert job.id == job_id and job.status == "failed" and job.attempts == 3
    assert job.error == "Database connection failed"
    assert job.completed_at is not None and job.started_at is not None
    r = get(agent, "/api/jobs/nope")
    assert r.status_code == 404
    assert r.json() == {"error": "job nope not found"}


def test_retry_and_cancel(agent):
    s = agent.store
    failed = add_job(s, status="failed", error="x", started=2 * MIN, finished=MIN, attempts=3)
    pending = add_job(s, status="pending")
    done = add_job(s, status="completed", started=2 * MIN, finished=MIN)

    r = post(agent, f"/api/jobs/{failed}/retry")
    assert r.status_code == 200
    job = decode(Job, r.json())
    assert (job.status, job.attempts, job.error, job.completed_at) == ("pending", 0, None, None)

    assert post(agent, f"/api/jobs/{pending}/retry").status_code == 409
    r = post(agent, f"/api/jobs/{pending}/cancel")
    assert decode(Job, r.json()).status == "cancelled"
    assert post(agent, f"/api/jobs/{pending}/retry").status_code == 200  # cancelled → pending again

    r = post(agent, f"/api/jobs/{done}/cancel")
    assert r.status_code == 409
    assert "completed" in r.json()["error"]
    assert post(agent, "/api/jobs/nope/cancel").status_code == 404


# --------------------------------------------------------------------------- errors


SEED_MESSAGES = {
    "Rate Limiting": "OpenAI API Error: Rate limit exceeded",
    "Database": "Database connection failed: timeout",
    "Timeout": "Job exceeded maximum processing time",
    "Resources": "Out of memory",
    "Retry": "Maximum retries exceeded",
    "Validation": "Invalid input: no prompt",
    "Network": "Network request failed: ECONNRESET",
    "Unknown": "TypeError: undefined is not a function",
}


def test_errors_grouped_by_seed_category_most_urgent_first(agent):
    specs = []
    for n, (_, message) in enumerate(SEED_MESSAGES.items(), start=1):
        specs += [{"status": "failed", "error": message, "started": 3 * MIN, "finished": MIN}] * n
    specs.append(
        {
            "status": "failed",
            "error": "Out of memory",
            "started": timedelta(days=3),
            "finished": timedelta(days=3),
        }
    )
    add_jobs(agent.store, specs)
    report = decode(ErrorsReport, get(agent, "/api/monitoring/errors", hours=24).json())
    assert report.total == report.analysed == 36
    by = {c.category: c for c in report.categories}
    assert set(by) == set(SEED_MESSAGES)
    for n, category in enumerate(SEED_MESSAGES, start=1):
        assert by[category].count == n
    assert by["Database"].priority == "critical"
    assert by["Validation"].priority == "low"
    assert by["Unknown"].recommendation == "Investigate error and add to known patterns"
    order = [(c.priority, -c.count) for c in report.categories]
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    assert order == sorted(order, key=lambda p: (rank[p[0]], p[1]))
    assert [c.category for c in report.categories][:2] == ["Resources", "Database"]
    assert len(by["Unknown"].job_ids) == 8 and by["Unknown"].sample == SEED_MESSAGES["Unknown"]
    week = decode(ErrorsReport, get(agent, "/api/monitoring/errors", hours=168).json())
    assert {c.category: c.count for c in week.categories}["Resources"] == 5


def test_error_patterns_from_config(agent_factory):
    a = agent_factory(
        {
            "error_patterns": {
                "patterns": [
                    {
                        "pattern": "quota",
                        "category": "Quota",
                        "priority": "critical",
                        "recommendation": "Raise the quota",
                    }
                ]
            }
        }
    )
    add_job(
        a.store, status="failed", error="Storage quota exhausted", started=2 * MIN, finished=MIN
    )
    report = decode(ErrorsReport, get(a, "/api/monitoring/errors").json())
    assert [(c.category, c.recommendation) for c in report.categories] == [
        ("Quota", "Raise the quota")
    ]


# --------------------------------------------------------------------------- admin


def test_recover_stuck_resets_only_stuck_jobs(agent):
    s = agent.store
    stuck = add_job(
        s, status="processing", created=30 * MIN, started=30 * MIN, updated=11 * MIN, attempts=0
    )
    spent = add_job(
        s,
        status="processing",
        created=30 * MIN,
        started=30 * MIN,
        updated=11 * MIN,
        attempts=2,
        max_attempts=3,
    )
    fresh = add_job(s, status="processing", started=MIN, updated=MIN)
    r = post(agent, "/api/admin/recover-stuck")
    assert r.json() == {"recovered": 1, "failed": 1}
    a, b, c = (s.get_job(i) for i in (stuck, spent, fresh))
    assert (a.status, a.progress, a.message, a.attempts) == (
        "pending",
        0,
        "Recovered from stuck state",
        1,
    )
    assert (b.status, b.error, b.attempts) == ("failed", "Maximum retries exceeded", 3)
    assert c.status == "processing"
    assert post(agent, "/api/admin/recover-stuck").json() == {"recovered": 0, "failed": 0}


def test_system_recovery_reports_each_step(agent):
    add_job(agent.store, status="processing", started=30 * MIN, updated=20 * MIN)
    r = post(agent, "/api/admin/recovery")
    assert r.status_code == 200
    result = decode(RecoveryResult, r.json())
    assert result.success and result.recovered == 1
    assert result.steps[0].step == "pause processing"
    assert result.steps[-1].step == "resume processing"
    assert get(agent, "/api/jobs/health").json()["operational"]["autoProcessingEnabled"] is True


def test_admin_check_without_tokens(agent):
    assert get(agent, "/api/admin/check").status_code == 200


# --------------------------------------------------------------------------- prometheus, openapi, errors


def test_prometheus_exposition(agent):
    s = agent.store
    add_jobs(s, [{"status": "pending"}] * 3)
    job = s.claim(utcnow())
    s.complete(job, utcnow())
    job = s.claim(utcnow())
    with s.write() as conn:  # make it fail permanently
        conn.execute(
            text("UPDATE background_jobs SET max_attempts = 1 WHERE id = :id"), {"id": job.id}
        )
    assert s.fail(job, "Out of memory", utcnow()) == "failed"
    r = get(agent, "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    body = r.text
    assert "jobtui_queue_jobs 1.0" in body
    assert 'jobtui_jobs_processed_total{outcome="completed"} 1.0' in body
    assert 'jobtui_jobs_processed_total{outcome="failed"} 1.0' in body
    assert 'jobtui_job_duration_seconds_bucket{le="+Inf"} 2.0' in body
    assert "jobtui_job_duration_seconds_count 2.0" in body
    assert 'jobtui_jobs{status="completed"} 1.0' in body
    line = next(
        ln for ln in body.splitlines() if ln.startswith("jobtui_last_processed_timestamp_seconds ")
    )
    assert abs(float(line.split()[1]) - utcnow().timestamp()) < 60


def test_openapi_describes_the_contract(agent):
    spec = get(agent, "/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/jobs/health",
        "/api/monitoring/metrics",
        "/api/jobs",
        "/api/admin/recovery",
        "/metrics",
    ):
        assert path in spec["paths"]
    health = spec["components"]["schemas"]["HealthMetrics"]
    assert "queueDepth" in health["required"] and "waitTime" not in health["required"]


def test_unknown_routes_and_methods_answer_json(agent):
    r = get(agent, "/nope")
    assert r.status_code == 404 and r.json()["error"].startswith("not found")
    r = httpx.delete(agent.url + "/api/jobs/health")
    assert r.status_code == 405 and "error" in r.json()


def test_request_ids(agent):
    r = httpx.get(agent.url + "/api/jobs/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = httpx.get(agent.url + "/api/jobs/health", headers={"X-Request-ID": "bad id\twith junk"})
    assert len(r.headers["x-request-id"]) == 32
