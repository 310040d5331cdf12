"""Auth, bind safety, and bad input: clear errors, right codes, no tracebacks, no leaked tokens."""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta

import httpx
import pytest

from tests.support import add_job, jobtui_cmd

READ, ADMIN = "read-token-123", "admin-token-456"
TOKENS = {"JOBTUI_READ_TOKEN": READ, "JOBTUI_ADMIN_TOKEN": ADMIN}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def secured(agent_factory):
    return agent_factory(env=TOKENS, extra_args=["--log-level", "debug"])


def test_reads_need_a_token_and_health_stays_public(secured):
    u = secured.url
    assert httpx.get(u + "/api/jobs/health").status_code == 200
    r = httpx.get(u + "/api/jobs")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert httpx.get(u + "/api/jobs", headers=bearer("wrong")).status_code == 401
    assert httpx.get(u + "/api/jobs", headers=bearer(READ)).status_code == 200
    assert httpx.get(u + "/api/jobs", headers=bearer(ADMIN)).status_code == 200
    assert httpx.get(u + "/metrics", headers=bearer(READ)).status_code == 200
    assert httpx.get(u + "/metrics").status_code == 401


def test_admin_actions_need_the_admin_token(secured):
    u = secured.url
    job = add_job(
        secured.store,
        status="failed",
        error="x",
        started=timedelta(minutes=2),
        finished=timedelta(minutes=1),
    )
    assert httpx.get(u + "/api/admin/check").status_code == 401
    assert httpx.get(u + "/api/admin/check", headers=bearer(READ)).status_code == 403
    assert httpx.get(u + "/api/admin/check", headers=bearer(ADMIN)).status_code == 200
    r = httpx.post(u + f"/api/jobs/{job}/retry", headers=bearer(READ))
    assert r.status_code == 403 and "admin" in r.json()["error"]
    assert httpx.post(u + "/api/admin/recover-stuck", headers=bearer(READ)).status_code == 403
    assert httpx.post(u + f"/api/jobs/{job}/retry", headers=bearer(ADMIN)).status_code == 200


def test_tokens_never_reach_the_logs(secured):
    for token in (READ, ADMIN, "some-wrong-token"):
        httpx.get(secured.url + "/api/jobs", headers=bearer(token))
        httpx.post(secured.url + "/api/admin/recovery", headers=bearer(token))
    time.sleep(0.3)
    secured.stop()
    logs = secured.stderr()
    assert "GET /api/jobs 200" in logs  # request lines are there (debug level)
    for token in (READ, ADMIN, "some-wrong-token"):
        assert token not in logs


def test_private_health_when_configured(agent_factory):
    a = agent_factory({"agent": {"public_health": False}}, env=TOKENS)
    assert httpx.get(a.url + "/api/jobs/health").status_code == 401
    assert httpx.get(a.url + "/api/jobs/health", headers=bearer(READ)).status_code == 200


def run_jobtui(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    full_env.update(env or {})
    return subprocess.run(
        jobtui_cmd(*args), capture_output=True, text=True, timeout=30, cwd=cwd, env=full_env
    )


def assert_one_clean_line(
    result: subprocess.CompletedProcess[str], code: int, *needles: str
) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_public_bind_without_tokens_is_refused(tmp_path):
    r = run_jobtui(
        "serve", "--host", "0.0.0.0", "--port", "0", "--database", f"sqlite:///{tmp_path / 'x.db'}"
    )
    assert_one_clean_line(
        r, 2, "refusing to listen on 0.0.0.0 without tokens", "--insecure-no-auth"
    )


def test_public_bind_with_tokens_starts(agent_factory):
    a = agent_factory(extra_args=["--host", "0.0.0.0"], env=TOKENS)
    assert httpx.get(a.url.replace("0.0.0.0", "127.0.0.1") + "/api/jobs/health").status_code == 200


@pytest.mark.parametrize(
    ("database", "needle"),
    [
        ("mysql://x@y/z", "unsupported database"),
        ("not a url", "invalid database URL"),
        ("sqlite:////no/such/folder/x.db", "does not exist"),
        ("sqlite://", "SQLite needs a file"),
    ],
)
def test_bad_database_urls(tmp_path, database, needle):
    r = run_jobtui("serve", "--port", "0", "--database", database, cwd=tmp_path)
    assert_one_clean_line(r, 2, needle)


def test_a_file_that_is_not_a_database(tmp_path):
    bad = tmp_path / "garbage.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    r = run_jobtui("serve", "--port", "0", "--database", f"sqlite:///{bad}")
    assert_one_clean_line(r, 2, "cannot open database", "garbage.db")
    assert bad.read_bytes() == b"this is not sqlite" * 100  # untouched


def test_database_password_is_never_shown(tmp_path):
    r = run_jobtui("serve", "--port", "0", "--database", "postgresql://u:s3cret@127.0.0.1:1/db")
    assert r.returncode == 2
    assert "s3cret" not in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        ("agent: [unclosed", ("invalid YAML", "line 1")),
        ("agent:\n  port: eighty\n", ("agent.port", "expected a number")),
        ("agent:\n  colour: blue\n", ("agent.colour", "unknown key")),
        (
            "thresholds:\n  warning:\n    queue_depth: 90\n",
            ("thresholds.warning.queue_depth", "above"),
        ),
        ("agent:\n  stuck_after: soon\n", ("agent.stuck_after", "duration")),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, content, needles):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(content)
    r = run_jobtui(
        "serve", "--port", "0", "--config", str(cfg), "--database", f"sqlite:///{tmp_path / 'x.db'}"
    )
    assert_one_clean_line(r, 2, "bad.yaml", *needles)


def test_missing_config_file(tmp_path):
    r = run_jobtui("serve", "--config", str(tmp_path / "nope.yaml"))
    assert_one_clean_line(r, 2, "nope.yaml", "no such file")


def test_store_failure_while_running_gives_503(agent):
    """Break the store under a running agent: health says so, in the contract's shape."""
    from sqlalchemy import text

    add_job(agent.store, status="pending")
    with agent.store.write() as conn:
        conn.execute(text("DROP TABLE job_status_counts"))
        conn.execute(text("DROP TABLE background_jobs"))
    r = httpx.get(agent.url + "/api/jobs/health")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "critical"
    assert body["message"] == "Database connection failed"
    assert body["systemStatus"]["manager"] is False
    r = httpx.get(agent.url + "/api/jobs")
    assert r.status_code == 503
    assert r.json() == {"error": "Database connection failed"}
    assert "Traceback" not in agent.stderr()
