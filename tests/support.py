"""Real parts for tests: the agent in a subprocess, a seed-only server, rows with any history."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text

from jobtui.agent.store import JobStore
from jobtui.contract import utcnow

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jobtui_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "jobtui", *args]


@dataclass
class AgentProcess:
    """``jobtui serve`` in a subprocess on a free loopback port, with its own config file."""

    url: str
    database: str
    proc: subprocess.Popen[str]
    store: JobStore
    config_path: Path
    cwd: Path
    lines: list[str] = field(default_factory=list)

    @property
    def backups_dir(self) -> Path:
        """The test agents' backup folder (see :func:`start_agent`)."""
        return self.cwd / "backups"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stderr(self) -> str:
        return "".join(self.lines)


def start_agent(
    tmp: Path,
    config: dict[str, Any] | None = None,
    *,
    database: str | None = None,
    extra_args: Iterable[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = 20.0,
    prelude: str | None = None,
    preexec_fn: Callable[[], Any] | None = None,
) -> AgentProcess:
    """``config`` is merged into the test's defaults, key by key at every depth; a value of
    None removes the key, leaving the agent's own default (``{"agent": {"backups":
    {"every_hours": None}}}``: the daily schedule). By default an agent backs up into
    ``tmp/backups`` only when asked (no schedule), and ``$XDG_STATE_HOME`` is ``tmp/state``, so
    no test writes into the user's folders.

    ``prelude``: Python run in the agent's process before the command (to break a part of
    it on purpose); ``preexec_fn``: run in the child before it starts (to lower a limit)."""
    database = database or f"sqlite:///{tmp / 'jobs.db'}"
    cfg = merged(
        {
            "agent": {
                "metrics_interval": "1s",
                "backups": {"dir": str(tmp / "backups"), "every_hours": 0},
            }
        },
        config or {},
    )
    config_path = tmp / f"agent-{uuid.uuid4().hex[:6]}.yaml"
    config_path.write_text(yaml.safe_dump(cfg))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    full_env["XDG_STATE_HOME"] = str(tmp / "state")
    full_env.update(env or {})
    args = ["serve", "--database", database, "--port", "0", "--config", str(config_path)]
    cmd = jobtui_cmd(*args, *extra_args)
    if prelude is not None:
        main = "\nimport sys\nfrom jobtui.cli import main\nsys.exit(main())\n"
        cmd = [sys.executable, "-c", prelude + main, *args, *extra_args]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=tmp,
        preexec_fn=preexec_fn,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    url = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "listening on" in line:
            url = line.strip().rsplit(" ", 1)[-1]
            break
    if not url:
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"agent did not start: {err}")
    agent = AgentProcess(url, database, proc, JobStore(database), config_path, tmp)
    threading.Thread(target=_drain, args=(proc, agent.lines), daemon=True).start()
    _wait_http(url + "/openapi.json", deadline)
    return agent


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` laid on it, dicts merged at every depth; None removes a key."""
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def _drain(proc: subprocess.Popen[str], sink: list[str]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        sink.append(line)


def _wait_http(url: str, deadline: float) -> None:
    import httpx

    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} never answered")


# --------------------------------------------------------------------------- rows


def add_job(
    store: JobStore,
    *,
    status: str = "pending",
    type: str = "story_generation",
    error: str | None = None,
    message: str | None = None,
    created: timedelta = timedelta(0),
    started: timedelta | None = None,
    finished: timedelta | None = None,
    updated: timedelta | None = None,
    attempts: int = 0,
    max_attempts: int = 3,
    progress: int = 0,
    now: datetime | None = None,
    job_id: str | None = None,
) -> str:
    """Insert one job whose times are given as ages (how long ago), as a real app would."""
    return add_jobs(
        store,
        [
            dict(
                status=status, type=type, error=error, message=message, created=created,
                started=started, finished=finished, updated=updated, attempts=attempts,
                max_attempts=max_attempts, progress=progress, job_id=job_id,
            )
        ],
        now=now,
    )[0]  # fmt: skip


def add_stuck(
    store: JobStore, n: int = 1, *, stalled: timedelta = timedelta(minutes=20)
) -> list[str]:
    """``n`` jobs stuck in ``processing``: no update for ``stalled`` (past the default
    10-minute threshold), started nine minutes before that."""
    job = dict(
        status="processing",
        created=stalled + timedelta(minutes=10),
        started=stalled + timedelta(minutes=9),
        updated=stalled,
        attempts=1,
    )
    return add_jobs(store, [job] * n)


def add_jobs(
    store: JobStore, specs: list[dict[str, Any]], now: datetime | None = None
) -> list[str]:
    now = now or utcnow()
    ts = store.d.ts
    rows = []
    for spec in specs:
        created = now - spec.get("created", timedelta(0))
        started = now - spec["started"] if spec.get("started") is not None else None
        finished = now - spec["finished"] if spec.get("finished") is not None else None
        updated_age = spec.get("updated")
        updated = now - updated_age if updated_age is not None else (finished or started or created)
        rows.append(
            {
                "id": spec.get("job_id") or str(uuid.uuid4()),
                "type": spec.get("type", "story_generation"),
                "status": spec.get("status", "pending"),
                "progress": spec.get("progress", 0),
                "message": spec.get("message"),
                "error": spec.get("error"),
                "attempts": spec.get("attempts", 0),
                "max_attempts": spec.get("max_attempts", 3),
                "created_at": ts(created),
                "updated_at": ts(updated),
                "started_at": ts(started),
                "completed_at": ts(finished),
            }
        )
    with store.write() as conn:
        conn.execute(
            text(
                "INSERT INTO background_jobs (id, type, status, progress, message, error, attempts, "
                "max_attempts, created_at, updated_at, started_at, completed_at) VALUES (:id, :type, "
                ":status, :progress, :message, :error, :attempts, :max_attempts, :created_at, "
                ":updated_at, :started_at, :completed_at)"
            ),
            rows,
        )
    return [r["id"] for r in rows]


# --------------------------------------------------------------------------- a seed-only server


def seed_health(**overrides: Any) -> dict[str, Any]:
    """A health answer exactly as the seed's Next.js app gives it (no fields of ours)."""
    body: dict[str, Any] = {
        "status": "healthy",
        "message": "System is healthy",
        "timestamp": "2026-11-29T03:00:00.000Z",
        "systemStatus": {"monitor": True, "manager": True, "config": True},
        "metrics": {
            "queueDepth": 3,
            "processingCapacity": 2,
            "successRate": 97.5,
            "averageProcessingTime": 42000,
            "jobsPerHour": 120,
            "errorRate": 2.5,
        },
        "health": {"alerts": [], "recommendations": [], "stuckJobsCount": 0},
        "operational": {
            "autoProcessingEnabled": True,
            "metricsCollectionEnabled": True,
            "processingInterval": 30000,
            "maxConcurrentJobs": 5,
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


def seed_metrics(n: int = 10, start: datetime | None = None) -> list[dict[str, Any]]:
    start = start or utcnow() - timedelta(minutes=n)
    return [
        {
            "timestamp": (start + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
            "queueDepth": i % 7,
            "processingRate": 2.0,
            "successRate": 95.0,
            "errorRate": 5.0,
            "averageProcessingTime": 30000 + i * 100,
            "resourceUtilization": 40.0,
            "jobsPerHour": 120,
            "jobsPerDay": 2800,
        }
        for i in range(n)
    ]


@dataclass
class Canned:
    status: int = 200
    body: Any = None  # dict/list → JSON; str → sent as is
    content_type: str = "application/json"
    delay: float = 0.0


class SeedServer:
    """Serves only the seed's endpoints, from canned answers a test can change at any time.
    Runs in its own thread, so a Pilot test's event loop stays free."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Canned] = {
            ("GET", "/api/jobs/health"): Canned(body=seed_health()),
            ("GET", "/api/monitoring/metrics"): Canned(
                body={"count": 10, "timespan": "24 hours", "metrics": seed_metrics()}
            ),
            ("GET", "/api/admin/check"): Canned(body={"isAdmin": True}),
            ("POST", "/api/admin/recovery"): Canned(body={"success": True}),
        }
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                path = self.path.split("?", 1)[0]
                server.requests.append((method, self.path, dict(self.headers)))
                canned = server.routes.get((method, path))
                if canned is None:
                    canned = Canned(
                        404,
                        "<html><body>404: This page could not be found.</body></html>",
                        "text/html",
                    )
                if canned.delay:
                    time.sleep(canned.delay)
                body = canned.body
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                try:
                    self.send_response(canned.status)
                    self.send_header("Content-Type", canned.content_type)
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        self.closed = False
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def set(self, method: str, path: str, canned: Canned) -> None:
        self.routes[(method, path)] = canned

    def set_stuck(self, n: int) -> None:
        """Health from now on: ``n`` stuck jobs, no alerts, no recommendations."""
        health = {"alerts": [], "recommendations": [], "stuckJobsCount": n}
        self.set("GET", "/api/jobs/health", Canned(body=seed_health(health=health)))

    def __enter__(self) -> SeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop answering (a server that died); again is harmless."""
        if not self.closed:
            self.closed = True
            self.httpd.shutdown()
            self.httpd.server_close()


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
