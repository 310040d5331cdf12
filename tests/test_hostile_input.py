"""Hostile input to the data layer, over HTTP to a real agent on SQLite and PostgreSQL: forged
cursors, NUL bytes in filters and ids, and backup records that neither store can keep. Each
is answered 400/422 with the reason, never a 500, and leaves the table as it was; a dry run
refuses exactly what the restore refuses."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

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


# --------------------------------------------------------------------------- hostile records


def table(agent: AgentProcess) -> list[tuple]:
    with agent.store.read() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM background_jobs ORDER BY id"))]


def rewrite(folder: Path, name: str, lines: dict[int, str]) -> None:
    """Replace records (by number) with raw lines, with a checksum that matches: the file
    a careless tool or an attacker with write access to the folder would leave."""
    path = folder / name
    old = path.read_text().splitlines()
    for n, line in lines.items():
        old[n] = line + ("," if old[n].endswith(",") else "")
    path.write_text("\n".join(old) + "\n", encoding="utf-8", errors="surrogatepass")
    meta_path = folder / (name + ".meta.json")
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))


DEEP = "[" * 100_000 + "]" * 100_000

HOSTILE = {
    "progress 10**30": ({"progress": 10**30}, "progress is out of range (0 to 2,147,483,647)"),
    "attempts 2**31": ({"attempts": 2**31}, "attempts is out of range (0 to 2,147,483,647)"),
    "negative progress": ({"progress": -1}, "progress is out of range (0 to 2,147,483,647)"),
    "negative attempts": ({"attempts": -3}, "attempts is out of range (0 to 2,147,483,647)"),
    "lone surrogate": ({"message": "lone \ud800 half"}, "message contains a lone surrogate"),
    "surrogate in a payload key": (
        {"payload": {"k\udc00": 1}},
        "payload contains a lone surrogate",
    ),
    "NUL in text": ({"error": "a\x00b"}, "error contains a NUL character"),
    "NUL in the payload": ({"payload": {"k": ["a\x00"]}}, "payload contains a NUL character"),
    "time before year 1": (
        {"created_at": "0001-01-01T00:00:00+01:00"},
        "created_at is out of range",
    ),
    "time past 9999": ({"updated_at": "9999-12-31T23:59:59-01:00"}, "updated_at is out of range"),
    "NaN payload": ({"payload": {"x": float("nan")}}, "payload holds NaN or Infinity"),
    "Infinity payload": ({"payload": [1e400]}, "payload holds NaN or Infinity"),
    "id with a slash": ({"id": "a/b"}, "id 'a/b' cannot be named in an API path"),
    "id ..": ({"id": ".."}, "id '..' cannot be named in an API path"),
    "id too long": ({"id": "é" * 3000}, "id is longer than 255 characters"),
    "type too long": ({"type": "t" * 256}, "type is longer than 255 characters"),
    "payload 100,000 deep": (DEEP, "nested more than 512 levels deep"),
    "payload 600 deep": ({"payload": json.loads("[" * 600 + "]" * 600)}, "nested more than 512"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_record_is_refused_alike_by_dry_run_and_restore(agent: AgentProcess, case: str):
    for i in range(3):
        add_job(agent.store, status="completed", message=f"m{i}", started=2 * MIN, finished=MIN)
    r = httpx.post(agent.url + "/api/admin/backups", timeout=60)
    assert r.status_code == 201
    name = r.json()["name"]
    folder = agent.backups_dir
    record = json.loads((folder / name).read_text().splitlines()[2].rstrip(","))
    change, reason = HOSTILE[case]
    if isinstance(change, str):
        line = json.dumps(record)[:-1] + ', "payload": ' + change + "}"
    else:
        line = json.dumps({**record, **change})
    rewrite(folder, name, {2: line})
    with agent.store.write() as conn:
        conn.execute(text("UPDATE background_jobs SET message = 'changed'"))
    before = table(agent)

    answers = []
    for dry in ("true", "false"):
        r = httpx.post(
            agent.url + f"/api/admin/backups/{name}/restore", params={"dryRun": dry}, timeout=60
        )
        assert r.status_code == 422, (dry, r.text)
        answers.append(r.json()["error"])
    assert answers[0] == answers[1]  # the dry run finds what the restore would
    assert answers[0].startswith(f"{name}: record 2: ") and reason in answers[0], answers[0]
    assert "\n" not in answers[0]
    assert table(agent) == before
    assert "Traceback" not in agent.stderr()
