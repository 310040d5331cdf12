"""The commands under wrong input: the real ``jobtui`` in a subprocess against a real agent on a
loopback port. Each answer is one line a person can act on (what, where), never a traceback,
and exits non-zero (2 for usage and input; ``check`` exits 3, a monitoring plugin's UNKNOWN)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from jobtui.agent.store import JobStore
from tests.alerting_support import Receiver, Reply, running_receiver
from tests.support import (
    AgentProcess,
    add_job,
    add_stuck,
    free_port,
    jobtui_cmd,
    start_agent,
    wait_for,
)

CALM = {"warning": {"resource_utilization": 100}, "critical": {"resource_utilization": 100}}


def env(tmp: Path, **extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    e["XDG_CONFIG_HOME"] = str(tmp / "no-config")
    e["XDG_STATE_HOME"] = str(tmp / "state")
    e.update(extra)
    return e


def run(
    tmp: Path, *args: str, stdin: bytes | None = None, prefix: tuple[str, ...] = (), **extra: str
) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        [*prefix, *jobtui_cmd(*args)],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        env=env(tmp, **extra),
        cwd=tmp,
    )
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    return r


def one_line(r: subprocess.CompletedProcess[str]) -> str:
    """The error line of a refused command (argparse's usage lines before it are fine)."""
    lines = [line for line in r.stderr.splitlines() if line and not line.startswith(" ")]
    lines = [line for line in lines if not line.startswith("usage:")]
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.fixture
def receiver() -> Any:
    with running_receiver() as r:
        yield r


# --------------------------------------------------------------------------- read-only


def backups_on_disk(agent: AgentProcess) -> list[str]:
    d = agent.backups_dir
    if not d.exists():
        return []
    return sorted(p.name for p in d.iterdir() if not p.name.endswith(".meta.json"))


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("command", "request_line"),
    [
        (["backup"], "POST /api/admin/backups"),
        (["recover"], "POST /api/admin/recovery"),
        (["recover", "--stuck-only"], "POST /api/admin/recover-stuck"),
        (["prune", "--keep-days", "0"], "DELETE /api/admin/backups"),
        (["restore", "NAME"], "POST /api/admin/backups/NAME/restore"),
    ],
)
@pytest.mark.parametrize("where", ["before", "after"])
def test_read_only_refuses_every_write(
    agent: AgentProcess, tmp_path: Path, command: list[str], request_line: str, where: str
) -> None:
    stuck = add_stuck(agent.store, 1)[0]
    first = run(tmp_path, "backup", "--url", agent.url)
    assert first.returncode == 0, first.stderr
    (name,) = backups_on_disk(agent)
    for p in agent.backups_dir.iterdir():
        os.utime(p, (0, 0))  # old enough for any prune
    command = [name if c == "NAME" else c for c in command]
    request_line = request_line.replace("NAME", name)
    opts = ["--read-only", "--url", agent.url]
    argv = [*opts, *command] if where == "before" else [*command, *opts]
    r = run(tmp_path, *argv)
    assert r.returncode == 2, r.stderr
    assert one_line(r) == (
        f"jobtui {command[0]}: read-only: {request_line} would change the server "
        "(run without --read-only)"
    )
    assert r.stdout == ""
    assert backups_on_disk(agent) == [name]  # nothing made, nothing pruned
    assert agent.store.get_job(stuck).status == "processing"  # nothing recovered


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_read_only_incident_respond_is_refused_but_a_report_is_not_a_write(
    agent: AgentProcess, tmp_path: Path, receiver: Receiver
) -> None:
    stuck = add_stuck(agent.store, 1)[0]
    cfg = tmp_path / "incident.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "thresholds": CALM,
                "incident": {"dir": str(tmp_path / "incidents")},
                "notifiers": {"pager": {"type": "webhook", "url": receiver.url + "/am"}},
            }
        )
    )
    r = run(
        tmp_path, "--read-only", "incident", "--respond", "--config", str(cfg), "--url", agent.url
    )
    assert r.returncode == 2
    assert one_line(r) == (
        "jobtui incident: read-only: --respond (a backup, then system recovery) would change "
        "the server (run without --read-only)"
    )
    assert backups_on_disk(agent) == [] and receiver.received == []
    assert agent.store.get_job(stuck).status == "processing"
    report = run(tmp_path, "incident", "--read-only", "--config", str(cfg), "--url", agent.url)
    assert report.returncode == 0, report.stderr
    assert Path(report.stdout.splitlines()[-1]).exists()


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_password_in_the_target_url_is_never_shown(agent: AgentProcess, tmp_path: Path) -> None:
    hostport = agent.url.split("://", 1)[1]
    secret = "hunter2-pass"
    # a password with a "/" in it, not percent-encoded: the URL then parses otherwise
    for url in (
        f"http://ops:{secret}@{hostport}",
        f"http://ops:{secret}/x@{hostport}",
        f"http://ops:{secret}#x@{hostport}",
    ):
        for args in (["check"], ["check", "--format", "json"], ["backups"], ["errors"]):
            r = run(tmp_path, *args, "--url", url)
            assert secret not in r.stdout + r.stderr, (url, args, r.stdout, r.stderr)
            assert "ops" not in r.stdout + r.stderr, (url, args)
    r = run(tmp_path, "check", "--url", f"http://ops:{secret}@{hostport}/?token=t0k3n-value")
    assert "t0k3n-value" not in r.stdout and f"Target: {hostport} (" in r.stdout


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_watch_labels_show_host_and_port_only(
    agent: AgentProcess, tmp_path: Path, receiver: Receiver
) -> None:
    hostport = agent.url.split("://", 1)[1]
    cfg = tmp_path / "watch.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "watch": {"for": 1, "state_file": str(tmp_path / "state.json")},
                "notifiers": {"pager": {"type": "webhook", "url": receiver.url + "/am"}},
            }
        )
    )
    url = f"http://ops:hunter2-pass@{hostport}/?token=t0k3n-value"
    r = run(tmp_path, "watch", "--once", "--config", str(cfg), "--url", url)
    assert r.returncode == 0, r.stderr
    (sent,) = receiver.at("/am")
    text = json.dumps(sent.body)
    assert "hunter2" not in text and "t0k3n" not in text and "ops" not in text
    assert sent.body["groupKey"] == f'{{}}:{{target="{hostport}"}}'
    assert "hunter2" not in r.stderr and "t0k3n" not in r.stderr


SECRET_PATH = "/hooks/T0SECRET/B0SECRET/xoxsecretwebhookpath"
SECRET_HOOK = SECRET_PATH + "?token=q-s3cr3t-token"


def echoing_receiver(receiver: Receiver) -> str:
    """A receiver that refuses, echoing the hook's path and its token in its error."""
    echo = Reply(400, f"no such hook: {SECRET_PATH[1:]} (token=q-s3cr3t-token)")
    receiver.on(SECRET_HOOK, *[echo] * 10)
    return receiver.url + SECRET_HOOK


def leaked(text: str) -> list[str]:
    return [s for s in ("T0SECRET", "B0SECRET", "xoxsecret", "q-s3cr3t") if s in text]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_what_a_receiver_echoes_back_is_redacted(
    agent: AgentProcess, tmp_path: Path, receiver: Receiver
) -> None:
    hook = echoing_receiver(receiver)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "thresholds": CALM,
                "watch": {"for": 1, "state_file": str(tmp_path / "state.json")},
                "notifiers": {"pager": {"type": "webhook", "url": hook, "backoff": "10ms"}},
                "incident": {"dir": str(tmp_path / "incidents")},
            }
        )
    )
    r = run(tmp_path, "incident", "--respond", "--config", str(cfg), "--url", agent.url)
    assert "FAILED alert: pager: FAILED: HTTP 400: no such hook: " in r.stdout, r.stdout
    assert leaked(r.stdout + r.stderr) == [], r.stdout
    report = Path(r.stdout.splitlines()[-1]).read_text()
    assert leaked(report) == []

    dead = f"http://127.0.0.1:{free_port()}"  # down: system_down fires and is sent
    w = run(tmp_path, "watch", "--once", "--config", str(cfg), "--url", dead)
    assert receiver.at(SECRET_HOOK), w.stderr
    assert "no such hook" in w.stderr, w.stderr
    assert leaked(w.stdout + w.stderr) == [], w.stderr


# --------------------------------------------------------------------------- at parse time


def test_version_comes_from_the_package(tmp_path: Path) -> None:
    r = run(tmp_path, "--version")
    assert r.returncode == 0 and r.stdout == f"jobtui {version('jobtui')}\n"


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_refuses_a_port_out_of_range(tmp_path: Path, port: str) -> None:
    r = run(tmp_path, "serve", "--port", port, "--database", f"sqlite:///{tmp_path / 'j.db'}")
    assert r.returncode == 2
    assert one_line(r).startswith("jobtui serve: error: argument --port: ")
    assert not (tmp_path / "j.db").exists()


def test_serve_refuses_a_configured_port_out_of_range(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.yaml"
    cfg.write_text("agent:\n  port: 99999\n")
    r = run(tmp_path, "serve", "--config", str(cfg), "--database", f"sqlite:///{tmp_path / 'j.db'}")
    assert r.returncode == 2
    assert one_line(r) == f"jobtui serve: {cfg}: agent.port: must be at most 65535, got 99999"


def test_an_empty_url_is_refused(tmp_path: Path) -> None:
    r = run(tmp_path, "check", "--url", "")
    assert r.returncode == 3
    assert r.stdout.startswith("JOBTUI UNKNOWN - argument --url: empty URL")
    r = run(tmp_path, "backups", "--url", " ")
    assert r.returncode == 2
    assert "argument --url: empty URL" in one_line(r)


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "1e400"])
def test_check_timeout_is_a_finite_positive_number(tmp_path: Path, value: str) -> None:
    r = run(tmp_path, "check", "--url", "http://127.0.0.1:9", "--timeout", value)
    assert r.returncode == 3
    assert r.stdout.startswith("JOBTUI UNKNOWN - argument --timeout: "), r.stdout
    assert "internal error" not in r.stdout


@pytest.mark.parametrize("value", ["99999999d", "0s", "nan"])
def test_silence_for_is_a_sane_duration(tmp_path: Path, value: str) -> None:
    r = run(tmp_path, "silence", "add", "--rule", "all", "--for", value, "--comment", "x")
    assert r.returncode == 2
    line = one_line(r)
    assert line.startswith("jobtui silence add: error: argument --for: "), line
    assert "internal error" not in r.stderr


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize("value", ["99999999999999", "-1", "nan"])
def test_prune_keep_days_is_checked_before_asking_the_server(
    agent: AgentProcess, tmp_path: Path, value: str
) -> None:
    r = run(tmp_path, "prune", "--url", agent.url, "--keep-days", value)
    assert r.returncode == 2
    assert one_line(r).startswith("jobtui prune: error: argument --keep-days: ")


# --------------------------------------------------------------------------- what to do


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_https_to_a_plain_http_agent(agent: AgentProcess, tmp_path: Path) -> None:
    https = agent.url.replace("http://", "https://")
    r = run(tmp_path, "backups", "--url", https)
    assert r.returncode == 1
    assert one_line(r) == (
        f"jobtui backups: cannot connect to {https}: TLS handshake failed: the server "
        f"speaks plain HTTP? (try {agent.url})"
    )


def test_nothing_listening(tmp_path: Path) -> None:
    port = free_port()
    r = run(tmp_path, "backups", "--url", f"http://127.0.0.1:{port}")
    assert r.returncode == 1
    assert one_line(r) == (
        f"jobtui backups: cannot connect to http://127.0.0.1:{port}: nothing listens: agent down?"
    )
    r = run(tmp_path, "check", "--url", f"http://127.0.0.1:{port}")
    assert f"cannot connect to http://127.0.0.1:{port}: nothing listens: agent down?" in r.stdout


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_refused_token_names_where_it_came_from(agent_factory: Any, tmp_path: Path) -> None:
    read, admin, wrong = "read-token-123", "admin-token-456", "wrong-token-789"
    agent = agent_factory(env={"JOBTUI_READ_TOKEN": read, "JOBTUI_ADMIN_TOKEN": admin})
    r = run(tmp_path, "backups", "--url", agent.url, JOBTUI_TOKEN=wrong)
    assert r.returncode == 1
    assert one_line(r) == (
        "jobtui backups: the server refused the token from JOBTUI_TOKEN (401) on "
        "GET /api/admin/backups"
    )
    r = run(tmp_path, "backups", "--url", agent.url, JOBTUI_TOKEN=read)
    assert one_line(r) == (
        "jobtui backups: forbidden (403) on GET /api/admin/backups: this needs the admin "
        "token, and the token from JOBTUI_TOKEN is not it"
    )
    cfg = tmp_path / "targets.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "targets": {
                    "prod": {"url": agent.url, "token": wrong},
                    "stage": {"url": agent.url, "token_env": "STAGE_TOKEN"},
                }
            }
        )
    )
    r = run(tmp_path, "errors", "--config", str(cfg), "--target", "prod")
    assert one_line(r) == (
        f"jobtui errors: the server refused the token from targets.prod.token in {cfg} (401) "
        "on GET /api/monitoring/errors"
    )
    r = run(tmp_path, "--target", "stage", "errors", "--config", str(cfg), STAGE_TOKEN=wrong)
    assert one_line(r) == (
        "jobtui errors: the server refused the token from $STAGE_TOKEN (401) on "
        "GET /api/monitoring/errors"
    )
    r = run(tmp_path, "errors", "--url", agent.url)  # no token at all
    assert "unauthorized (401) on GET /api/monitoring/errors: set JOBTUI_TOKEN" in r.stderr
    for out in (r.stdout, r.stderr):
        assert wrong not in out and read not in out


def test_a_config_whose_top_level_is_a_list(tmp_path: Path) -> None:
    cfg = tmp_path / "list.yaml"
    cfg.write_text("- targets\n- agent\n")
    r = run(tmp_path, "backups", "--config", str(cfg))
    assert r.returncode == 2
    assert one_line(r) == (
        f"jobtui backups: {cfg}: the top level must be a mapping (targets:, agent:, …), got a list"
    )


# --------------------------------------------------------------------------- logs analyze


def test_logs_analyze_refuses_a_binary_file(tmp_path: Path) -> None:
    binary = tmp_path / "core.log"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40)
    r = run(tmp_path, "logs", "analyze", str(binary))
    assert r.returncode == 2
    assert one_line(r) == f"jobtui logs analyze: {binary}: not a text log (binary data)"
    packed = tmp_path / "core.log.gz"
    packed.write_bytes(gzip.compress(binary.read_bytes()))
    r = run(tmp_path, "logs", "analyze", str(packed))
    assert r.returncode == 2 and "not a text log" in one_line(r)


def test_logs_analyze_a_damaged_gz_exits_like_a_missing_file(tmp_path: Path) -> None:
    whole = gzip.compress(b"2026-11-29T03:00:00Z ERROR job 1 failed: timeout\n" * 2000)
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    flipped = tmp_path / "flipped.log.gz"
    flipped.write_bytes(whole[:20] + bytes(b ^ 0xFF for b in whole[20:60]) + whole[60:])
    for bad in (cut, flipped):
        r = run(tmp_path, "logs", "analyze", str(bad))
        assert r.returncode == 2, (bad, r.stderr)
        assert one_line(r).startswith(f"jobtui logs analyze: {bad}: not a readable .gz file")


def test_logs_analyze_dash_reads_standard_input(tmp_path: Path) -> None:
    text = b"2026-11-29T03:00:00Z ERROR Job failed: 7 - connection timeout\n" * 3
    r = run(tmp_path, "logs", "analyze", "-", "--format", "json", stdin=text)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert (got["file"], got["lines"], got["errorLines"]) == ("-", 3, 3)


def test_logs_analyze_workers_are_capped_at_the_cpus(tmp_path: Path) -> None:
    from jobtui.logs.analyze import PARALLEL_MIN

    big = tmp_path / "big.log"
    line = b"2026-11-29T03:00:00Z INFO Job completed: " + b"x" * 200 + b"\n"
    with big.open("wb") as f:
        f.write(line * (PARALLEL_MIN // len(line) + 1))
    r = run(tmp_path, "logs", "analyze", str(big), "--workers", "2", "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["processes"] == min(2, os.cpu_count() or 1)
    one_cpu = ("taskset", "-c", "0")
    r = run(
        tmp_path, "logs", "analyze", str(big), "--workers", "3", "--format", "json", prefix=one_cpu
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["processes"] == 1


# --------------------------------------------------------------------------- global options


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_global_options_on_either_side_of_every_command(
    agent: AgentProcess, tmp_path: Path
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "thresholds": CALM,
                "targets": {"here": {"url": agent.url}},
                "watch": {"state_file": str(tmp_path / "watch.json")},
                "incident": {"dir": str(tmp_path / "incidents")},
            }
        )
    )
    c = ["--config", str(cfg)]
    t = [*c, "--target", "here"]
    log = tmp_path / "a.log"
    log.write_text("2026-11-29T03:00:00Z ERROR Job failed: 7 - timeout\n")
    cases = [
        (["check"], t),
        (["backups"], t),
        (["errors"], t),
        (["capacity", "--no-host"], t),
        (["incident"], t),
        (["watch", "--once"], t),
        (["silence", "list"], t),
        (["logs", "analyze", str(log)], ["--read-only"]),
    ]
    for command, opts in cases:
        before = run(tmp_path, *opts, *command)
        after = run(tmp_path, *command, *opts)
        assert before.returncode == after.returncode == 0, (command, before.stderr, after.stderr)
    added = run(tmp_path, *t, "silence", "add", "--rule", "all", "--for", "1h", "--comment", "x")
    assert added.returncode == 0, added.stderr
    assert (tmp_path / "watch.here.json").exists()  # the config's state file, the target's own
    listed = run(tmp_path, "silence", "list", *t)
    assert "all" in listed.stdout


def test_a_global_option_that_does_not_apply_is_refused_on_either_side(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'j.db'}"
    for argv in (
        ["--url", "http://127.0.0.1:9", "serve", "--database", db],
        ["serve", "--database", db, "--url", "http://127.0.0.1:9"],
        ["serve", "--database", db, "--read-only"],
    ):
        r = run(tmp_path, *argv)
        assert r.returncode == 2
        assert one_line(r).startswith("jobtui serve: error: --")
        assert "does not apply to `jobtui serve`" in r.stderr
    assert not (tmp_path / "j.db").exists()


# --------------------------------------------------------------------------- watch's state


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_two_targets_never_share_alerts(
    agent: AgentProcess, tmp_path: Path, receiver: Receiver
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    cfg = tmp_path / "two.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "thresholds": CALM,
                "targets": {"up": {"url": agent.url}, "down": {"url": down}},
                "watch": {"for": 1, "resolve_after": 1, "state_file": str(tmp_path / "s.json")},
                "notifiers": {"pager": {"type": "webhook", "url": receiver.url + "/am"}},
            }
        )
    )

    def statuses() -> list[tuple[str, str, str]]:
        """The system_down alerts sent (on a loaded machine the agent that is up may report
        its host's CPU as a server_status of its own: not what this test is about)."""
        return [
            (a["status"], a["labels"]["alertname"], a["labels"]["target"])
            for r in receiver.at("/am")
            for a in r.body["alerts"]
            if a["labels"]["alertname"] == "system_down"
        ]

    assert (
        run(tmp_path, "watch", "--once", "--config", str(cfg), "--target", "down").returncode == 0
    )
    assert statuses() == [("firing", "system_down", "down")]
    assert run(tmp_path, "watch", "--once", "--config", str(cfg), "--target", "up").returncode == 0
    assert run(tmp_path, "watch", "--once", "--config", str(cfg), "--target", "up").returncode == 0
    assert statuses() == [("firing", "system_down", "down")]  # not RESOLVED by the other
    # without any --url or --target: the local agent's own file, beside the default one
    local = run(tmp_path, "watch", "--once")
    assert local.returncode == 0, local.stderr
    assert (tmp_path / "state" / "jobtui" / "watch-state.127.0.0.1_8787.json").exists()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_second_watcher_of_the_same_state_is_told_about_state(
    agent: AgentProcess, tmp_path: Path
) -> None:
    state = tmp_path / "shared.json"
    first = subprocess.Popen(
        jobtui_cmd("watch", "--url", agent.url, "--state", str(state)),
        stderr=subprocess.PIPE,
        text=True,
        env=env(tmp_path),
    )
    try:
        wait_for(lambda: state.exists(), timeout=15)
        second = run(tmp_path, "watch", "--once", "--url", agent.url, "--state", str(state))
        assert second.returncode == 2
        assert one_line(second) == (
            f"jobtui watch: {state}: another `jobtui watch` (pid {first.pid}) uses this state "
            "file; give this watcher its own with --state FILE"
        )
    finally:
        first.terminate()
        first.communicate(timeout=15)


# --------------------------------------------------------------------------- serve --demo


def test_serve_demo_refuses_a_database_with_real_jobs(tmp_path: Path) -> None:
    real = f"sqlite:///{tmp_path / 'real.db'}"
    store = JobStore(real)
    store.migrate()
    job = add_job(store, status="completed")
    r = run(tmp_path, "serve", "--demo", "--port", "0", "--database", real)
    assert r.returncode == 2
    assert one_line(r) == (
        f"jobtui serve: --demo: {real} holds 1 job the demo did not make; the demo writes "
        "simulated jobs, so give it a database of its own (e.g. --database sqlite:///demo.db)"
    )
    assert job_ids(store) == [job]
    store.close()


def test_serve_demo_runs_again_on_its_own_database(tmp_path: Path) -> None:
    own = f"sqlite:///{tmp_path / 'demo.db'}"
    first = start_agent(tmp_path, database=own, extra_args=["--demo"])
    try:
        wait_for(lambda: job_ids(first.store), timeout=20)
    finally:
        first.stop()
    again = start_agent(tmp_path, database=own, extra_args=["--demo"])  # its own jobs: fine
    again.stop()  # it started (start_agent raises when an agent does not): its own jobs
    again.store.close()
    first.store.close()


def job_ids(store: JobStore) -> list[str]:
    with store.read() as conn:
        return [r[0] for r in conn.execute(text("SELECT id FROM background_jobs"))]
