"""The log view (l): the real agent's log, followed; bounded; and what to configure."""

from __future__ import annotations

import httpx
from rich.style import Style
from textual.widgets import RichLog

from jobtui.config import Config
from jobtui.dashboard.logview import LOG_LINES, POLL_SECONDS, TAIL_LINES, LogViewScreen
from tests.dashboard.conftest import SIZE, make_app, screen, shows, until


def config(**logging: object) -> Config:
    return Config(raw={"logging": {k: str(v) for k, v in logging.items()}})


def log_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen.query_one("#log", RichLog).lines)


async def open_log(pilot) -> LogViewScreen:
    await pilot.press("l")
    await until(pilot, lambda: isinstance(pilot.app.screen, LogViewScreen), what="log view")
    return pilot.app.screen


async def test_follows_the_real_agents_log_until_closed(agent):
    httpx.post(f"{agent.url}/api/admin/backups", timeout=10).raise_for_status()
    log = agent.cwd / "logs" / "all.log"
    app = make_app(agent.url, config=config(dir=agent.cwd / "logs"))
    async with app.run_test(size=SIZE) as pilot:
        view = await open_log(pilot)
        await shows(pilot, f"Agent log {log}", "following")
        await until(pilot, lambda: "INFO jobtui.http: Backup jobs_backup_" in log_text(app))
        assert view.following
        # a line the agent writes while the view is open arrives within about a second
        name = httpx.post(f"{agent.url}/api/admin/backups", timeout=10).json()["name"]
        await until(pilot, lambda: f"Backup {name}" in log_text(app), timeout=5, what="new line")
        # levels in colour: an error line is red, the seed's critical pattern highlighted
        with log.open("a") as f:
            f.write("2026-11-29 03:00:00.000 ERROR jobtui.agent: Database connection failed\n")
        await until(pilot, lambda: "Database connection failed" in log_text(app), timeout=5)
        strip = app.screen.query_one("#log", RichLog).lines[-1]
        styles = [seg.style for seg in strip if "Database" in seg.text or "ERROR" in seg.text]
        assert styles and all(isinstance(s, Style) and s.color is not None for s in styles)
        assert any(s.bgcolor is not None for s in styles)  # the pattern's highlight
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LogViewScreen), what="closed")
        assert not view.following and view._timer is None
        read = view.lines_read
        with log.open("a") as f:
            f.write("2026-11-29 03:00:01.000 INFO jobtui.agent: after closing\n")
        await pilot.pause(POLL_SECONDS * 1.5)  # nothing to wait for: a check would have come
        assert view.lines_read == read  # nothing is read once the view is closed


async def test_keeps_a_bounded_number_of_lines(tmp_path, seed_server):
    log = tmp_path / "all.log"
    log.write_text("".join(f"2026-11-29 03:00:00.000 INFO x: old line {i}\n" for i in range(3000)))
    app = make_app(seed_server.url, config=config(agent_log=log))
    async with app.run_test(size=SIZE) as pilot:
        view = await open_log(pilot)
        await until(pilot, lambda: "old line 2999" in log_text(app), what="the tail")
        rich_log = view.query_one("#log", RichLog)
        assert len(rich_log.lines) == TAIL_LINES  # only the last lines are read
        assert "old line 2499" not in log_text(app)
        with log.open("a") as f:
            for i in range(3000):
                f.write(f"2026-11-29 03:00:01.000 WARN x: new line {i}\n")
        await until(pilot, lambda: "new line 2999" in log_text(app), timeout=5, what="new lines")
        assert len(rich_log.lines) == LOG_LINES  # 3,500 lines read, the oldest dropped
        assert "old line" not in log_text(app) and "new line 999\n" not in log_text(app)


async def test_no_path_configured_says_what_to_set(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_log(pilot)
        await shows(pilot, "No agent log configured: set logging.agent_log")
        assert not view.following
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LogViewScreen), what="closed")


async def test_a_missing_file_is_said_then_followed_when_it_appears(tmp_path, seed_server):
    log = tmp_path / "logs" / "all.log"
    app = make_app(seed_server.url, config=config(agent_log=log))
    async with app.run_test(size=SIZE) as pilot:
        await open_log(pilot)
        await shows(pilot, f"No log file at {log} yet")
        log.parent.mkdir()
        log.write_text("2026-11-29 03:00:00.000 INFO jobtui.agent: agent started\n")
        await until(pilot, lambda: "agent started" in log_text(app), timeout=5, what="the line")
        await until(pilot, lambda: "No log file" not in screen(app), what="note gone")


async def test_a_bad_logging_section_is_one_line(seed_server):
    app = make_app(seed_server.url, config=Config(raw={"logging": {"agent_log": ["x"]}}))
    async with app.run_test(size=SIZE) as pilot:
        await open_log(pilot)
        await shows(pilot, "No agent log configured", "logging.agent_log")


async def test_a_path_that_cannot_be_read_is_one_line(tmp_path, seed_server):
    log = tmp_path / ("x" * 300)  # stat() fails with "File name too long", not "not found"
    app = make_app(seed_server.url, config=config(agent_log=log))
    async with app.run_test(size=SIZE) as pilot:
        view = await open_log(pilot)
        await shows(pilot, "Cannot read", "File name too long")
        assert "reading…" not in screen(app)
        assert view.following  # it is checked again every second
