"""``jobtui check`` against the real agent driven into each state, and the seed-only server."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobtui.alerting.observe import ALL_RULES
from jobtui.cli import main
from tests.hostile import MARKUP, SHOWN, HostileServer, raw_controls
from tests.support import Canned, SeedServer, add_job, add_jobs, add_stuck, jobtui_cmd, seed_health

# the host's real CPU/memory must not make these tests flaky
CALM = {"warning": {"resource_utilization": 100}, "critical": {"resource_utilization": 100}}
SMALL = {
    "warning": {"queue_depth": 2, "stuck_jobs": 1, "error_rate": 10, "resource_utilization": 100},
    "critical": {"queue_depth": 5, "stuck_jobs": 2, "error_rate": 20, "resource_utilization": 100},
}


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("JOBTUI_URL", "JOBTUI_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


def write_config(tmp: Path, data: dict[str, Any]) -> str:
    path = tmp / "check.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def check(capsys: Any, *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().out


def perf_labels(line: str) -> set[str]:
    return {p.split("=")[0] for p in line.split(" | ", 1)[1].split()}


# --------------------------------------------------------------------------- the real agent


def test_healthy_agent_is_ok_with_perfdata_for_every_figure(
    agent_factory: Any, capsys: Any, tmp_path: Path
) -> None:
    agent = agent_factory({"thresholds": CALM})
    add_job(
        agent.store, status="completed", started=timedelta(minutes=2), finished=timedelta(minutes=1)
    )
    cfg = write_config(tmp_path, {"thresholds": CALM})
    code, out = check(capsys, "--url", agent.url, "--config", cfg)
    line = out.splitlines()[0]
    assert code == 0, out
    assert line.startswith(
        "JOBTUI OK - queue depth 0, error rate 0.0%, stuck jobs 0, response time "
    )
    assert perf_labels(line) == {
        "queue_depth", "processing_capacity", "success_rate", "error_rate",
        "average_processing_time", "jobs_per_hour", "stuck_jobs", "wait_time",
        "resource_utilization", "last_processed_age", "response_time",
    }  # fmt: skip
    assert "queue_depth=0;20;50;0" in line
    assert "error_rate=0%;10;20;0;100" in line
    assert "average_processing_time=60000ms;300000;900000;0" in line
    assert " response_time=0." in line and "s;5;10;0" in line


def test_queue_depth_warning(agent_factory: Any, capsys: Any, tmp_path: Path) -> None:
    agent = agent_factory({"thresholds": SMALL})
    add_jobs(agent.store, [{"status": "pending"}] * 3)
    code, out = check(
        capsys, "--url", agent.url, "--config", write_config(tmp_path, {"thresholds": SMALL})
    )
    assert code == 1, out
    assert out.startswith("JOBTUI WARNING - queue depth 3 > 2 | queue_depth=3;2;5;0 ")
    assert "WARNING: Queue depth 3 > 2\n  → Increase processing capacity" in out


def test_stuck_jobs_and_error_rate_critical(
    agent_factory: Any, capsys: Any, tmp_path: Path
) -> None:
    agent = agent_factory({"thresholds": SMALL})
    add_stuck(agent.store, 3)
    add_job(
        agent.store,
        status="failed",
        error="Out of memory",
        started=timedelta(minutes=2),
        finished=timedelta(minutes=1),
    )
    add_job(
        agent.store, status="completed", started=timedelta(minutes=2), finished=timedelta(minutes=1)
    )
    code, out = check(
        capsys, "--url", agent.url, "--config", write_config(tmp_path, {"thresholds": SMALL})
    )
    assert code == 2, out
    first = out.splitlines()[0]
    assert first.startswith("JOBTUI CRITICAL - error rate 50.0% > 20.0%, stuck jobs 3 > 2 |")
    assert "stuck_jobs=3;1;2;0" in first and "error_rate=50%;10;20;0;100" in first


def test_processing_stalled(agent_factory: Any, capsys: Any, tmp_path: Path) -> None:
    agent = agent_factory({"thresholds": CALM})
    add_job(
        agent.store,
        status="completed",
        started=timedelta(minutes=21),
        finished=timedelta(minutes=20),
    )
    add_job(agent.store, status="pending", created=timedelta(minutes=30))
    code, out = check(
        capsys, "--url", agent.url, "--config", write_config(tmp_path, {"thresholds": CALM})
    )
    assert code == 2, out
    assert out.startswith(
        "JOBTUI CRITICAL - processing stalled: no job finished for 20 min while 1 jobs are pending"
    )


def test_our_stricter_thresholds_judge_the_servers_figures(
    agent_factory: Any, capsys: Any, tmp_path: Path
) -> None:
    agent = agent_factory({"thresholds": CALM})  # the agent's own queue limits: 20 / 50
    add_jobs(agent.store, [{"status": "pending"}] * 3)
    code, out = check(
        capsys, "--url", agent.url, "--config", write_config(tmp_path, {"thresholds": SMALL})
    )
    assert code == 1 and "queue depth 3 > 2" in out


def test_json_format(agent_factory: Any, capsys: Any, tmp_path: Path) -> None:
    agent = agent_factory({"thresholds": SMALL})
    add_jobs(agent.store, [{"status": "pending"}] * 6)
    cfg = write_config(tmp_path, {"thresholds": SMALL})
    code, out = check(capsys, "--url", agent.url, "--config", cfg, "--format", "json")
    data = json.loads(out)
    assert code == 2 and data["exitCode"] == 2 and data["status"] == "critical"
    assert data["state"] == "CRITICAL"
    assert [r["rule"] for r in data["rules"]] == list(ALL_RULES)
    q = next(r for r in data["rules"] if r["rule"] == "queue_depth")
    assert q == {
        "rule": "queue_depth", "label": "Queue depth", "status": "critical",
        "text": "Queue depth 6 > 5", "value": 6, "warning": 2, "critical": 5,
        "recommendation": "Increase processing capacity or find what is slow.",
    }  # fmt: skip
    assert data["figures"]["queueDepth"] == 6 and data["figures"]["stuckJobsCount"] == 0
    assert data["figures"]["responseTimeMs"] > 0
    assert data["server"]["status"] == "critical"


def test_agent_down_is_critical(agent_factory: Any, capsys: Any) -> None:
    agent = agent_factory({"thresholds": CALM})
    agent.kill()
    code, out = check(capsys, "--url", agent.url)
    assert code == 2
    assert out.startswith(f"JOBTUI CRITICAL - cannot connect to {agent.url}")
    assert " | " not in out.splitlines()[0]  # no figures, no perfdata


# --------------------------------------------------------------------------- the seed's app


def test_seed_server_healthy_without_our_optional_fields(
    seed_server: SeedServer, capsys: Any
) -> None:
    code, out = check(capsys, "--url", seed_server.url, "--format", "json")
    data = json.loads(out)
    assert code == 0, out
    status = {r["rule"]: r["status"] for r in data["rules"]}
    assert status["wait_time"] == status["resource_utilization"] == "unknown"
    # no lastProcessedAt, but a metrics history: nothing pending 3 samples ago, no stall since
    assert status["processing_stalled"] == "healthy"
    code, out = check(capsys, "--url", seed_server.url)
    assert "wait_time" not in perf_labels(out.splitlines()[0])


def test_server_status_worse_than_ours_wins(seed_server: SeedServer, capsys: Any) -> None:
    body = seed_health(
        status="critical",
        message="Disk almost full (+2 more)",
        health={"alerts": ["CRITICAL: Disk almost full", "WARNING: a", "WARNING: b"]},
    )
    seed_server.set("GET", "/api/jobs/health", Canned(body=body))
    code, out = check(capsys, "--url", seed_server.url)
    assert code == 2
    # the server's own "(+2 more)" is left out: a notification's subject adds ours
    assert out.startswith("JOBTUI CRITICAL - server reports critical: Disk almost full |")
    assert "Server alerts: CRITICAL: Disk almost full; WARNING: a; WARNING: b" in out


def flat_history(minutes: int, *, queue: int = 3, per_hour: int = 120) -> dict[str, Any]:
    """The seed's metrics history: one sample a minute, jobs pending, no job finishing."""
    from jobtui.contract import utcnow

    start = utcnow() - timedelta(minutes=minutes)
    samples = [
        {
            "timestamp": (start + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
            "queueDepth": queue,
            "processingRate": per_hour / 60,
            "successRate": 95.0,
            "errorRate": 5.0,
            "averageProcessingTime": 30000,
            "resourceUtilization": 40.0,
            "jobsPerHour": per_hour - i,  # the jobs of an hour ago fall out of the window
            "jobsPerDay": 2800 - i,
        }
        for i in range(minutes)
    ]
    return {"count": len(samples), "timespan": "1 hours", "metrics": samples}


def test_seed_server_stall_is_derived_from_its_metrics_history(
    seed_server: SeedServer, capsys: Any
) -> None:
    """The seed's app sends no lastProcessedAt: jobs pending and no finished-job count growing
    for 20 minutes of its history is processing stalled, under its own rule."""
    seed_server.set("GET", "/api/monitoring/metrics", Canned(body=flat_history(20)))
    seed_server.set(
        "GET", "/api/jobs/health", Canned(body=seed_health(metrics={"jobsPerHour": 95}))
    )
    code, out = check(capsys, "--url", seed_server.url, "--format", "json")
    data = json.loads(out)
    assert code == 2, out
    stalled = next(r for r in data["rules"] if r["rule"] == "processing_stalled")
    assert stalled["status"] == "critical"
    assert stalled["text"] == (
        "Processing stalled: no job finished for 20 min while 3 jobs are pending"
    )
    assert ("GET", "/api/monitoring/metrics?hours=1") in [
        (m, p) for m, p, _ in seed_server.requests
    ]

    # a count that grew in the last samples: a job finished, processing goes on
    grown = flat_history(20)
    grown["metrics"][-1]["jobsPerHour"] += 5
    seed_server.set("GET", "/api/monitoring/metrics", Canned(body=grown))
    code, out = check(capsys, "--url", seed_server.url, "--format", "json")
    stalled = next(r for r in json.loads(out)["rules"] if r["rule"] == "processing_stalled")
    assert code == 0 and stalled["status"] == "healthy", out

    # nothing pending in the window: not stalled, whatever the counts
    seed_server.set("GET", "/api/monitoring/metrics", Canned(body=flat_history(20, queue=0)))
    code, out = check(capsys, "--url", seed_server.url)
    assert code == 0, out


def test_seed_server_without_history_cannot_tell_a_stall_from_one_look(
    seed_server: SeedServer, capsys: Any
) -> None:
    seed_server.set("GET", "/api/monitoring/metrics", Canned(404, "<html>404</html>", "text/html"))
    code, out = check(capsys, "--url", seed_server.url, "--format", "json")
    stalled = next(r for r in json.loads(out)["rules"] if r["rule"] == "processing_stalled")
    assert code == 0 and stalled["status"] == "unknown", out
    assert "judged from the next polls" in stalled["text"]


def test_a_stall_our_agent_reports_is_processing_stalled(agent_factory: Any, capsys: Any) -> None:
    """No job ever finished (no lastProcessedAt) but jobs wait for 30 min: the agent says so in
    its alerts, and check raises it under processing_stalled, not only server_status."""
    agent = agent_factory({"thresholds": CALM})
    add_job(agent.store, status="pending", created=timedelta(minutes=30))
    code, out = check(capsys, "--url", agent.url, "--format", "json")
    data = json.loads(out)
    rules = {r["rule"]: r for r in data["rules"]}
    assert code == 2, out
    assert rules["processing_stalled"]["status"] == "critical"
    assert rules["processing_stalled"]["text"].startswith("Processing stalled: no job finished")
    assert rules["server_status"]["status"] == "healthy"  # ours now says what the server says


@pytest.mark.parametrize(
    ("canned", "expected"),
    [
        (Canned(500, {"error": "boom"}), "GET /api/jobs/health → 500 Internal Server Error: boom"),
        (Canned(200, "<html>login</html>", "text/html"), "answered text/html, not JSON"),
        (Canned(200, {"status": "fine"}), "unexpected answer: Health.status"),
        (Canned(401, {"error": "no"}), "unauthorized (401)"),
        (
            Canned(503, seed_health(status="critical", message="Database connection failed")),
            "server answered 503: Database connection failed",
        ),
    ],
)
def test_seed_server_failures_are_critical(
    seed_server: SeedServer, capsys: Any, canned: Canned, expected: str
) -> None:
    seed_server.set("GET", "/api/jobs/health", canned)
    code, out = check(capsys, "--url", seed_server.url)
    assert code == 2, out
    assert out.startswith("JOBTUI CRITICAL - ") and expected in out.splitlines()[0]


def test_timeout_is_critical(seed_server: SeedServer, capsys: Any) -> None:
    seed_server.set("GET", "/api/jobs/health", Canned(body=seed_health(), delay=1.0))
    code, out = check(capsys, "--url", seed_server.url, "--timeout", "0.3")
    assert code == 2
    assert "no answer within 0.3 s" in out


def test_response_time_thresholds_from_config(
    seed_server: SeedServer, capsys: Any, tmp_path: Path
) -> None:
    seed_server.set("GET", "/api/jobs/health", Canned(body=seed_health(), delay=0.3))
    cfg = write_config(
        tmp_path, {"check": {"response_time": {"warning": "100ms", "critical": "2s"}}}
    )
    code, out = check(capsys, "--url", seed_server.url, "--config", cfg)
    assert code == 1, out
    line = out.splitlines()[0]
    assert line.startswith("JOBTUI WARNING - response time ") and "> 100 ms" in line
    assert ";0.1;2;0" in line.split("response_time=")[1]


# --------------------------------------------------------------------------- bad input → 3


def test_malformed_config_is_unknown_naming_file_and_key(capsys: Any, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"thresholds": {"warning": {"queue_depth": "lots"}}})
    code, out = check(capsys, "--config", cfg)
    assert code == 3
    assert (
        out
        == f"JOBTUI UNKNOWN - {cfg}: thresholds.warning.queue_depth: expected a number, got 'lots'\n"
    )
    code, out = check(capsys, "--config", str(tmp_path / "missing.yaml"), "--format", "json")
    assert code == 3 and json.loads(out)["state"] == "UNKNOWN" and "no such file" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["--bogus"],
        ["--format", "xml"],
        ["--timeout", "soon"],
        ["--timeout", "0"],
        ["--url", "ftp://x"],
        ["extra"],
    ],
)
def test_bad_arguments_are_unknown(capsys: Any, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        code = main(["check", *argv])
        raise SystemExit(code)
    assert info.value.code == 3
    assert capsys.readouterr().out.startswith("JOBTUI UNKNOWN - ")


def test_exit_code_of_the_real_command(seed_server: SeedServer) -> None:
    """What cron and Nagios see: a process, its stdout and its exit status."""
    seed_server.set(
        "GET",
        "/api/jobs/health",
        Canned(body=seed_health(metrics={"queueDepth": 37, "errorRate": 12.5})),
    )
    proc = subprocess.run(
        [*jobtui_cmd("check", "--url", seed_server.url)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith(
        "JOBTUI WARNING - queue depth 37 > 20, error rate 12.5% > 10.0% | queue_depth=37;20;50;0 "
        "processing_capacity=2;;;0 success_rate=97.5%;;;0;100 error_rate=12.5%;10;20;0;100 "
    )
    assert proc.stderr == ""


def test_a_reader_that_leaves_early_changes_nothing(seed_server: SeedServer) -> None:
    """`jobtui check | head -1`: no traceback, and the exit status is still the check's."""
    seed_server.set("GET", "/api/jobs/health", Canned(500, {"error": "boom"}))
    proc = subprocess.Popen(
        jobtui_cmd("check", "--url", seed_server.url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # long before the check prints anything
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "Traceback" not in err


def test_the_servers_alerts_are_printed_with_control_escaped(capsys: Any) -> None:
    with HostileServer() as server:
        code, out = check(capsys, "--url", server.url)
    assert code == 1  # the server says warning
    assert f"Server alerts: Queue depth high: {MARKUP}; stuck {SHOWN['clear']}; " in out
    assert f"{SHOWN['bidi']} {SHOWN['c0c1']}" in out
    assert not raw_controls(out)
