"""Logging: files, JSON, syslog (UDP and TLS, as Papertrail takes it), config errors, request
ids from the HTTP header to the agent's log file, and no secret in any log."""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import stat
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from jobtui import logs
from jobtui.config import ConfigError
from jobtui.logs import LoggingConfig, SyslogConfig, parse_logging
from tests.alerting_support import make_cert, server_tls
from tests.support import jobtui_cmd, wait_for


@pytest.fixture
def root_logging():
    """Give the test the root logger and put it back as it was."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    yield root
    logs.shutdown()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    for h in saved:
        root.addHandler(h)
    root.setLevel(level)


def test_files_levels_rotation_and_json(tmp_path, root_logging):
    cfg = LoggingConfig(format="json", dir=tmp_path / "logs", max_size=2048, backups=2)
    files = logs.setup("http", cfg, console=False, secrets=["hunter2-secret"])
    assert files == [tmp_path / "logs" / "error.log", tmp_path / "logs" / "all.log"]
    log = logging.getLogger("jobtui.test")
    log.debug("not at http level")
    log.log(logs.HTTP, "[abc] GET /api/jobs 200 1.0ms")
    log.info("token is hunter2-secret", extra={"request_id": "abc"})
    log.error("Job failed: %s - %s", "j1", "Out of memory")
    errors = (tmp_path / "logs" / "error.log").read_text().splitlines()
    lines = [json.loads(x) for x in (tmp_path / "logs" / "all.log").read_text().splitlines()]
    assert [x["level"] for x in lines] == ["http", "info", "error"]
    assert lines[1]["message"] == "token is ***" and lines[1]["request_id"] == "abc"
    assert lines[2]["message"] == "Job failed: j1 - Out of memory"
    assert lines[2]["timestamp"].endswith("Z") and lines[2]["logger"] == "jobtui.test"
    assert len(errors) == 1 and json.loads(errors[0])["level"] == "error"
    for i in range(200):
        log.info("line %d %s", i, "x" * 40)
    names = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert names == ["all.log", "all.log.1", "all.log.2", "error.log"]
    assert all(p.stat().st_size <= 2048 for p in (tmp_path / "logs").iterdir())


def test_text_format_has_the_seed_levels(tmp_path, root_logging):
    logs.setup("debug", LoggingConfig(dir=tmp_path), console=False)
    logging.getLogger("jobtui.x").warning("High queue depth: %d", 60)
    line = (tmp_path / "all.log").read_text().strip()
    assert line.split(" ", 3)[2:] == ["WARN", "jobtui.x: High queue depth: 60"]


def test_syslog_udp_in_rfc5424(root_logging):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(5)
        cfg = SyslogConfig("127.0.0.1", rx.getsockname()[1], "udp", "web-1", "background-jobs")
        logs.setup("info", LoggingConfig(syslog=cfg), console=False)
        logging.getLogger("jobtui.agent").error("Database connection failed")
        data = rx.recv(9000).decode()
    head, ts, host, program, pid, rest = data.split(" ", 5)
    assert (head, host, program) == ("<11>1", "web-1", "background-jobs")  # user.err, RFC 5424
    assert ts.endswith("Z") and int(pid) > 0
    assert rest.startswith("- - ") and rest.endswith(
        "ERROR jobtui.agent: Database connection failed"
    )


def test_syslog_tls_with_a_private_ca(tmp_path, root_logging):
    cert, key = make_cert(tmp_path)
    got: list[bytes] = []
    srv = socket.create_server(("127.0.0.1", 0))
    ctx = server_tls(cert, key)

    def serve() -> None:
        conn, _ = srv.accept()
        with ctx.wrap_socket(conn, server_side=True) as tls:
            while chunk := tls.recv(4096):
                got.append(chunk)

    threading.Thread(target=serve, daemon=True).start()
    cfg = SyslogConfig("127.0.0.1", srv.getsockname()[1], "tls", "web-1", "jobtui", str(cert))
    logs.setup("info", LoggingConfig(syslog=cfg, format="json"), console=False)
    logging.getLogger("jobtui.agent").info("one")
    logging.getLogger("jobtui.agent").warning("two\nlines")
    logs.shutdown()  # flushes the queue and closes the stream
    wait_for(lambda: b"".join(got).count(b"\n") == 2, timeout=5)
    srv.close()
    first, second = b"".join(got).decode().splitlines()
    assert first.startswith("<14>1 ") and json.loads(first.split(" - - ", 1)[1])["message"] == "one"
    assert second.startswith("<12>1 ")  # user.warning; the newline stays inside the JSON
    assert json.loads(second.split(" - - ", 1)[1])["message"] == "two\nlines"


def test_an_unreachable_syslog_server_never_blocks_or_raises(root_logging):
    cfg = SyslogConfig("127.0.0.1", 1, "tcp")
    logs.setup("info", LoggingConfig(syslog=cfg), console=False)
    start = time.monotonic()
    for _ in range(100):
        logging.getLogger("x").error("nobody listens")
    assert time.monotonic() - start < 0.5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"level": "loud"}, "logging.level: expected one of error|warn|info|http|debug"),
        ({"format": "xml"}, "logging.format: expected text or json"),
        ({"max_size": "lots"}, "logging.max_size: expected a size"),
        ({"syslog": {"port": 1}}, "logging.syslog.host: missing"),
        ({"syslog": {"host": "h", "protocol": "smoke"}}, "logging.syslog.protocol"),
        ({"colour": True}, "logging.colour: unknown key"),
    ],
)
def test_logging_config_errors_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message.replace("|", r"\|")):
        parse_logging(data, {})


def test_logging_config_values():
    cfg = parse_logging(
        {"dir": "/var/log/jobtui", "max_size": "5MB", "backups": 3, "syslog": {"host": "h"}}, {}
    )
    assert cfg.max_size == 5 * 1024**2 and cfg.backups == 3
    assert cfg.agent_log_path() == Path("/var/log/jobtui/all.log")
    assert cfg.syslog is not None and (cfg.syslog.port, cfg.syslog.protocol) == (514, "udp")


def test_serve_refuses_a_log_dir_it_cannot_write(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = subprocess.run(
        jobtui_cmd("serve", "--port", "0", "--log-dir", str(blocker / "logs")),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=30,
    )
    assert r.returncode == 2
    assert r.stderr.startswith("jobtui serve: cannot write logs in") and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1


ADMIN, READ = "admin-token-0123456789", "read-token-0123456789"


def test_request_ids_reach_the_log_file_and_no_token_does(agent_factory, tmp_path):
    a = agent_factory(
        env={"JOBTUI_ADMIN_TOKEN": ADMIN, "JOBTUI_READ_TOKEN": READ},
        extra_args=["--log-level", "http", "--log-format", "json"],
    )
    auth = {"Authorization": f"Bearer {READ}"}
    r = httpx.get(a.url + "/api/jobs", headers={**auth, "X-Request-ID": "req-e2e-42"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "req-e2e-42"
    made = httpx.get(a.url + "/api/jobs", headers=auth).headers["x-request-id"]
    # tokens where a careless server would log them: the query, the id header, a bad token
    httpx.get(a.url + "/api/jobs", params={"token": ADMIN}, headers={"X-Request-ID": ADMIN})
    httpx.post(a.url + "/api/admin/recovery", headers={"Authorization": f"Bearer {READ}x"})
    httpx.post(a.url + "/api/admin/recover-stuck", headers={"Authorization": f"Bearer {ADMIN}"})
    all_log = tmp_path / "logs" / "all.log"
    wait_for(lambda: all_log.exists() and "recover-stuck" in all_log.read_text())
    a.stop()
    records = [json.loads(line) for line in all_log.read_text().splitlines()]
    http = [r["message"] for r in records if r["level"] == "http"]
    assert any(m.startswith("[req-e2e-42] GET /api/jobs 200 ") for m in http)
    assert any(m.startswith(f"[{made}] GET /api/jobs 200 ") for m in http)
    assert any(m.startswith("[***] GET /api/jobs 401 ") for m in http)
    everything = all_log.read_text() + a.stderr()
    if (tmp_path / "logs" / "error.log").exists():
        everything += (tmp_path / "logs" / "error.log").read_text()
    for token in (ADMIN, READ):
        assert token not in everything


def test_tls_context_is_verified_by_default(tmp_path, root_logging):
    """Without ca_file, a self-signed syslog server is refused (the line is dropped)."""
    cert, key = make_cert(tmp_path)
    srv = socket.create_server(("127.0.0.1", 0))
    ctx = server_tls(cert, key)
    outcome: list[str] = []

    def serve() -> None:
        conn, _ = srv.accept()
        try:
            ctx.wrap_socket(conn, server_side=True).recv(10)
            outcome.append("accepted")
        except (ssl.SSLError, OSError):
            outcome.append("refused")

    threading.Thread(target=serve, daemon=True).start()
    logs.setup(
        "info",
        LoggingConfig(syslog=SyslogConfig("127.0.0.1", srv.getsockname()[1], "tls")),
        console=False,
    )
    logging.getLogger("x").error("hello")
    wait_for(lambda: outcome, timeout=5)
    srv.close()
    assert outcome == ["refused"]


def test_log_files_are_private_after_rotation_too(tmp_path, root_logging):
    """Logs carry job errors: 0600 files in a 0700 folder, the rotated ones too, whatever the
    umask; a file left readable by an older version is made private when opened."""
    old_umask = os.umask(0o022)
    try:
        folder = tmp_path / "logs"  # as an older version left it
        folder.mkdir(mode=0o755)
        (folder / "all.log").write_text("from before\n")
        os.chmod(folder / "all.log", 0o644)
        fresh = tmp_path / "fresh"
        logs.setup("info", LoggingConfig(dir=fresh, max_size=512, backups=2), console=False)
        log = logging.getLogger("jobtui.test")
        for i in range(40):
            log.error("Job failed: %d %s", i, "x" * 40)
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in fresh.iterdir()}
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
        assert set(modes) >= {"all.log", "all.log.1", "error.log", "error.log.1"}
        assert set(modes.values()) == {0o600}
        logs.setup("info", LoggingConfig(dir=folder), console=False)
        assert stat.S_IMODE((folder / "all.log").stat().st_mode) == 0o600
        assert (folder / "all.log").read_text().startswith("from before\n")
    finally:
        os.umask(old_umask)
