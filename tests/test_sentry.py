"""Sentry: job failures reported with the seed's tags and without PII, through a local
transport (in process) and, end to end, from a real agent to a local Sentry-like receiver."""

from __future__ import annotations

import gzip
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

pytest.importorskip("sentry_sdk")

from sentry_sdk.transport import Transport

from jobtui.agent.sentry import FailureReporter, before_send, scrub_text
from jobtui.agent.service import Agent
from jobtui.agent.store import JobStore
from jobtui.config import Config
from tests.support import add_job, wait_for

DSN = "http://public@127.0.0.1:9/1"


class Recording(Transport):
    """Keeps every event instead of sending it."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Any) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(event)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail ann@example.com now", "mail [email] now"),
        (
            'could not connect to "db" (10.0.0.5) port 5432',
            'could not connect to "db" ([ip]) port 5432',
        ),
        ("peer 2001:db8::1 reset", "peer [ip] reset"),
        ("at 03:00:00 version 1.2.3 of 999.1.1.1", "at 03:00:00 version 1.2.3 of 999.1.1.1"),
        ("postgresql://u:secret@db.example.org/x", "postgresql://u:[email]/x"),
    ],
)
def test_scrub_text(text, expected):
    assert scrub_text(text) == expected


def test_before_send_drops_the_users_ip_and_email_as_the_seed_does():
    event = {
        "user": {"id": "7", "ip_address": "1.2.3.4", "email": "a@b.io"},
        "message": "failed for bob@corp.io from 192.168.1.9",
        "extra": {"peers": ["10.1.1.1", "ok"]},
    }
    out = before_send(event, {})
    assert out["user"] == {"id": "7"}
    assert out["message"] == "failed for [email] from [ip]"
    assert out["extra"] == {"peers": ["[ip]", "ok"]}


@pytest.fixture
def local_agent(tmp_path):
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    store.migrate()
    yield Agent(store, Config())
    store.close()


async def test_each_new_failure_is_sent_once_with_the_seeds_tags(local_agent):
    transport = Recording()
    reporter = FailureReporter(local_agent, DSN, transport=transport, interval=60)
    store = local_agent.store
    old = add_job(store, status="failed", error="Out of memory", finished=timedelta(hours=1))
    first = add_job(
        store,
        status="failed",
        type="image_generation",
        error="Database connection failed: db 10.0.0.5 (ops@example.com)",
        started=timedelta(seconds=1),
        finished=timedelta(0),
        attempts=3,
    )
    add_job(store, status="completed", started=timedelta(seconds=2), finished=timedelta(0))
    assert await reporter.poll() == 1
    assert await reporter.poll() == 0  # nothing new: nothing sent again
    second = add_job(store, status="failed", error="Something odd", finished=timedelta(0))
    assert await reporter.poll() == 1
    reporter.client.close(1)
    ids = [e["tags"]["job_id"] for e in transport.events]
    assert ids == [first, second] and old not in ids
    e = transport.events[0]
    assert e["level"] == "error"
    assert e["tags"]["job_type"] == "image_generation"
    assert e["tags"]["error_category"] == "Database"
    assert e["fingerprint"] == ["job-failure", "Database"]
    assert e["message"] == "Database connection failed: db [ip] ([email])"
    assert e["contexts"]["job"]["attempts"] == 3
    assert transport.events[1]["tags"]["error_category"] == "Unknown"


class SentryReceiver:
    """A local stand-in for Sentry's ingest endpoint: decodes the envelopes it is sent."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.transactions: list[dict[str, Any]] = []
        me = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                lines = raw.split(b"\n")
                for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                    kind = json.loads(header).get("type")
                    if kind == "event":
                        me.events.append(json.loads(payload))
                    elif kind == "transaction":
                        me.transactions.append(json.loads(payload))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


def test_the_agent_reports_failures_when_sentry_dsn_is_set(agent_factory):
    receiver = SentryReceiver()
    try:
        a = agent_factory(env={"SENTRY_DSN": f"http://abc123@127.0.0.1:{receiver.port}/42"})
        job = add_job(
            a.store,
            status="failed",
            type="pdf_export",
            error="Invalid input: x",
            finished=timedelta(0),
        )
        wait_for(lambda: receiver.events, timeout=15)
        a.stop()
        assert "abc123" not in a.stderr()  # the DSN is never logged
    finally:
        receiver.httpd.shutdown()
        receiver.httpd.server_close()
    (event,) = receiver.events
    assert event["tags"]["job_id"] == job and event["tags"]["job_type"] == "pdf_export"
    assert event["tags"]["error_category"] == "Validation"


@pytest.fixture
def sentry_receiver():
    receiver = SentryReceiver()
    yield receiver
    receiver.httpd.shutdown()
    receiver.httpd.server_close()


def dsn(receiver: SentryReceiver) -> dict[str, str]:
    return {"SENTRY_DSN": f"http://abc123@127.0.0.1:{receiver.port}/42"}


def test_each_request_is_a_transaction_named_by_its_route(agent_factory, sentry_receiver):
    a = agent_factory({"agent": {"sentry": {"traces_sample_rate": 1.0}}}, env=dsn(sentry_receiver))
    job = add_job(a.store, status="completed", started=timedelta(seconds=2), finished=timedelta(0))
    assert httpx.get(f"{a.url}/api/jobs/{job}").status_code == 200
    assert httpx.get(f"{a.url}/api/jobs/nope?token=x").status_code == 404
    assert httpx.get(f"{a.url}/no/such/path").status_code == 404
    trace = "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1"
    assert httpx.get(f"{a.url}/api/jobs/health", headers={"sentry-trace": trace}).is_success
    a.stop()  # flushes what is queued
    by_name = {t["transaction"]: t for t in sentry_receiver.transactions}
    assert set(by_name) >= {"GET /api/jobs/{job_id}", "GET (no route)", "GET /api/jobs/health"}
    assert job not in json.dumps(sentry_receiver.transactions)  # ids and queries never named
    assert "token" not in json.dumps(sentry_receiver.transactions)
    ok = by_name["GET /api/jobs/health"]["contexts"]["trace"]
    assert ok["op"] == "http.server" and ok["status"] == "ok"
    assert ok["trace_id"] == trace.split("-")[0]  # the caller's trace, continued
    statuses = [t["contexts"]["trace"]["status"] for t in sentry_receiver.transactions]
    assert "not_found" in statuses


def test_the_seeds_sample_rate_by_default(agent_factory, sentry_receiver):
    """0.2 of the requests: of 100, between 1 and 50 (the odds of either end: below 1e-9)."""
    a = agent_factory(env=dsn(sentry_receiver))
    with httpx.Client() as http:
        for _ in range(100):
            http.get(a.url + "/api/jobs/health")
    a.stop()
    assert 1 <= len(sentry_receiver.transactions) <= 50, len(sentry_receiver.transactions)


def test_rate_0_sends_no_transaction_and_a_bad_rate_is_one_line(agent_factory, sentry_receiver):
    a = agent_factory({"agent": {"sentry": {"traces_sample_rate": 0}}}, env=dsn(sentry_receiver))
    for _ in range(20):
        httpx.get(a.url + "/api/jobs/health")
    a.stop()
    assert sentry_receiver.transactions == []
    with pytest.raises(RuntimeError, match=r"agent\.sentry\.traces_sample_rate: must be at most 1"):
        agent_factory({"agent": {"sentry": {"traces_sample_rate": 2}}}, timeout=5)


def test_recoveries_and_backups_are_sent_as_job_events(agent_factory, sentry_receiver):
    a = agent_factory({"agent": {"backups": {"every_hours": 1 / 3600}}}, env=dsn(sentry_receiver))
    add_job(
        a.store, status="processing", started=timedelta(minutes=30), updated=timedelta(minutes=20)
    )
    assert httpx.post(a.url + "/api/admin/recovery", timeout=30).json()["success"]
    assert httpx.post(a.url + "/api/admin/recover-stuck").status_code == 200
    made = httpx.post(a.url + "/api/admin/backups").json()["name"]
    wait_for(
        lambda: sum(e["tags"].get("event") == "backup" for e in sentry_receiver.events) >= 3,
        timeout=20,
    )
    a.stop()
    events = [e for e in sentry_receiver.events if "event" in e["tags"]]
    recovery = [e for e in events if e["tags"]["event"] == "recovery"]
    assert recovery[0]["message"] == "System recovery completed successfully"
    assert recovery[0]["level"] == "info" and recovery[0]["contexts"]["recovery"]["recovered"] == 1
    assert recovery[1]["message"] == "Recovered 0 stuck jobs (0 failed)"
    backups = [e["message"] for e in events if e["tags"]["event"] == "backup"]
    assert f"Backup created: {made}" in backups  # by hand; the others scheduled
    assert len(backups) >= 3


def test_several_agents_report_each_failure_once(agent_factory, sentry_receiver):
    agents = [agent_factory(env=dsn(sentry_receiver)) for _ in range(3)]
    job = add_job(agents[0].store, status="failed", error="Out of memory", finished=timedelta(0))
    wait_for(lambda: sentry_receiver.events, timeout=15)
    time.sleep(3)  # three polls of every agent: time enough for a second report
    for a in agents:
        a.stop()
    assert [e["tags"]["job_id"] for e in sentry_receiver.events if "job_id" in e["tags"]] == [job]
