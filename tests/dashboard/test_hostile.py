"""Data is text: every tab and screen, driven by a server whose every string is hostile (see
tests/hostile.py), shows markup-like text as it is, control characters escaped, and sends no
control character to the terminal. A display error fails every test here (conftest)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import RichLog
from textual.widgets._toast import Toast

from jobtui.config import Config, Target
from jobtui.dashboard.backups import BackupsScreen, PruneScreen, RestoreScreen
from jobtui.dashboard.confirm import ConfirmScreen
from jobtui.dashboard.detail import JobDetailScreen
from jobtui.dashboard.help import HelpScreen
from jobtui.dashboard.logview import LogViewScreen
from jobtui.dashboard.targets import TargetScreen
from tests.dashboard.conftest import SIZE, make_app, noted, screen, shows, until
from tests.dashboard.test_tmux import Tmux, jobtui
from tests.hostile import (
    BACKUP,
    CJK,
    CLEAR,
    HOSTILE,
    JOBS,
    MARKUP,
    REFUSED,
    SHOWN,
    TITLE,
    HostileServer,
    raw_controls,
)
from tests.support import Canned, seed_health, wait_for

NAME = "prod[/]\x1b[2J"  # the target's name, from a config file
NAME_SHOWN = "prod[/]\\x1b[2J"


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as s:
        yield s


def hostile_app(server: HostileServer, **kwargs: Any) -> Any:
    return make_app(server.url, name=NAME, **kwargs)


def painted(app: Any) -> str:
    """Every character of the current screen's segments: what the terminal is sent."""
    return "".join(seg.text for strip in app.screen._compositor.render_strips() for seg in strip)


def clean(app: Any) -> None:
    """No control character on screen (the escapes are printable backslashes)."""
    leaked = raw_controls(painted(app))
    assert not leaked, f"sent to the terminal: {sorted(map(repr, leaked))}\n{screen(app)}"


def toasts(app: Any) -> str:
    return "\n".join(str(t.render()) for t in app.screen.query(Toast))


async def toasted(pilot: Any, text: str) -> str:
    """Wait until a toast on screen contains ``text``; the toasts' text."""

    def shown() -> str | None:
        found = toasts(pilot.app)
        return found if text in found else None

    return await until(pilot, shown, what=f"a toast with {text!r}")


async def first_answer(pilot: Any) -> None:
    await until(pilot, lambda: pilot.app.state.health.value, what="first answer")


async def test_overview_and_performance_show_the_servers_text_literally(server):
    app = hostile_app(server)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await shows(
            pilot,
            f"Degraded: {MARKUP} {SHOWN['clear']}",
            f"Queue depth high: {MARKUP}",
            f"stuck {SHOWN['clear']}",
            f"{SHOWN['bidi']} {SHOWN['c0c1']}",
            f"{SHOWN['bold']} scale up",
            f"{CJK} 🎉",
            NAME_SHOWN,
        )
        clean(app)
        await pilot.press("2")
        await shows(pilot, f"10 samples over 24 hours {MARKUP}\\x1b[2J")
        clean(app)


async def test_jobs_tab_shows_every_field_literally_and_searches(server):
    app = hostile_app(server)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("3")
        await shows(
            pilot,
            "job[/]1",
            "story[/]gen",
            "[bold]not bold[/bold]",
            "\\x1b[2J",  # ids: cut to their column, escapes and all
            "\\x1b]52;",
            "\\x00\\x9b",
            "中文の",
            "🎉",
            SHOWN["clear"],
            SHOWN["clipboard"][:20],
        )
        clean(app)
        await pilot.press("slash")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "jobs-search",
                    what="the search box")  # fmt: skip
        await pilot.press(*"[/]", "enter")
        await shows(pilot, "Search “[/]”", "job[/]1")
        clean(app)


async def test_job_detail_shows_whole_fields_literally(server):
    app = hostile_app(server)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("3")
        await shows(pilot, "job[/]1")
        await pilot.press("enter")  # the first job: [/] in its id, type and message
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        await shows(pilot, "Job job[/]1", "story[/]gen", MARKUP, SHOWN["bold"], SHOWN["link"])
        clean(app)
        await pilot.press("escape", "down", "enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail 2")
        text = await shows(pilot, "\\x1b[2Jjob", SHOWN["title"], SHOWN["clear"])
        lines = text.splitlines()  # the traceback keeps its own line
        at = next(i for i, line in enumerate(lines) if SHOWN["clear"] in line)
        assert "Traceback (most recent call last):" in lines[at + 1]
        clean(app)
        for texts in (  # the next jobs, one by one
            (SHOWN["hyperlink"], SHOWN["clipboard"]),
            (SHOWN["c0c1"], SHOWN["bidi"]),
            (CJK, "🎉", SHOWN["zero_width"], SHOWN["surrogate"]),
            ("long-job", SHOWN["long"]),
        ):
            await pilot.press("escape", "down", "enter")
            await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
            await shows(pilot, *texts)
            clean(app)


async def test_errors_tab_and_a_categorys_jobs(server):
    app = hostile_app(server)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("4")
        await shows(
            pilot,
            "database[/]\\x1b[2J",
            f"check {MARKUP}",
            f"sample: {SHOWN['clear']} {SHOWN['bidi']}",
            CJK,
            "🎉",
        )
        await shows(pilot, "job[/]1", "\\x1b]52;", SHOWN["bold"])  # the category's jobs
        clean(app)
        await pilot.press("down")  # the second category: a 100,000-character sample
        await shows(pilot, "sample:", "LLLLLLLL…", "this server does not list the jobs")
        clean(app)
        await pilot.press("up")
        await shows(pilot, "job[/]1")
        await pilot.press("enter", "enter")  # into the jobs, then the first one's detail
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        await shows(pilot, "Job job[/]1", MARKUP)
        clean(app)


async def test_confirm_dialogs_and_their_toasts(server):
    app = hostile_app(server)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("3")
        await shows(pilot, "job[/]1")
        await pilot.press("e")  # retry: the server refuses with a hostile error body
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="retry dialog")
        await shows(pilot, "Retry job job[/]1?", "story[/]gen · failed")
        clean(app)
        await pilot.press("y")
        await noted(pilot, "Retry job job[/]1:")
        await toasted(pilot, "refused \\x1b]2;pwned\\x07")
        await shows(pilot, "Retry job job[/]1")
        clean(app)
        await pilot.press("down", "down", "down", "down", "c")  # the processing one
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="cancel dialog")
        await shows(pilot, f"Cancel job {CJK}?", "🎉")
        clean(app)
        await pilot.press("y")
        await toasted(pilot, f"Job {CJK} is now cancelled.")
        clean(app)
        await pilot.press("R")  # recover-stuck: not provided here, so the system recovery
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="recover dialog")
        await shows(pilot, f"Reset 2 stuck job(s) on {NAME_SHOWN} to pending?")
        clean(app)
        await pilot.press("y")
        await until(pilot, lambda: "System recovery" in screen(app), what="recovery dialog")
        await pilot.press("y")  # its answer, in the recovery's view: literal, escaped
        await until(pilot, lambda: getattr(app.screen, "done", False), what="recovery answer")
        await shows(pilot, f"Recovered {MARKUP} {SHOWN['clear']}", "stuck jobs reset: 2")
        clean(app)


async def test_an_http_error_body_in_the_status_bar(server):
    server.set("GET", "/api/jobs/health", Canned(status=500, body={"error": REFUSED}))
    app = hostile_app(server)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await shows(pilot, "500 Internal Server Error: refused \\x1b]2;pwned\\x07 titled")
        clean(app)


async def test_backups_screen_and_its_dialogs(server):
    app = hostile_app(server)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_answer(pilot)
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, BackupsScreen), what="backups")
        backup = "jobs_backup_[/]\\x1b[2J.json"
        await shows(pilot, f"Backups on {NAME_SHOWN}", backup, f"/srv/backups/{MARKUP}\\x1b[2J")
        clean(app)
        await pilot.press("down")  # the corrupt one: its name and the server's reason
        await shows(
            pilot, "jobs_backup_\\x1b]52;c;bad.json does not verify: checksum mismatch \\x1b]2;"
        )
        clean(app)
        await pilot.press("up", "b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="backup dialog")
        await shows(pilot, f"Back up the jobs table on {NAME_SHOWN}?", f"Latest backup: {backup}")
        clean(app)
        await pilot.press("y")
        await toasted(pilot, f"Backup {backup}: 6 jobs")
        clean(app)
        await until(pilot, lambda: isinstance(app.screen, BackupsScreen), what="back")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RestoreScreen), what="restore dialog")
        await shows(pilot, f"Restore {backup} into the jobs table on {NAME_SHOWN}?", "insert 1")
        clean(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, BackupsScreen), what="back")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, PruneScreen), what="prune dialog")
        await shows(pilot, f"Delete the backups on {NAME_SHOWN} older than how many days?")
        clean(app)
        await pilot.press("enter")
        await toasted(pilot, "Pruned 1 backup")
        clean(app)
        assert BACKUP not in painted(app)  # the raw name never


async def test_target_picker_and_help(server):
    other = Target("staging[bold]\x1b]2;pwned\x07", "http://127.0.0.1:9/[/]\x1b[2J")
    app = hostile_app(server, targets={"prod": Target(NAME, server.url), "staging": other})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_answer(pilot)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TargetScreen), what="targets")
        await shows(pilot, NAME_SHOWN, "staging[bold]\\x1b]2;pwned\\x07", "/[/]\\x1b[2J")
        clean(app)
        await pilot.press("escape", "question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await shows(pilot, "Keys", "Show every key")
        clean(app)


async def test_the_incident_toast_names_a_hostile_directory(server, tmp_path: Path):
    reports = tmp_path / "incidents[/]\x1b[2J"
    app = hostile_app(server, config=Config(raw={"incident": {"dir": str(reports)}}))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_answer(pilot)
        await pilot.press("i")
        message = await noted(pilot, "Report: ")
        assert str(reports) in message  # the app's message is the path; the toast escapes it
        await toasted(pilot, "incidents[/]\\x1b[2J")
        clean(app)


def log_lines(app: Any) -> list[Any]:
    return list(app.screen.query_one("#log", RichLog).lines)


async def test_the_log_view_over_a_file_of_hostile_lines(server, tmp_path: Path):
    log = tmp_path / "all.log"
    lines = [
        f"2026-11-29 03:00:00.000 ERROR jobtui.agent: {name}: {s}" for name, s in HOSTILE.items()
    ]
    lines.append(f"2026-11-29 03:00:01.000 ERROR jobtui.agent: Database connection failed {CLEAR}")
    log.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    app = hostile_app(server, config=Config(raw={"logging": {"agent_log": str(log)}}))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_answer(pilot)
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LogViewScreen), what="log view")
        await until(pilot, lambda: len(log_lines(app)) > len(HOSTILE), what="the lines")
        text = "\n".join(strip.text for strip in log_lines(app))
        for name in HOSTILE:
            if name not in ("surrogate", "long"):
                assert f"{name}: {SHOWN[name]}" in text, name
        leaked = raw_controls("".join(seg.text for strip in log_lines(app) for seg in strip))
        assert not leaked, sorted(map(repr, leaked))
        last = log_lines(app)[-1]  # the seed's pattern still highlighted, on escaped text
        lit = [seg for seg in last if "Database connection failed" in seg.text]
        assert lit and lit[0].style is not None and lit[0].style.bgcolor is not None
        assert "\\x1b[2J cleared" in last.text
        clean(app)


@pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
)
def test_a_real_terminal_gets_no_control_sequence(server):
    """The real app in tmux: a job's OSC 2 would set the pane's title, its ESC [ 2 J would
    clear the screen; the pane shows their escapes instead, and the title is jobtui's own."""
    server.set("GET", "/api/jobs/health", Canned(body=seed_health(message=f"{TITLE} {CLEAR}")))
    control_only = [JOBS[1]]  # id, type, message and error: escape sequences, no markup
    server.set("GET", "/api/jobs", Canned(body={"jobs": control_only, "nextCursor": None}))
    tmux = Tmux()
    try:
        tmux.start(jobtui("--url", server.url))
        tmux.shows(f"{SHOWN['title']} {SHOWN['clear']}", "Queue depth")
        title = tmux.tmux("display", "-p", "-t", "t", "#{pane_title}").strip()
        assert title == f"jobtui · HEALTHY · {server.url.removeprefix('http://')}"
        tmux.send("3")
        tmux.shows("\\x1b[2Jclear", SHOWN["clear"])
        tmux.send("Enter")
        text = tmux.shows("Job \\x1b[2Jjob", SHOWN["title"], "Traceback (most recent call")
        assert "pwned" not in tmux.tmux("display", "-p", "-t", "t", "#{pane_title}")
        assert tmux.tmux("display", "-p", "-t", "t", "#{pane_title}").strip() == title
        assert "Traceback" in text and "Error" in text  # the detail, drawn whole
        tmux.send("Escape")
        wait_for(lambda: "Job \\x1b" not in tmux.screen(), 10, 0.1)
        tmux.send("q")
        wait_for(lambda: not tmux.running(), 10, 0.1)
    finally:
        tmux.kill()


async def test_a_log_path_from_the_config_is_shown_literally(server, tmp_path: Path):
    missing = tmp_path / f"logs[/]{CLEAR}.log"  # a name from the config file, no file yet
    app = hostile_app(server, config=Config(raw={"logging": {"agent_log": str(missing)}}))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await first_answer(pilot)
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LogViewScreen), what="log view")
        shown = f"logs[/]{SHOWN['clear']}.log"
        await shows(pilot, f"Agent log {tmp_path}/{shown}", f"No log file at {tmp_path}/{shown}")
        clean(app)
