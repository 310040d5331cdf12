"""``jobtui demo`` in a real 80×24 terminal: what matters shows without scrolling."""

from __future__ import annotations

from tests.dashboard.test_tmux import jobtui, pytestmark, tmux  # noqa: F401
from tests.support import wait_for


def test_demo_fits_the_classic_ssh_terminal(tmux):  # noqa: F811
    tmux.start(jobtui("demo"), width=80, height=24)
    text = tmux.shows("demo", "Queue depth", "Throughput", "Stuck jobs", "This host", timeout=40)
    text = tmux.shows("? Help q Quit", "^p palette")
    footer = [line for line in text.splitlines() if line.strip()][-1]
    assert "? Help q Quit" in footer and footer.rstrip().endswith("^p palette"), footer
    for card in ("Queue depth", "Success rate", "Avg time", "Throughput", "Capacity"):
        assert card in text, text
    assert "processi…" not in text and "free worker …" not in text, text  # whole wordings
    tmux.send("3")
    text = tmux.shows("Status all", "Duration", "Error")
    assert "Traceback" not in text
    tmux.send("2")
    tmux.shows("Queue depth over time", "0┤", "time (", "v Next chart")
    tmux.send("v")
    tmux.shows("Success vs. error rate", "100┤", "0┤")
    tmux.send("q")
    wait_for(lambda: not tmux.running(), 20, 0.1)
