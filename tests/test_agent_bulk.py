"""``POST /api/jobs/bulk`` against a real agent over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from jobtui.client import Client, NotProvided, Unauthorized
from jobtui.contract import BulkRequest, BulkResult, ErrorsReport, decode
from tests.support import Canned, add_jobs, wait_for

MIN = timedelta(minutes=1)
RATE = "OpenAI API Error: Rate limit exceeded"
OOM = "Out of memory"
READ, ADMIN = "bulk-read-token", "bulk-admin-token"


def bulk(agent, body, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(agent.url + "/api/jobs/bulk", json=body, headers=headers, timeout=30)


def result(r: httpx.Response) -> BulkResult:
    assert r.status_code == 200, r.text
    return decode(BulkResult, r.json())


def failed(error: str | None, age: timedelta, **more) -> dict:
    """A job created ``age + 2 min`` ago that failed ``age`` ago."""
    return {
        "status": "failed",
        "error": error,
        "created": age + 2 * MIN,
        "started": age + MIN,
        "finished": age,
        "attempts": 3,
        **more,
    }


def statuses(agent) -> dict[str, str]:
    with agent.store.read() as conn:
        return dict(conn.execute(text("SELECT id, status FROM background_jobs")).all())


def test_retry_a_category_over_its_window_oldest_first(agent):
    # five rate-limited failures in the window (the oldest first), one a day ago (outside
    # 24 h), and failures of other categories that must not be touched
    rate = add_jobs(agent.store, [failed(RATE, (10 - i) * MIN) for i in range(5)])
    old = add_jobs(agent.store, [failed(RATE, timedelta(hours=25))])[0]
    other = add_jobs(agent.store, [failed(OOM, MIN), failed(None, MIN)])
    errors = decode(ErrorsReport, httpx.get(agent.url + "/api/monitoring/errors").json())
    counted = {c.category: c.count for c in errors.categories}["Rate Limiting"]

    dry = result(bulk(agent, {"action": "retry", "category": "Rate Limiting", "dryRun": True}))
    assert (dry.matched, dry.changed, dry.skipped) == (5, 0, 0) == (counted, 0, 0)
    assert [j.id for j in dry.sample] == rate  # oldest first
    assert {statuses(agent)[i] for i in rate} == {"failed"}  # a dry run changes nothing

    oldest = result(bulk(agent, {"action": "retry", "category": "Rate Limiting", "limit": 2}))
    assert (oldest.matched, oldest.changed, oldest.skipped) == (2, 2, 0)
    now = statuses(agent)
    assert [now[i] for i in rate] == ["pending", "pending", "failed", "failed", "failed"]
    job = agent.store.get_job(rate[0])
    assert (job.attempts, job.error, job.message) == (0, None, "Retry requested by operator")

    rest = result(bulk(agent, {"action": "retry", "category": "Rate Limiting", "hours": 24}))
    assert (rest.matched, rest.changed, rest.skipped) == (3, 3, 0)
    now = statuses(agent)
    assert {now[i] for i in rate} == {"pending"}
    assert now[old] == "failed" and {now[i] for i in other} == {"failed"}
    # a job without an error message is of the Unknown category
    unknown = result(bulk(agent, {"action": "retry", "category": "Unknown", "dryRun": True}))
    assert [j.id for j in unknown.sample] == [other[1]]


def test_filters_of_the_jobs_tab_and_the_single_job_rule(agent):
    s = agent.store
    pending = add_jobs(s, [{"status": "pending", "type": "pdf_export", "created": 3 * MIN}] * 2)
    processing = add_jobs(s, [{"status": "processing", "type": "pdf_export", "started": MIN}])
    other = add_jobs(s, [{"status": "pending", "type": "story_generation"}])
    done = add_jobs(s, [{"status": "completed", "type": "pdf_export", "finished": MIN}])
    cancelled = add_jobs(s, [{"status": "cancelled", "finished": MIN}])

    # cancel: every pending or processing job that the search matches, nothing else
    r = result(bulk(agent, {"action": "cancel", "q": "pdf_"}))
    assert (r.matched, r.changed, r.skipped) == (3, 3, 0)
    now = statuses(agent)
    assert {now[i] for i in pending + processing} == {"cancelled"}
    assert now[other[0]] == "pending" and now[done[0]] == "completed"

    # retry without a status: failed and cancelled jobs; with one: only those
    r = result(bulk(agent, {"action": "retry", "status": "cancelled", "type": "pdf_export"}))
    assert (r.matched, r.changed) == (3, 3)
    assert statuses(agent)[cancelled[0]] == "cancelled"
    r = result(bulk(agent, {"action": "retry", "dryRun": True}))
    assert [j.id for j in r.sample] == cancelled

    # nothing matches: nothing to do
    r = result(bulk(agent, {"action": "retry", "q": "no such job"}))
    assert (r.matched, r.changed, r.skipped, r.sample) == (0, 0, 0, ())


def test_cancel_a_category_stops_the_retries_still_waiting(agent):
    # jobs whose last attempt failed wait, pending, for their next one, with that error kept
    waiting = {"status": "pending", "attempts": 1, "created": 3 * MIN, "updated": MIN}
    rate = add_jobs(agent.store, [{**waiting, "error": RATE}] * 2)
    other = add_jobs(agent.store, [{**waiting, "error": OOM}, failed(RATE, MIN)])
    r = result(bulk(agent, {"action": "cancel", "category": "Rate Limiting"}))
    assert (r.matched, r.changed, r.skipped) == (2, 2, 0)
    now = statuses(agent)
    assert {now[i] for i in rate} == {"cancelled"}
    assert [now[i] for i in other] == ["pending", "failed"]


def test_hours_bound_the_window_without_a_category_too(agent):
    # a cancel dates a job by its last update, a retry by when it finished
    s = agent.store
    old, new = add_jobs(
        s, [{"status": "pending", "created": timedelta(days=2)}, {"status": "pending"}]
    )
    gone = add_jobs(s, [failed(OOM, timedelta(hours=30))])[0]
    r = result(bulk(agent, {"action": "cancel", "hours": 24}))
    assert (r.matched, [j.id for j in r.sample]) == (1, [new])
    assert statuses(agent)[old] == "pending"
    # the job just cancelled finished now; the failed one 30 hours ago
    r = result(bulk(agent, {"action": "retry", "hours": 24, "dryRun": True}))
    assert [j.id for j in r.sample] == [new]
    r = result(bulk(agent, {"action": "retry", "dryRun": True}))
    assert [j.id for j in r.sample] == [gone, new]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ("not json", 400, "invalid body: expected a JSON object"),
        ([1], 400, "invalid body: expected a JSON object"),
        ({"dryRun": True}, 400, "body.action: missing"),
        ({"action": "delete"}, 400, "body.action: expected one of retry|cancel"),
        ({"action": "retry", "dry_run": True}, 400, "unknown field 'dry_run'"),
        ({"action": "retry", "dryRun": "yes"}, 400, "body.dryRun: expected true or false"),
        ({"action": "retry", "status": "stuck"}, 400, "body.status: expected one of"),
        ({"action": "retry", "hours": 169}, 400, "body.hours: expected a whole number from 1"),
        ({"action": "retry", "limit": 0}, 400, "body.limit: expected a whole number from 1"),
        ({"action": "retry", "q": "x" * 201}, 400, "body.q: expected 1 to 200 characters"),
        # found by fuzzing the spec: a 500, and answers the spec did not allow
        ('{"action": "retry", "q": "\\ud800"}', 400, "invalid q: contains a lone surrogate"),
        pytest.param(
            "[" * 100_000 + "]" * 100_000, 400, "invalid body: expected a JSON object", id="deep"
        ),
        ({"action": "retry", "dryRun": None}, 400, "body.dryRun: expected true or false"),
        ({"action": "retry", "q": 0}, 400, "body.q: expected a string"),
        ({"action": "retry", "status": "completed"}, 422, "retry changes only failed or"),
        ({"action": "cancel", "status": "failed"}, 422, "cancel changes only pending or"),
        ({"action": "retry", "category": "Nope"}, 422, "unknown category 'Nope': expected"),
        ({"action": "retry", "queue": "default"}, 422, "queue: this source has no queues"),
    ],
)
def test_bad_requests_say_why(agent, body, status, needle):
    if isinstance(body, str):
        headers = {"Content-Type": "application/json"}
        r = httpx.post(agent.url + "/api/jobs/bulk", content=body, headers=headers)
    else:
        r = bulk(agent, body)
    assert r.status_code == status
    assert needle in r.json()["error"]


def test_only_the_admin_token_may(agent_factory):
    a = agent_factory(env={"JOBTUI_READ_TOKEN": READ, "JOBTUI_ADMIN_TOKEN": ADMIN})
    job = add_jobs(a.store, [failed(OOM, MIN)])[0]
    body = {"action": "retry", "dryRun": True}
    assert bulk(a, body).status_code == 401
    r = bulk(a, {"action": "retry"}, READ)
    assert r.status_code == 403 and "admin" in r.json()["error"]
    assert statuses(a)[job] == "failed"
    assert result(bulk(a, body, ADMIN)).matched == 1


def test_a_job_that_changes_between_match_and_write_is_skipped_and_counted(agent_factory):
    a = agent_factory(extra_args=["--log-level", "debug"])
    ids = add_jobs(a.store, [failed(OOM, (5 - i) * MIN) for i in range(3)])
    answer: dict[str, httpx.Response] = {}
    # A worker takes the middle job while the bulk retry runs: it holds the row (PostgreSQL)
    # or the write lock (SQLite) until the agent has matched, then commits.
    with a.store.write() as conn:
        conn.execute(
            text(
                "UPDATE background_jobs SET status = 'processing', message = 'taken by a "
                "worker', completed_at = NULL WHERE id = :id"
            ),
            {"id": ids[1]},
        )
        thread = threading.Thread(
            target=lambda: answer.update(r=bulk(a, {"action": "retry", "category": "Resources"}))
        )
        thread.start()
        wait_for(lambda: "Bulk retry: 3 jobs matched, writing" in a.stderr(), timeout=20)
    thread.join(30)
    r = result(answer["r"])
    assert (r.matched, r.changed, r.skipped) == (3, 2, 1)
    now = statuses(a)
    assert [now[i] for i in ids] == ["pending", "processing", "pending"]
    assert a.store.get_job(ids[1]).message == "taken by a worker"  # not overwritten
    wait_for(lambda: "Bulk retry by operator: 3 matched, 2 changed, 1 skipped" in a.stderr())


def test_openapi_describes_bulk(agent):
    spec = httpx.get(agent.url + "/openapi.json").json()
    post = spec["paths"]["/api/jobs/bulk"]["post"]
    assert set(post["responses"]) >= {"200", "400", "403", "422"}
    schemas = spec["components"]["schemas"]
    assert schemas["BulkRequest"]["required"] == ["action"]
    assert set(schemas["BulkRequest"]["properties"]) == {
        "action", "status", "type", "q", "queue", "category", "hours", "limit", "dryRun",
    }  # fmt: skip
    assert set(schemas["BulkResult"]["required"]) == {"matched", "changed", "skipped"}


def test_category_counts_are_exact_past_the_newest_5000(agent):
    """The Errors tab's counts are those a bulk action acts on: the whole window, not the
    newest 5,000 failures (which the errors endpoint once categorised and nothing more)."""
    add_jobs(agent.store, [failed(RATE, 30 * MIN)] * 100)  # older than the newest 5,000
    add_jobs(agent.store, [failed(OOM, MIN, job_id=f"oom-{i:04}") for i in range(5000)])
    report = decode(ErrorsReport, httpx.get(agent.url + "/api/monitoring/errors").json())
    assert report.total == report.analysed == 5100
    by = {c.category: c for c in report.categories}
    assert {k: c.count for k, c in by.items()} == {"Resources": 5000, "Rate Limiting": 100}
    assert by["Rate Limiting"].sample == RATE and by["Rate Limiting"].first_seen is not None
    assert len(by["Resources"].job_ids) == 20
    r = result(bulk(agent, {"action": "retry", "category": "Rate Limiting", "dryRun": True}))
    assert r.matched == by["Rate Limiting"].count


# --------------------------------------------------------------------------- the client


async def test_the_client_asks_the_agent_and_reads_a_typed_answer(agent_factory):
    a = agent_factory(env={"JOBTUI_READ_TOKEN": READ, "JOBTUI_ADMIN_TOKEN": ADMIN})
    ids = add_jobs(a.store, [failed(OOM, (3 - i) * MIN) for i in range(3)])
    ask = BulkRequest("retry", status="failed", category="Resources", hours=24, limit=2)
    async with Client(a.url, ADMIN) as c:
        dry = await c.bulk(BulkRequest("retry", category="Resources", dry_run=True))
        done = await c.bulk(ask)
    assert (dry.matched, dry.changed, [j.id for j in dry.sample]) == (3, 0, ids)
    assert (done.matched, done.changed, done.skipped) == (2, 2, 0)
    assert [statuses(a)[i] for i in ids] == ["pending", "pending", "failed"]
    async with Client(a.url, READ) as c:
        with pytest.raises(Unauthorized, match=r"forbidden \(403\) on POST /api/jobs/bulk"):
            await c.bulk(ask)


@pytest.mark.parametrize(
    "canned",
    [
        None,  # the seed's app: 404, an HTML page
        Canned(405, {"error": "method not allowed: POST /api/jobs/bulk"}),  # our older agent
    ],
)
async def test_a_server_without_bulk_is_not_provided(seed_server, canned):
    if canned is not None:
        seed_server.set("POST", "/api/jobs/bulk", canned)
    async with Client(seed_server.url) as c:
        with pytest.raises(NotProvided, match="POST /api/jobs/bulk: not provided by this server"):
            await c.bulk(BulkRequest("cancel", dry_run=True))
    assert seed_server.requests[-1][:2] == ("POST", "/api/jobs/bulk")
