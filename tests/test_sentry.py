"""Sentry: job failures reported with the seed's tags and without PII, through a local
transport (in process) and, end to end, from a real agent to a local Sentry-like receiver."""

from __future__ import annotations

import gzip
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
                    if json.loads(header).get("type") == "event":
                        me.events.append(json.loads(payload))
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
