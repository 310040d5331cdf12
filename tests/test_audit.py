"""Who did what: every admin action of a real agent is one ``jobtui.audit`` line in its
``all.log`` (the token class, the remote address, the request id, the parameters, the
counts; never the token), and ``jobtui incident`` puts them on its timeline."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobtui.agent import audit
from jobtui.contract import utcnow
from tests.support import AgentProcess, add_job, add_stuck, jobtui_cmd, wait_for

READ, ADMIN = "read-tok-audit-123456", "admin-tok-audit-654321"
TOKENS = {"JOBTUI_READ_TOKEN": READ, "JOBTUI_ADMIN_TOKEN": ADMIN}
AUTH = {"Authorization": f"Bearer {ADMIN}"}
sqlite = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def all_log(agent: AgentProcess) -> Path:
    return agent.cwd / "logs" / "all.log"


def audit_lines(agent: AgentProcess) -> list[str]:
    path = all_log(agent)
    text = path.read_text() if path.exists() else ""
    return [
        line.split(" jobtui.audit: ", 1)[1]
        for line in text.splitlines()
        if " jobtui.audit: " in line
    ]


def post(agent: AgentProcess, path: str, headers: Any = None, **kwargs: Any) -> httpx.Response:
    r = httpx.post(agent.url + path, headers={**AUTH, **(headers or {})}, timeout=30, **kwargs)
    assert r.status_code < 300, r.text
    return r


def test_every_admin_action_is_one_audit_line(agent_factory: Any) -> None:
    a = agent_factory(env=TOKENS)
    failed = add_job(a.store, status="failed", error="boom", finished=timedelta(minutes=1))
    pending = add_job(a.store, status="pending")
    add_stuck(a.store, 2)
    done: list[tuple[str, str]] = []  # (request id, the line's start)

    def did(r: httpx.Response, start: str) -> None:
        done.append((r.headers["x-request-id"], start))

    did(post(a, f"/api/jobs/{failed}/retry"), f"retry job={failed} -> status=pending")
    did(post(a, f"/api/jobs/{pending}/cancel"), f"cancel job={pending} -> status=cancelled")
    body = {"action": "cancel", "status": "pending", "q": "x\nERROR forged", "dryRun": True}
    did(
        post(a, "/api/jobs/bulk", json=body),
        'bulk-cancel status=pending q="x\\nERROR forged" dryRun=true -> matched=0 changed=0 '
        "skipped=0",
    )
    did(post(a, "/api/admin/recover-stuck"), "recover-stuck -> recovered=2 failed=0")
    r = post(a, "/api/admin/backups")
    name, jobs = r.json()["name"], r.json()["jobs"]
    did(r, f"backup -> name={name} jobs={jobs} bytes={r.json()['size']}")
    did(
        post(a, f"/api/admin/backups/{name}/restore", params={"dryRun": "true"}),
        f"restore name={name} dryRun=true -> jobs={jobs} inserted=0 updated={jobs}",
    )
    did(post(a, "/api/admin/recovery"), "recovery -> success=true backup=")
    r = httpx.delete(a.url + "/api/admin/backups", params={"olderThanDays": "30"}, headers=AUTH)
    assert r.status_code == 200
    did(r, "prune olderThanDays=30 -> deleted=0 kept=2")
    httpx.get(a.url + "/api/jobs", headers={"Authorization": f"Bearer {READ}"})  # not an action

    wait_for(lambda: len(audit_lines(a)) >= len(done), timeout=15)
    lines = audit_lines(a)
    assert len(lines) == len(done), lines
    for line, (rid, start) in zip(lines, done, strict=True):
        assert line.startswith(start), (line, start)
        assert line.endswith(f"(token=admin from=127.0.0.1 request={rid})"), line
    text = all_log(a).read_text()
    assert ADMIN not in text and READ not in text
    assert "\nERROR forged" not in text  # escaped: no forged line
    read_back = audit.read(all_log(a), utcnow() - timedelta(minutes=5))
    assert [m for _, m in read_back] == lines


@sqlite
def test_an_agent_without_tokens_says_so_and_json_logs_read_back(
    agent_factory: Any, tmp_path: Path
) -> None:
    a = agent_factory({"logging": {"format": "json"}})
    r = post(a, "/api/admin/recover-stuck", headers={"X-Request-ID": "ops-42"})
    assert r.headers["x-request-id"] == "ops-42"
    found = wait_for(lambda: audit.read(all_log(a), utcnow() - timedelta(minutes=5)), timeout=15)
    assert [m for _, m in found] == [
        "recover-stuck -> recovered=0 failed=0 (token=none from=127.0.0.1 request=ops-42)"
    ]
    assert abs((found[0][0] - utcnow()).total_seconds()) < 60


def test_incident_puts_the_admin_actions_on_its_timeline(
    agent_factory: Any, tmp_path: Path
) -> None:
    a = agent_factory(env=TOKENS)
    r = post(a, "/api/jobs/bulk", json={"action": "retry", "status": "failed"})
    rid = r.headers["x-request-id"]
    wait_for(lambda: audit_lines(a), timeout=15)
    config = tmp_path / "incident.yaml"
    config.write_text(
        f"targets:\n  local:\n    url: {a.url}\n"
        f"logging:\n  agent_log: {all_log(a)}\n"
        f"incident:\n  dir: {tmp_path / 'incidents'}\n"
        f"watch:\n  state_file: {tmp_path / 'watch.json'}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    env["JOBTUI_TOKEN"] = READ  # reading is enough: the log is read from this machine

    def incident(*args: str) -> str:
        """Run ``jobtui incident`` on this config; the report it wrote."""
        proc = subprocess.run(
            jobtui_cmd("incident", "--config", str(config), *args),
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        return Path(proc.stdout.strip().splitlines()[-1]).read_text()

    report = incident()
    timeline = report.split("## Timeline", 1)[1].split("## Figures", 1)[0]
    assert (
        "admin: bulk-retry status=failed dryRun=false -> matched=0 changed=0 skipped=0 "
        f"(token=admin from=127.0.0.1 request={rid})"
    ) in timeline
    assert ADMIN not in report

    # No log this machine can read: the report says where it looked, and is written anyway.
    report = incident("--agent-log", str(tmp_path / "none.log"))
    assert f"_admin actions: {tmp_path / 'none.log'}: no such file" in report
