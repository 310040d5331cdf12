"""The real thing in a real terminal: ``jobtui`` and ``jobtui demo`` in tmux, read back with
``capture-pane``; and the process ends when its terminal goes away (an SSH drop)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support import add_job, wait_for

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
)


class Tmux:
    """One private tmux server (its own socket) running one command in a fixed-size pane."""

    def __init__(self) -> None:
        self.socket = f"jobtui-test-{uuid.uuid4().hex[:8]}"

    def tmux(self, *args: str) -> str:
        cmd = ["tmux", "-L", self.socket, "-f", "/dev/null", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout

    def start(self, command: str, width: int = 120, height: int = 40) -> None:
        # no JOBTUI_* settings of ours, and no COLUMNS/LINES (pytest may set them, and
        # Textual would believe them over the pane's size)
        unset = ["COLUMNS", "LINES", *(k for k in os.environ if k.startswith("JOBTUI_"))]
        env = " ".join(f"-u {k}" for k in unset)
        self.tmux(
            "new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height),
            f"exec env {env} {command}",
        )  # fmt: skip

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def pid(self) -> int:
        return int(self.tmux("display", "-p", "-t", "t", "#{pane_pid}").strip())

    def running(self) -> bool:
        return (
            subprocess.run(
                ["tmux", "-L", self.socket, "has-session", "-t", "t"], capture_output=True
            ).returncode
            == 0
        )

    def shows(self, *texts: str, timeout: float = 15.0) -> str:
        try:
            wait_for(lambda: all(t in self.screen() for t in texts), timeout, 0.1)
        except AssertionError:
            size = self.tmux("display", "-p", "-t", "t", "#{pane_width}x#{pane_height}")
            raise AssertionError(
                f"not on screen ({size.strip()}): {texts}\n{self.screen()}"
            ) from None
        return self.screen()

    def kill(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    t = Tmux()
    yield t
    t.kill()


def jobtui(*args: str) -> str:
    return shlex.join([sys.executable, "-m", "jobtui", *args])


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_jobtui_in_tmux(agent, tmux):
    add_job(agent.store, status="pending")
    tmux.start(jobtui("--url", agent.url))
    text = tmux.shows("Queue depth", "1 Overview", "q Quit", "· live")
    assert agent.url in text and "Traceback" not in text
    tmux.send("3")
    tmux.shows("Status all", "pending")
    tmux.send("4")
    tmux.shows("Failed jobs in the last 24 h: 0")
    tmux.send("2")
    tmux.shows("Timespan:", "Queue depth over time")
    tmux.send("q")
    wait_for(lambda: not tmux.running(), 10, 0.1)


def test_ctrl_c_quits_from_the_dashboard_and_from_the_help(seed_server):
    """Before: ctrl+c only said "Press ctrl+q to quit"."""
    for opened in ((), ("?",)):
        tmux = Tmux()
        try:
            command = jobtui("--url", seed_server.url) + "; echo exited $?; sleep 30"
            tmux.start(f"sh -c {shlex.quote(command)}")
            tmux.shows("Queue depth", "q Quit")
            if opened:
                tmux.send(*opened)
                tmux.shows("Show every key", "esc to close")
            tmux.send("C-c")
            text = tmux.shows("exited 0")
            assert "Traceback" not in text
        finally:
            tmux.kill()


def test_the_process_ends_when_its_terminal_goes_away(agent, tmux):
    tmux.start(jobtui("--url", agent.url))
    tmux.shows("Queue depth")
    pid = tmux.pid()
    tmux.kill()  # closes the terminal (the pty), as a dropped SSH session does
    wait_for(lambda: gone(pid), 10, 0.1)


def test_demo_runs_its_agent_and_stops_it(tmux):
    tmux.start(jobtui("demo"))
    text = tmux.shows("demo", "Queue depth", "live", timeout=40)
    url = re.search(r"http://127\.0\.0\.1:\d+", text).group(0)
    assert httpx.get(url + "/api/jobs/health", timeout=5).status_code in (200, 503)
    tmux.send("q")
    wait_for(lambda: not tmux.running(), 20, 0.1)

    def agent_stopped() -> bool:
        try:
            httpx.get(url + "/api/jobs/health", timeout=1)
        except httpx.HTTPError:
            return True
        return False

    wait_for(agent_stopped, 15, 0.1)


def test_not_a_terminal_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "jobtui", "--url", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "jobtui: the dashboard needs a terminal (try `jobtui check` in scripts)"
    )
