"""``jobtui watch`` and ``jobtui silence`` end to end: the real agent driven into each state, a
local HTTP receiver standing in for Slack and webhook receivers, real processes restarted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from jobtui.alerting.config import load_watch_config
from jobtui.alerting.daemon import Watcher
from jobtui.cli import main
from jobtui.config import Target, load_config
from jobtui.contract import utcnow
from tests.alerting_support import Receiver, Reply, running_receiver
from tests.support import (
    AgentProcess,
    Canned,
    SeedServer,
    add_job,
    add_jobs,
    add_stuck,
    jobtui_cmd,
    seed_health,
    wait_for,
)

CALM = {"warning": {"resource_utilization": 100}, "critical": {"resource_utilization": 100}}
SMALL = {
    "warning": {"queue_depth": 2, "stuck_jobs": 1, "resource_utilization": 100},
    "critical": {"queue_depth": 5, "stuck_jobs": 2, "resource_utilization": 100},
}
SLACK_SECRET = "T0SECRET/B0SECRET/xoxsecretwebhookpath"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    e["XDG_STATE_HOME"] = "/nonexistent-should-not-be-used"
    return e


def write(tmp: Path, receiver: Receiver, watch: dict[str, Any], **notifiers: Any) -> Path:
    cfg = {
        "thresholds": SMALL,
        "watch": {"state_file": str(tmp / "state.json"), **watch},
        "notifiers": notifiers
        or {"pager": {"type": "webhook", "url": receiver.url + "/am", "backoff": "50ms"}},
    }
    path = tmp / "watch.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def state_path(tmp: Path, url: str) -> Path:
    """The state of the watcher of ``url`` (--url): the target's own, beside watch.state_file."""
    return tmp / f"state.{url.split('://', 1)[1].replace(':', '_')}.json"


def once(
    cfg: Path, url: str, *extra: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        jobtui_cmd("watch", "--once", "--config", str(cfg), "--url", url, *extra),
        capture_output=True,
        text=True,
        timeout=60,
        env={**env(), **(extra_env or {})},
    )


def clear_jobs(agent: AgentProcess) -> None:
    with agent.store.write() as conn:
        conn.execute(text("DELETE FROM background_jobs"))


def alerts(receiver: Receiver, path: str = "/am") -> list[tuple[str, str, str]]:
    return [
        (a["status"], a["labels"]["severity"], a["labels"]["alertname"])
        for r in receiver.at(path)
        for a in r.body["alerts"]
    ]


# --------------------------------------------------------------------------- --once, restarts


def test_once_from_cron_fires_after_for_dedups_and_resolves_across_runs(
    agent_factory: Any, receiver: Receiver, tmp_path: Path
) -> None:
    agent = agent_factory({"thresholds": SMALL})
    cfg = write(tmp_path, receiver, {"for": 2, "resolve_after": 2})
    add_jobs(agent.store, [{"status": "pending"}] * 3)  # queue depth 3 > 2: warning

    first = once(cfg, agent.url)
    assert first.returncode == 0, first.stderr
    assert alerts(receiver) == []  # held for one poll only
    assert once(cfg, agent.url).returncode == 0
    assert alerts(receiver) == [("firing", "warning", "queue_depth")]
    payload = receiver.at("/am")[0].body
    assert payload["version"] == "4" and payload["receiver"] == "pager"
    assert payload["alerts"][0]["annotations"]["summary"] == "Queue depth 3 > 2"
    assert once(cfg, agent.url).returncode == 0
    assert len(receiver.at("/am")) == 1  # a restart does not send it again

    clear_jobs(agent)
    once(cfg, agent.url)
    assert len(receiver.at("/am")) == 1  # one good poll is not enough
    done = once(cfg, agent.url)
    assert alerts(receiver)[-1] == ("resolved", "warning", "queue_depth")
    assert "RESOLVED queue_depth: Queue depth 0" in done.stderr
    assert not (tmp_path / "state.json").exists()  # each target its own
    state = json.loads(state_path(tmp_path, agent.url).read_text())
    assert state["alerts"] == {}  # resolved and told: forgotten


def test_once_exits_1_when_a_notification_cannot_be_delivered(
    agent_factory: Any, receiver: Receiver, tmp_path: Path
) -> None:
    agent = agent_factory({"thresholds": SMALL})
    receiver.default["/am"] = Reply(500, "down")
    cfg = write(tmp_path, receiver, {"for": 1})
    add_jobs(agent.store, [{"status": "pending"}] * 3)
    proc = once(cfg, agent.url)
    assert proc.returncode == 1
    assert len(receiver.at("/am")) == 4  # attempts: 4 by default
    assert "notifier pager: could not send 1 alert (4 attempt(s)): HTTP 500: down" in proc.stderr
    receiver.default.clear()
    assert once(cfg, agent.url).returncode == 0  # still due: delivered on the next run
    assert alerts(receiver)[-1] == ("firing", "warning", "queue_depth")


# --------------------------------------------------------------------------- the heartbeat

BEAT = "/ping/5bf6a8e2-hc-secret-uuid"  # the path is the secret, as at healthchecks.io


def beats(receiver: Receiver) -> list[Any]:
    return [r for r in receiver.at(BEAT) if r.method == "GET"]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_once_pings_the_heartbeat_and_a_failing_one_changes_nothing(
    agent_factory: Any, receiver: Receiver, tmp_path: Path
) -> None:
    agent = agent_factory({"thresholds": SMALL})
    url = f"{receiver.url}{BEAT}?status=up&msg=kuma-push-token-4711"
    cfg = write(tmp_path, receiver, {"for": 1, "heartbeat_url_env": "HEARTBEAT_URL"})
    first = once(cfg, agent.url, extra_env={"HEARTBEAT_URL": url})
    assert first.returncode == 0, first.stderr
    assert len(beats(receiver)) == 1
    assert beats(receiver)[0].path == f"{BEAT}?status=up&msg=kuma-push-token-4711"
    assert f"heartbeat: {receiver.url.removeprefix('http://')}" in first.stderr

    add_jobs(agent.store, [{"status": "pending"}] * 3)
    receiver.default[BEAT] = Reply(500, f"no check {BEAT}")  # echoes the secret back
    proc = once(cfg, agent.url, extra_env={"HEARTBEAT_URL": url})
    assert proc.returncode == 0, proc.stderr  # the watcher did its work
    assert alerts(receiver) == [("firing", "warning", "queue_depth")]
    assert len(beats(receiver)) == 2
    shown = receiver.url.removeprefix("http://")
    assert f"heartbeat to {shown} failed: HTTP 500 (the watcher goes on)" in proc.stderr
    for err in (first.stderr, proc.stderr):
        assert "5bf6a8e2-hc-secret-uuid" not in err and "kuma-push-token-4711" not in err
        assert "Traceback" not in err

    bad = once(cfg, agent.url, "--heartbeat", "ftp://x/5bf6a8e2-hc-secret-uuid")
    assert bad.returncode == 2 and "5bf6a8e2" not in bad.stderr
    assert bad.stderr == (
        "jobtui watch: --heartbeat: expected an http(s):// URL (not shown: it may hold a secret)\n"
    )


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_daemon_pings_after_every_evaluation_whatever_the_heartbeat_does(
    agent_factory: Any, receiver: Receiver, tmp_path: Path
) -> None:
    agent = agent_factory({"thresholds": SMALL})
    cfg = write(tmp_path, receiver, {"interval": "200ms", "for": 1})
    url = receiver.url + BEAT
    proc = subprocess.Popen(
        jobtui_cmd("watch", "--config", str(cfg), "--url", agent.url, "--heartbeat", url),
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        wait_for(lambda: len(beats(receiver)) >= 3, timeout=15)
        receiver.default[BEAT] = Reply(503, "down")  # the monitor fails: watching goes on
        n = len(beats(receiver))
        wait_for(lambda: len(beats(receiver)) >= n + 3, timeout=15)
        add_jobs(agent.store, [{"status": "pending"}] * 3)
        wait_for(lambda: alerts(receiver) == [("firing", "warning", "queue_depth")], timeout=15)
        receiver.default[BEAT] = Reply()
        n = len(beats(receiver))
        wait_for(lambda: len(beats(receiver)) > n, timeout=15)
        receiver.default[BEAT] = Reply(200, "ok", delay=30)  # hangs: not waited for
        clear_jobs(agent)
        wait_for(lambda: ("resolved", "warning", "queue_depth") in alerts(receiver), timeout=15)
        receiver.default[BEAT] = Reply()
        n = len(beats(receiver))
        wait_for(lambda: len(beats(receiver)) > n, timeout=15)  # the hung one timed out
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    shown = receiver.url.removeprefix("http://")
    assert err.count(f"heartbeat to {shown} failed: HTTP 503 (the watcher goes on)") == 1
    assert err.count(f"heartbeat to {shown} failed: no answer within 5 s") == 1
    assert err.count(f"heartbeat to {shown} answers again") == 2
    assert "HTTP Request:" not in err  # httpx's line per request: only at debug
    assert "5bf6a8e2-hc-secret-uuid" not in err and "Traceback" not in err


# --------------------------------------------------------------------------- the daemon


def test_daemon_alerts_slack_and_webhook_survives_restart_and_hides_secrets(
    agent_factory: Any, receiver: Receiver, tmp_path: Path
) -> None:
    agent = agent_factory({"thresholds": SMALL})
    slack_url = f"{receiver.url}/services/{SLACK_SECRET}"
    cfg = write(
        tmp_path,
        receiver,
        {"interval": "200ms", "for": 2, "environment": "test", "dashboard_url": "https://x/jobs"},
        slack={"type": "slack_webhook", "url_env": "TEAM_SLACK_URL", "backoff": "50ms"},
        pager={"type": "webhook", "url": receiver.url + "/am", "min_level": "critical"},
    )
    extra = {"TEAM_SLACK_URL": slack_url}

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            jobtui_cmd("watch", "--config", str(cfg), "--url", agent.url, "--log-level", "debug"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env(), **extra},
        )

    slack_path = f"/services/{SLACK_SECRET}"
    proc = start()
    try:
        add_jobs(agent.store, [{"status": "pending"}] * 6)  # critical
        wait_for(lambda: receiver.at(slack_path) and receiver.at("/am"), timeout=15)
        time.sleep(0.6)  # three more polls: nothing new
        assert len(receiver.at(slack_path)) == 1 and len(receiver.at("/am")) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err1 = proc.communicate(timeout=15)
    assert proc.returncode == 0, err1
    msg = receiver.at(slack_path)[0].body
    assert msg["attachments"][0]["color"] == "#FF0000"
    assert "[CRITICAL] jobtui" in msg["text"] and "Queue depth 6 &gt; 5" in msg["text"]
    assert alerts(receiver) == [("firing", "critical", "queue_depth")]

    proc = start()  # a restart: still firing, already sent, so nothing is sent again
    try:
        time.sleep(1.0)
        assert len(receiver.at(slack_path)) == 1
        clear_jobs(agent)
        wait_for(
            lambda: len(receiver.at(slack_path)) == 2 and len(receiver.at("/am")) == 2, timeout=15
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err2 = proc.communicate(timeout=15)
    assert receiver.at(slack_path)[1].body["attachments"][0]["color"] == "#2EB67D"
    assert alerts(receiver)[-1] == ("resolved", "critical", "queue_depth")
    for err in (err1, err2):
        assert SLACK_SECRET not in err
        assert "Traceback" not in err
    assert "FIRING CRITICAL queue_depth: Queue depth 6 > 5" in err1


def test_second_watcher_on_the_same_state_is_refused(
    agent_factory: Any, receiver: Receiver, tmp_path: Path
) -> None:
    agent = agent_factory({"thresholds": SMALL})
    cfg = write(tmp_path, receiver, {"interval": "1s"})
    proc = subprocess.Popen(
        jobtui_cmd("watch", "--config", str(cfg), "--url", agent.url),
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        state = state_path(tmp_path, agent.url)
        wait_for(state.exists, timeout=15)
        second = once(cfg, agent.url)
        assert second.returncode == 2
        assert second.stderr.endswith(
            f"jobtui watch: {state}: another `jobtui watch` (pid {proc.pid}) uses this state "
            "file; give this watcher its own with --state FILE\n"
        )
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
    assert proc.returncode == 0


async def run_watcher(cfg: Path, url: str, until: Any, timeout: float = 15) -> Watcher:
    config = load_config(cfg)
    watcher = Watcher(config, load_watch_config(config, {}), Target("test", url))
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop=stop))
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert until(), "condition not met in time"
    return watcher


async def test_system_down_and_stuck_jobs(
    agent_factory: Any, receiver: Receiver, tmp_path: Path
) -> None:
    agent = agent_factory({"thresholds": SMALL})
    add_stuck(agent.store, 3)
    cfg = write(tmp_path, receiver, {"interval": "100ms", "for": 2})
    await run_watcher(
        cfg, agent.url, lambda: ("firing", "critical", "stuck_jobs") in alerts(receiver)
    )
    agent.kill()
    await run_watcher(
        cfg, agent.url, lambda: ("firing", "critical", "system_down") in alerts(receiver)
    )
    down = [
        r.body
        for r in receiver.at("/am")
        if r.body["alerts"][0]["labels"]["alertname"] == "system_down"
    ]
    assert "cannot connect to" in down[0]["alerts"][0]["annotations"]["summary"]
    # stuck_jobs was not resolved while the server was down: no data is not good news
    assert ("resolved", "critical", "stuck_jobs") not in alerts(receiver)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_refused_token_names_where_it_came_from(
    agent_factory: Any, receiver: Receiver, tmp_path: Path
) -> None:
    """As `jobtui check` says it: which token the server refused, never the token."""
    tokens = {"JOBTUI_READ_TOKEN": "watch-read-token-1234", "JOBTUI_ADMIN_TOKEN": "adm-5678-x"}
    agent = agent_factory({"agent": {"public_health": False}}, env=tokens)
    cfg = write(tmp_path, receiver, {"for": 1})
    proc = once(cfg, agent.url, extra_env={"JOBTUI_TOKEN": "not-the-token-9876"})
    expected = "the server refused the token from JOBTUI_TOKEN (401) on GET /api/jobs/health"
    assert f"FIRING CRITICAL system_down: {expected}" in proc.stderr
    assert alerts(receiver) == [("firing", "critical", "system_down")]
    assert receiver.at("/am")[0].body["alerts"][0]["annotations"]["summary"] == expected
    assert "not-the-token-9876" not in proc.stderr


async def test_processing_stalled_alert(
    agent_factory: Any, receiver: Receiver, tmp_path: Path
) -> None:
    agent = agent_factory({"thresholds": CALM})
    add_job(
        agent.store,
        status="completed",
        started=timedelta(minutes=21),
        finished=timedelta(minutes=20),
    )
    add_job(agent.store, status="pending", created=timedelta(minutes=30))
    cfg = write(tmp_path, receiver, {"interval": "100ms", "for": 2})
    await run_watcher(cfg, agent.url, lambda: alerts(receiver))
    assert alerts(receiver) == [("firing", "critical", "processing_stalled")]


async def test_cron_runs_derive_a_stall_the_seed_app_never_reports(
    seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    """No lastProcessedAt and no metrics history: the --once runs keep what they saw in the
    state file; jobs pending and jobsPerHour never growing for stalled_after is a stall, sent
    under processing_stalled (so a notifier's rules filter takes it) with the seed's figures."""
    seed_server.set("GET", "/api/monitoring/metrics", Canned(404, "<html>404</html>", "text/html"))
    cfg = write(
        tmp_path,
        receiver,
        {"for": 2},
        pager={"type": "webhook", "url": receiver.url + "/am", "rules": ["processing_stalled"]},
        slack={
            "type": "slack_webhook",
            "url": receiver.url + "/slack",
            "rules": ["processing_stalled"],
            "min_interval": 0,
        },
    )
    config = load_config(cfg)
    watch = load_watch_config(config, {})
    t0 = utcnow().replace(microsecond=0)  # as the state file keeps it

    async def run_at(minutes: int, per_hour: int) -> None:
        body = seed_health(metrics={"queueDepth": 2, "jobsPerHour": per_hour})
        seed_server.set("GET", "/api/jobs/health", Canned(body=body))
        at = t0 + timedelta(minutes=minutes)
        w = Watcher(config, watch, Target("seed", seed_server.url), clock=lambda: at)
        assert await w.run(once=True) == 0

    for minutes, per_hour in [(0, 120), (5, 110), (10, 104), (15, 100)]:
        await run_at(minutes, per_hour)  # 15 min is not more than stalled_after yet
    assert alerts(receiver) == []
    await run_at(20, 97)
    assert alerts(receiver) == [("firing", "critical", "processing_stalled")]
    summary = "Processing stalled: no job finished for 20 min while 2 jobs are pending"
    assert receiver.at("/am")[0].body["alerts"][0]["annotations"]["summary"] == summary
    slack = receiver.at("/slack")[0].body
    blocks = [
        b["text"]["text"] for b in slack["attachments"][0]["blocks"] if b["type"] == "section"
    ]
    assert blocks[-1].startswith("```{") and blocks[-1].endswith("}```")
    assert '"queueDepth": 2' in blocks[-1] and '"jobsPerHour": 97' in blocks[-1]

    await run_at(21, 98)  # the count grew: a job finished
    await run_at(22, 98)
    assert alerts(receiver)[-1] == ("resolved", "critical", "processing_stalled")


def test_our_agents_stall_arrives_under_its_own_name_on_the_first_run(
    agent_factory: Any, receiver: Receiver, tmp_path: Path
) -> None:
    """No job ever finished, one waits for 30 min: the agent reports the stall in its alerts;
    a notifier that takes only processing_stalled gets it, critical, on the first --once."""
    agent = agent_factory({"thresholds": SMALL})
    add_job(agent.store, status="pending", created=timedelta(minutes=30))
    rules = ["processing_stalled"]
    cfg = write(
        tmp_path,
        receiver,
        {"for": 2},
        pager={"type": "webhook", "url": receiver.url + "/am", "rules": rules},
    )
    proc = once(cfg, agent.url)
    assert proc.returncode == 0, proc.stderr
    assert alerts(receiver) == [("firing", "critical", "processing_stalled")]
    assert "FIRING CRITICAL processing_stalled: Processing stalled: no job finished" in proc.stderr


def test_once_sends_a_critical_on_its_first_run_and_holds_a_warning(
    seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    """From cron every 5 min with for: 2, a warning waits for the second run; a critical
    breach, and a server that does not answer, go out on the first run that sees them."""
    cfg = write(tmp_path, receiver, {"for": 2, "per_rule": {"stuck_jobs": {"for_critical": 2}}})

    def health(**metrics: Any) -> None:
        seed_server.set("GET", "/api/jobs/health", Canned(body=seed_health(**metrics)))

    health(metrics={"queueDepth": 3})  # 3 > 2: warning
    assert once(cfg, seed_server.url).returncode == 0
    assert alerts(receiver) == []
    health(metrics={"queueDepth": 6}, health={"stuckJobsCount": 3})  # both critical
    proc = once(cfg, seed_server.url)
    assert proc.returncode == 0, proc.stderr
    assert alerts(receiver) == [("firing", "critical", "queue_depth")]  # stuck_jobs: held
    assert once(cfg, seed_server.url).returncode == 0
    assert alerts(receiver)[-1] == ("firing", "critical", "stuck_jobs")
    seed_server.close()
    assert once(cfg, seed_server.url).returncode == 0
    assert alerts(receiver)[-1] == ("firing", "critical", "system_down")


def test_a_subject_counts_the_other_alerts_once(
    seed_server: SeedServer, receiver: Receiver, tmp_path: Path
) -> None:
    """The server's message has its own "(+2 more)"; the subject adds ours, once."""
    body = seed_health(
        status="critical",
        message="Stuck jobs 7 > 5 (+2 more)",
        metrics={"queueDepth": 3},
        health={
            "stuckJobsCount": 2,
            "alerts": ["CRITICAL: Stuck jobs 7 > 5", "WARNING: a", "WARNING: b"],
        },
    )
    seed_server.set("GET", "/api/jobs/health", Canned(body=body))
    slack = {"type": "slack_webhook", "url": receiver.url + "/slack", "min_interval": 0}
    cfg = write(tmp_path, receiver, {"for": 1}, slack=slack)
    proc = once(cfg, seed_server.url)
    assert proc.returncode == 0, proc.stderr
    [got] = receiver.at("/slack")
    host = seed_server.url.removeprefix("http://")
    assert got.body["text"] == (
        f":red_circle: [CRITICAL] jobtui {host}: Server reports critical: Stuck jobs 7 &gt; 5 (+2 more)"
    )


async def test_the_daemon_sends_a_critical_on_its_first_poll(
    agent_factory: Any, receiver: Receiver, tmp_path: Path
) -> None:
    agent = agent_factory({"thresholds": SMALL})
    add_stuck(agent.store, 3)  # 3 > 2: critical
    cfg = write(tmp_path, receiver, {"interval": "1h", "for": 2})  # one poll in this test
    watcher = await run_watcher(cfg, agent.url, lambda: alerts(receiver))
    assert watcher.polls == 1
    assert alerts(receiver) == [("firing", "critical", "stuck_jobs")]


# --------------------------------------------------------------------------- silences


@pytest.fixture
def silence(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``jobtui silence …`` in this process (it starts no loop and sets up no logging)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-config")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        try:
            code = main(["silence", *args])
        except SystemExit as exc:  # argparse refused an argument
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return run


def test_silence_add_list_expire_with_watch(
    agent_factory: Any, receiver: Receiver, tmp_path: Path, silence: Any
) -> None:
    agent = agent_factory({"thresholds": SMALL})
    cfg = write(tmp_path, receiver, {"for": 1})
    add_jobs(agent.store, [{"status": "pending"}] * 3)

    added = silence(
        "add",
        "--config",
        str(cfg),
        "--url",
        agent.url,
        "--rule",
        "queue_depth",
        "--for",
        "2h",
        "--comment",
        "deploy",
    )
    assert added.returncode == 0, added.stderr
    sid = added.stdout.strip().rsplit("id ", 1)[1].rstrip(")")
    listed = silence("list", "--config", str(cfg), "--url", agent.url)
    assert sid in listed.stdout and "queue_depth" in listed.stdout and "deploy" in listed.stdout

    proc = once(cfg, agent.url)
    assert "FIRING WARNING queue_depth: Queue depth 3 > 2 (silenced: not sent)" in proc.stderr
    once(cfg, agent.url)
    assert alerts(receiver) == []  # evaluated, not sent

    expired = silence("expire", "--config", str(cfg), "--url", agent.url, sid)
    assert expired.returncode == 0 and f"Silence {sid} expired" in expired.stdout
    assert "No active silences." in silence("list", "--config", str(cfg), "--url", agent.url).stdout
    assert "expired" in silence("list", "--all", "--config", str(cfg), "--url", agent.url).stdout
    once(cfg, agent.url)
    assert alerts(receiver) == [("firing", "warning", "queue_depth")]


def test_silence_bad_input(tmp_path: Path, silence: Any) -> None:
    state = str(tmp_path / "s.json")
    bad = silence("add", "--state", state, "--rule", "queue_dept", "--for", "2h", "--comment", "x")
    assert bad.returncode == 2 and "--rule: unknown rule 'queue_dept'" in bad.stderr
    bad = silence("add", "--state", state, "--rule", "all", "--for", "soon", "--comment", "x")
    assert bad.returncode == 2 and "--for: expected a duration" in bad.stderr
    bad = silence("expire", "--state", state, "nope")
    assert bad.returncode == 2 and "no silence with id 'nope'" in bad.stderr
    ok = silence(
        "add", "--state", state, "--rule", "all", "--for", "30m", "--comment", "maintenance"
    )
    assert ok.returncode == 0 and ok.stdout.startswith("Silenced all until ")


# --------------------------------------------------------------------------- bad config → 2


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            {"notifiers": {"x": {"type": "teams", "url": "http://h"}}},
            "notifiers.x.type: unknown notifier type 'teams'",
        ),
        (
            {"notifiers": {"x": {"type": "webhook"}}},
            "notifiers.x.url: missing (set url or url_env)",
        ),
        (
            {"notifiers": {"x": {"type": "webhook", "url_env": "NOT_SET_ANYWHERE"}}},
            "notifiers.x.url: missing ($NOT_SET_ANYWHERE is not set)",
        ),
        (
            {"notifiers": {"x": {"type": "webhook", "url": "http://h", "colour": "red"}}},
            "notifiers.x.colour: unknown key",
        ),
        (
            {
                "notifiers": {
                    "x": {"type": "email", "host": "h", "from": "a@b", "to": "c@d", "port": "x"}
                }
            },
            "notifiers.x.port: expected a number, got 'x'",
        ),
        (
            {"notifiers": {"x": {"type": "slack_webhook", "url": "hooks.slack.com/secret-part"}}},
            "notifiers.x.url: expected an http(s):// URL, got (hidden: it is a secret)",
        ),
        (
            {"notifiers": [{"type": "webhook"}]},
            "notifiers: expected a mapping of names to notifiers, got list",
        ),
        ({"watch": {"rules": ["queue_depth", "cpu"]}}, "watch.rules[1]: unknown rule 'cpu'"),
        ({"watch": {"for": 0}}, "watch.for: must be at least 1, got 0"),
        ({"watch": {"interval": "often"}}, "watch.interval: expected a duration"),
        ({"watch": {"repeat": "4h"}}, "watch.repeat: unknown key"),
    ],
)
def test_malformed_watch_config_exits_2_naming_file_and_key(
    tmp_path: Path, section: dict[str, Any], expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(section))
    proc = subprocess.run(
        jobtui_cmd("watch", "--once", "--config", str(path)),
        capture_output=True,
        text=True,
        timeout=30,
        env=env(),
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"jobtui watch: {path}: {expected}"), proc.stderr
    assert "hooks.slack.com" not in proc.stderr
    assert proc.stderr.count("\n") == 1  # one line, no traceback


def test_watch_test_reports_each_notifier(receiver: Receiver, tmp_path: Path) -> None:
    receiver.default["/broken"] = Reply(404, "no_service")
    cfg = write(
        tmp_path,
        receiver,
        {},
        good={"type": "webhook", "url": receiver.url + "/am"},
        broken={"type": "slack_webhook", "url": receiver.url + "/broken"},
        team={"type": "slack_webhook", "url": receiver.url + "/slack"},
    )
    proc = subprocess.run(
        jobtui_cmd("watch", "--test", "--config", str(cfg), "--url", "http://127.0.0.1:9"),
        capture_output=True,
        text=True,
        timeout=30,
        env=env(),
    )
    assert proc.returncode == 1
    assert sorted(proc.stdout.splitlines()) == [
        "FAIL broken (slack_webhook): HTTP 404: no_service",
        "ok   good (webhook)",
        "ok   team (slack_webhook)",
    ]
    [am] = receiver.at("/am")[0].body["alerts"]
    assert am["annotations"]["summary"].startswith("Test notification")
    assert am["labels"]["severity"] == "info"
    # the seed's info severity, not a warning nor [RESOLVED]
    slack = receiver.at("/slack")[0].body
    assert slack["text"].startswith(":information_source: [INFO] jobtui 127.0.0.1:9: Test")
    assert slack["attachments"][0]["color"] == "#36C5F0"


def test_the_documented_config_block_is_valid() -> None:
    """docs/alerting.md's YAML for `watch` and `notifiers` parses, with every notifier type."""
    import re

    from jobtui.alerting.config import parse_watch

    doc = (Path(__file__).resolve().parent.parent / "docs" / "alerting.md").read_text()
    block = re.search(r"## Configuration.*?```yaml\n(.*?)```", doc, re.S)
    assert block, "no YAML block under ## Configuration"
    data = yaml.safe_load(block.group(1))
    secrets = {
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/X",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SMTP_PASS": "pw",
        "ALERT_WEBHOOK_URL": "https://bridge.example.com/alerts",
    }
    w = parse_watch(data["watch"], data["notifiers"], secrets)
    assert [n.type for n in w.notifiers] == ["slack_webhook", "slack_bot", "email", "webhook"]
    assert w.notifiers[2].min_level == "critical"
