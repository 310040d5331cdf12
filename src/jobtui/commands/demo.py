"""``jobtui demo``: the agent with its simulated workload on a temporary SQLite file, and the
dashboard on it. The agent stops when the dashboard exits, however it exits."""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

START_TIMEOUT = 30.0  # seconds for the agent to say where it listens
DEMO_HEALTH_INTERVAL = 2.0  # the demo runs on a compressed clock: poll a little faster
DEMO_METRICS_INTERVAL = 6.0


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the demo's temporary directory (database, agent log) after exit",
    )


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from jobtui.commands.dashboard import open_dashboard
    from jobtui.config import ConfigError, Target, load_config

    try:
        config = load_config(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"jobtui demo: {exc}", file=sys.stderr)
        return 2
    dashboard = dataclasses.replace(
        config.dashboard,
        health_interval=min(config.dashboard.health_interval, DEMO_HEALTH_INTERVAL),
        metrics_interval=min(config.dashboard.metrics_interval, DEMO_METRICS_INTERVAL),
    )
    tmp = Path(tempfile.mkdtemp(prefix="jobtui-demo-"))
    # the log view (key l) follows the demo agent's log (its cwd is tmp, its log dir "logs")
    logging = {**(config.raw.get("logging") or {}), "agent_log": str(tmp / "logs" / "all.log")}
    raw = {**config.raw, "logging": logging}
    config = dataclasses.replace(config, dashboard=dashboard, raw=raw)
    agent: subprocess.Popen[str] | None = None
    try:
        agent, url = start_agent(tmp)
        if url is None:
            print(
                f"jobtui demo: the agent did not start:\n{tail(tmp / 'agent.log')}", file=sys.stderr
            )
            return 1
        return open_dashboard(
            config,
            Target("demo", url),
            read_only=bool(getattr(args, "read_only", False)),
        )
    finally:
        if agent is not None:
            stop(agent)
        if getattr(args, "keep", False):
            print(f"jobtui demo: kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def start_agent(tmp: Path) -> tuple[subprocess.Popen[str], str | None]:
    """``jobtui serve --demo`` on a free loopback port; its URL, or None if it failed."""
    config = tmp / "agent.yaml"
    config.write_text("{}\n")  # the demo's own settings, not the user's agent section
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}  # no tokens
    log = (tmp / "agent.log").open("w")
    cmd = [
        sys.executable,
        "-m",
        "jobtui",
        "serve",
        "--demo",
        "--database",
        f"sqlite:///{tmp / 'demo.db'}",
        "--port",
        "0",
        "--config",
        str(config),
    ]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=env,
        cwd=tmp,
        start_new_session=True,  # the terminal's signals go to the dashboard, which stops it
        preexec_fn=_die_with_parent(os.getpid()),
    )
    log.close()
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:  # keeps draining after the URL, so the pipe never fills
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, name="jobtui-demo-agent", daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=START_TIMEOUT)
            if line is None:
                return proc, None
            if "listening on" in line:
                return proc, line.strip().rsplit(" ", 1)[-1]
    except queue.Empty:
        return proc, None


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGINT (a clean shutdown), then SIGTERM, then SIGKILL."""
    for sig, wait in ((signal.SIGINT, 5.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)


def _die_with_parent(parent: int) -> Callable[[], None]:
    """In the child: get SIGTERM when the dashboard dies, even by SIGKILL (Linux)."""

    def setup() -> None:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return setup


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
