"""Hostile input to the data layer, over HTTP to a real agent on SQLite and PostgreSQL: forged
cursors, NUL bytes in filters and ids. Each is answered 400/404 with the reason, never a 500."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import pytest

from tests.support import AgentProcess, add_job

MIN = timedelta(minutes=1)


def cursor_of(value: object) -> str:
    raw = json.dumps(value).encode() if not isinstance(value, bytes) else value
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("cursor", "reason"),
    [
        # An offset that takes the time below year 1 in UTC (OverflowError, was a 500).
        (cursor_of(["0001-01-01T00:00:00+01:00", "x"]), "its time is out of range"),
        (cursor_of(["9999-12-31T23:59:59-01:00", "x"]), "its time is out of range"),
        (cursor_of(["yesterday", "x"]), "its time is not a timestamp"),
        (cursor_of(["2026-11-01T00:00:00Z", "a\x00b"]), "its job id holds a NUL character"),
        (cursor_of({"2026-11-01T00:00:00Z": 1, "x": 2}), "not one this server made"),
        (cursor_of([1, 2]), "not one this server made"),
        (cursor_of(["2026-11-01T00:00:00Z"]), "not one this server made"),
        (cursor_of(b"\xff\xfe not json"), "not one this server made"),
        (cursor_of(b"[" * 370), "not one this server made"),  # at the API's 500 characters
        ("!!!", "not one this server made"),
    ],
    ids=lambda v: v if len(v) < 40 else v[:40],
)
def test_a_forged_cursor_is_400_with_the_reason(agent: AgentProcess, cursor, reason):
    add_job(agent.store, status="pending")
    r = httpx.get(agent.url + "/api/jobs", params={"cursor": cursor}, timeout=30)
    assert r.status_code == 400, r.text
    assert reason in r.json()["error"]
    assert r.json()["error"].startswith("invalid cursor")


def test_nul_in_a_filter_is_400_on_both_stores(agent: AgentProcess):
    """PostgreSQL refuses NUL in text (an uncaught DataError: 500); SQLite's LIKE stopped at
    it, so q=%00 matched every job."""
    add_job(agent.store, status="failed", error="Out of memory", started=2 * MIN, finished=MIN)
    add_job(agent.store, status="pending", message="waiting")
    for params, name in (
        ({"q": "\x00"}, "q"),
        ({"q": "Out\x00"}, "q"),
        ({"type": "story\x00generation"}, "type"),
    ):
        r = httpx.get(agent.url + "/api/jobs", params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["error"] == f"invalid {name}: contains a NUL character"
    r = httpx.post(
        agent.url + "/api/jobs/bulk", json={"action": "retry", "q": "\x00", "dryRun": True}
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid q: contains a NUL character"


def test_an_id_with_nul_is_an_unknown_job(agent: AgentProcess):
    add_job(agent.store, status="failed", error="x", started=2 * MIN, finished=MIN)
    assert httpx.get(agent.url + "/api/jobs/a%00b").status_code == 404
    for action in ("retry", "cancel"):
        r = httpx.post(agent.url + f"/api/jobs/a%00b/{action}")
        assert r.status_code == 404, r.text
        assert r.json()["error"] == "job a\x00b not found"
