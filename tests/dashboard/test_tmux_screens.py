"""The Backups screen, the log view and the incident key of ``jobtui demo`` in a real terminal."""

from __future__ import annotations

from tests.dashboard.test_tmux import jobtui, pytestmark, tmux  # noqa: F401
from tests.support import wait_for


def test_demo_screens_in_tmux(tmux, tmp_path):  # noqa: F811
    tmux.start(f"env XDG_STATE_HOME={tmp_path} {jobtui('demo')}")
    tmux.shows("demo", "Queue depth", "Capacity", "B Backups", "l Logs", "i Incident", timeout=40)
    # the log view follows the demo agent's own log
    tmux.send("l")
    text = tmux.shows("Agent log", "logs/all.log", "following", "INFO jobtui")
    assert "No agent log" not in text and "Traceback" not in text
    tmux.send("Escape")
    tmux.shows("Queue depth", "q Quit")
    # Backups: take one, see it listed with its checksum
    tmux.send("B")
    tmux.shows("Backups on demo", "0 backups", "⏎ Restore")
    tmux.send("b")
    tmux.shows("Back up the jobs table on demo?")
    tmux.send("y")
    tmux.shows("1 backup ", "✓ ok")
    tmux.send("Escape")
    tmux.shows("q Quit")
    # the incident report lands in the state directory
    tmux.send("i")
    text = tmux.shows("Report:")
    assert "Incident report not written" not in text
    wait_for(lambda: list((tmp_path / "jobtui" / "incidents").glob("incident-*.md")), 10, 0.1)
    tmux.send("q")
    wait_for(lambda: not tmux.running(), 20, 0.1)
