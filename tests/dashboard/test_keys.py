"""Every key of the registry: tabs, refresh, pause, help, palette, target switch, quit; the
keys people expect (ctrl+c, j/k/g/G in every list, a help that scrolls) and the user's keymap."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
from textual.command import CommandPalette
from textual.widgets import DataTable, Input, OptionList, RichLog

from jobtui.config import Config, DashboardConfig, Target
from jobtui.dashboard import keys
from jobtui.dashboard.backups import BackupsScreen
from jobtui.dashboard.confirm import ConfirmScreen
from jobtui.dashboard.detail import JobDetailScreen
from jobtui.dashboard.help import HelpScreen
from jobtui.dashboard.logview import LogViewScreen
from jobtui.dashboard.state import Update
from jobtui.dashboard.targets import TargetScreen
from tests.dashboard.conftest import (
    FAST,
    SIZE,
    QuickSeedServer,
    make_app,
    noted,
    screen,
    shows,
    until,
)
from tests.support import Canned, SeedServer, add_jobs, seed_health


def health_calls(server: SeedServer) -> int:
    return sum(1 for r in server.requests if r[1].startswith("/api/jobs/health"))


async def test_number_keys_switch_tabs_and_the_footer_follows(agent):
    app = make_app(agent.url)
    async with app.run_test(size=(160, 40)) as pilot:
        await shows(pilot, "Queue depth")
        await shows(pilot, "Refresh", "Pause", "Recover stuck", "Backup", "Target", "Help", "Quit")
        for key, tab, marker in (
            ("2", "performance", "Timespan"),
            ("3", "jobs", "Status all"),
            ("3", "jobs", "Cancel job"),  # the Jobs tab's own keys are in the footer too
            ("4", "errors", "Failed jobs in the last 24 h"),
            ("1", "overview", "Queue depth"),
        ):
            await pilot.press(key)
            assert app.active_tab == tab
            await shows(pilot, marker)


async def test_refresh_asks_at_once(seed_server):
    slow = make_app(seed_server.url, settings=_slow())
    async with slow.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: slow.state.health.value, what="first answer")
        before = health_calls(seed_server)
        seed_server.set("GET", "/api/jobs/health", Canned(body=seed_health(message="Fresh")))
        await pilot.press("r")
        await shows(pilot, "Fresh")
        assert health_calls(seed_server) == before + 1


async def test_pause_stops_polling_and_resume_catches_up(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="first answer")
        await pilot.press("p")
        await shows(pilot, "⏸ paused", "PAUSED")
        await pilot.pause(0.3)  # a request in flight may still land
        before = health_calls(seed_server)
        await pilot.pause(0.6)  # three polling intervals
        assert health_calls(seed_server) == before
        await pilot.press("p")
        await until(pilot, lambda: health_calls(seed_server) > before, what="polling again")
        await until(pilot, lambda: "PAUSED" not in screen(app), what="no PAUSED")


async def test_help_lists_every_key_and_q_quits(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=(120, 120)) as pilot:  # all of it at once
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = await shows(pilot, "Everywhere", "Jobs tab")
        for k in keys.KEYS:
            assert k.help in text, k
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")  # and q quits
        await pilot.pause(0.05)
        assert app._exit
    assert app.return_code == 0


async def test_command_palette_offers_every_key(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="first answer")
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        for k in keys.KEYS:
            if k.scope in keys.PALETTE:  # a screen's keys: while it is shown
                assert any(title.startswith(k.label) for title in commands), k
        # from the palette (ctrl+p), a tab's key switches to that tab first
        await pilot.press("ctrl+p")
        await pilot.press(*"7d (Perf")
        await shows(pilot, "Show the last 7 days")
        await pilot.press("enter")
        await until(pilot, lambda: app.active_tab == "performance", what="performance tab")
        await until(
            pilot,
            lambda: any("hours=168" in r[1] for r in seed_server.requests),
            what="7 days asked",
        )
        await shows(pilot, "Timespan")


async def test_switch_target(seed_server):
    with QuickSeedServer() as other:
        other.set("GET", "/api/jobs/health", Canned(body=seed_health(message="Staging is fine")))
        targets = {
            "prod": Target("prod", seed_server.url),
            "staging": Target("staging", other.url),
        }
        app = make_app(seed_server.url, name="prod", targets=targets)
        async with app.run_test(size=SIZE) as pilot:
            await shows(pilot, "System is healthy", f"prod · {seed_server.url}")
            await pilot.press("t")
            await until(pilot, lambda: isinstance(app.screen, TargetScreen), what="targets")
            await shows(pilot, "staging", other.url, "(current)")
            await pilot.press("down", "enter")
            await shows(pilot, "Staging is fine", f"staging · {other.url}")
            assert app.target.name == "staging"
            before = health_calls(seed_server)
            await until(pilot, lambda: health_calls(other) >= 3, what="polling staging")
            assert health_calls(seed_server) <= before + 1  # at most one answer in flight
            # an answer asked of prod before the switch, arriving after it, is not taken
            old = app.state.health.value
            app.poller._deliver(Update("health", replace(old, message="Prod says hello")))
            app.poller._deliver(Update("host", None, error="prod's host", epoch=0))
            await pilot.pause(0.1)
            assert app.state.health.value.message == "Staging is fine"
            assert app.state.host.error is None


async def test_switch_target_with_only_one(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await noted(pilot, "Only one target")
        assert not isinstance(app.screen, TargetScreen)


def _slow():

    return DashboardConfig(health_interval=60, metrics_interval=60)


# ---------------------------------------------------------------------- ctrl+c


def in_jobs(app) -> bool:
    view = app.view("jobs")
    return view is not None and app.focused is not None and view in app.focused.ancestors_with_self


async def test_ctrl_c_quits_from_the_main_screen_and_from_every_dialog(seed_server):
    """Before: Textual's ctrl+c only said "Press ctrl+q to quit"."""
    targets = {"a": Target("a", seed_server.url), "b": Target("b", seed_server.url + "/")}
    seed_server.set(
        "GET", "/api/jobs/health", Canned(body=seed_health(health={"stuckJobsCount": 2}))
    )
    openers = {
        "main screen": ((), lambda app: app.screen is app.main),
        "help": (("question_mark",), lambda app: isinstance(app.screen, HelpScreen)),
        "a question": (("R",), lambda app: isinstance(app.screen, ConfirmScreen)),
        "target picker": (("t",), lambda app: isinstance(app.screen, TargetScreen)),
        "palette": (("ctrl+p",), lambda app: isinstance(app.screen, CommandPalette)),
        "search box": (("3", "slash"), lambda app: isinstance(app.focused, Input)),
        "backups screen": (("B",), lambda app: isinstance(app.screen, BackupsScreen)),
        "log view": (("l",), lambda app: isinstance(app.screen, LogViewScreen)),
    }
    for where, (presses, opened) in openers.items():
        app = make_app(seed_server.url, targets=targets)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda app=app: app.state.health.value, what="first answer")
            for key in presses:
                if key == "slash":  # once the Jobs tab is built and has the focus
                    await until(pilot, lambda app=app: in_jobs(app), what="focus in Jobs")
                await pilot.press(key)
            await until(pilot, lambda app=app, opened=opened: opened(app), what=where)
            await pilot.press("ctrl+c")
            await until(pilot, lambda app=app: app._exit, what=f"quit from the {where}")
        assert app.return_code == 0, where


# ---------------------------------------------------------------------- help


async def test_help_scrolls_by_keys_alone_to_its_last_line_at_80x24(seed_server):
    """Before: ↓, PgDn and j did nothing until Tab was pressed; half the help was out of reach."""
    last = "Command palette: every action above"
    app = make_app(seed_server.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await shows(pilot, "Everywhere", "Show the Overview tab")
        assert last not in screen(app)
        box = app.screen.query_one("#help")
        for key in ("down", "j"):
            before = box.scroll_y
            await pilot.press(key)
            await until(pilot, lambda before=before: box.scroll_y > before, what=f"{key} scrolls")
        await pilot.press("k")
        await until(pilot, lambda: box.scroll_y == 1, what="k scrolls back")
        await pilot.press("G")
        await shows(pilot, last)
        bottom = box.scroll_y
        await pilot.press("pageup")
        await until(pilot, lambda: box.scroll_y < bottom, what="pageup")
        await pilot.press("g")
        await shows(pilot, "Show the Overview tab")
        for _ in range(20):  # page by page, to the end
            await pilot.press("pagedown")
            if last in screen(app):
                break
        await shows(pilot, last)
        await pilot.press("home")
        await until(pilot, lambda: box.scroll_y == 0, what="home")
        await pilot.press("end")
        await until(pilot, lambda: box.scroll_y == box.max_scroll_y > 0, what="end")


async def test_help_scrollbar_sits_outside_its_text(seed_server):
    """Before: the scrollbar was drawn in the text's column, inside the padding."""
    app = make_app(seed_server.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await shows(pilot, "Everywhere")
        box = app.screen.query_one("#help")
        text = app.screen.query_one("#help-keys")
        await until(pilot, lambda: box.show_vertical_scrollbar, what="a scrollbar")
        bar = box.vertical_scrollbar.region
        assert text.region.right <= bar.x  # the text wraps before the bar
        assert bar.right == box.region.right - 1  # against the border: no text beyond it


# ---------------------------------------------------------------------- j/k/g/G


def failed(error: str, minutes: int) -> dict:
    return {
        "status": "failed",
        "error": error,
        "created": timedelta(minutes=minutes + 1),
        "started": timedelta(minutes=minutes + 1),
        "finished": timedelta(minutes=minutes),
        "attempts": 3,
    }


async def moves(pilot, row, last: int) -> None:
    """j/k a line, G to ``last``, g back to 0, where ``row()`` reads the cursor."""
    await until(pilot, lambda: row() == 0, what="first row")
    await pilot.press("j")
    await until(pilot, lambda: row() == 1, what="j: down")
    await pilot.press("k")
    await until(pilot, lambda: row() == 0, what="k: up")
    await pilot.press("G")
    await until(pilot, lambda: row() == last, what="G: last")
    await pilot.press("g")
    await until(pilot, lambda: row() == 0, what="g: first")


async def test_j_k_g_G_move_in_every_table(agent):
    """Before: only the arrows moved in the Jobs, Errors and Backups tables."""
    add_jobs(
        agent.store,
        [
            failed("Database connection failed: timeout", 1),
            failed("Network request failed: ECONNRESET", 2),
            failed("Invalid input: prompt is empty", 3),
            failed("Invalid input: no title", 4),
        ],
    )
    for _ in range(3):
        httpx.post(f"{agent.url}/api/admin/backups", timeout=10).raise_for_status()
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: app.main.query("#jobs-table"), what="jobs table")
        jobs = app.main.query_one("#jobs-table", DataTable)
        await until(pilot, lambda: jobs.row_count == 4 and jobs.has_focus, what="4 jobs")
        await moves(pilot, lambda: jobs.cursor_row, 3)
        await pilot.press("4")
        await shows(pilot, "Failed jobs in the last 24 h: 4", "Validation")
        cats = app.main.query_one("#categories", DataTable)
        await until(pilot, lambda: cats.row_count == 3 and cats.has_focus, what="categories")
        await moves(pilot, lambda: cats.cursor_row, 2)
        await pilot.press("enter")  # into the category's jobs
        cat_jobs = app.main.query_one("#category-jobs", DataTable)
        await until(pilot, lambda: cat_jobs.has_focus, what="the category's jobs")
        await pilot.press("G")  # one job: stays on it
        await until(pilot, lambda: cat_jobs.cursor_row == 0, what="one job")
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, BackupsScreen), what="backups")
        table = app.screen.query_one("#backups-table", DataTable)
        await until(pilot, lambda: table.row_count == 3, what="3 backups")
        await moves(pilot, lambda: table.cursor_row, 2)


async def test_j_k_g_G_move_in_the_target_picker(seed_server):
    targets = {n: Target(n, f"{seed_server.url}/{n}") for n in ("a", "b", "c", "d")}
    app = make_app(seed_server.url, name="a", targets=targets)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TargetScreen), what="targets")
        options = app.screen.query_one(OptionList)
        await moves(pilot, lambda: options.highlighted, 4)  # the current one, then four


async def test_j_k_g_G_scroll_the_log_view(tmp_path: Path, seed_server):
    log = tmp_path / "all.log"
    log.write_text("".join(f"2026-12-03 10:00:{i % 60:02d} INFO line {i}\n" for i in range(200)))
    app = make_app(seed_server.url, config=Config(raw={"logging": {"agent_log": str(log)}}))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LogViewScreen), what="log view")
        view = app.screen.query_one("#log", RichLog)
        head = app.screen.query_one("#log-head")

        def settled() -> bool:  # every line in, the note gone, the log right under the head
            return len(view.lines) == 200 and view.region.y == head.region.bottom

        await until(pilot, lambda: settled() and 0 < view.max_scroll_y == view.scroll_y)
        end = view.max_scroll_y
        assert view.has_focus
        await pilot.press("k")
        await until(pilot, lambda: view.scroll_y == end - 1, what="k: a line up")
        await pilot.press("j")
        await until(pilot, lambda: view.scroll_y == end, what="j: a line down")
        await pilot.press("g")
        await until(pilot, lambda: view.scroll_y == 0, what="g: the top")
        await pilot.press("G")
        await until(pilot, lambda: view.scroll_y == view.max_scroll_y, what="G: the end")


async def test_j_k_g_G_scroll_a_jobs_detail(agent):
    trace = "\n".join(f"  frame {i}" for i in range(60))
    (job,) = add_jobs(agent.store, [{**failed("", 1), "error": trace}])
    app = make_app(agent.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await shows(pilot, job[:8])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        box = app.screen.query_one("#detail")
        await until(pilot, lambda: box.max_scroll_y > 0 and box.has_focus, what="to scroll")
        await pilot.press("j")
        await until(pilot, lambda: box.scroll_y == 1, what="j: a line down")
        await pilot.press("G")
        await shows(pilot, "frame 59")
        await pilot.press("g")
        await until(pilot, lambda: box.scroll_y == 0, what="g: the top")


# ---------------------------------------------------------------------- keymap


def test_every_key_has_an_id_unique_in_its_scope():
    for scope in keys.SCOPES:
        ids = [k.id for k in keys.scoped(scope)]
        assert len(ids) == len(set(ids)), scope
    assert keys.Key("1", "show_tab('jobs')", "", "").id == "show_tab.jobs"
    assert all(k.binding().id == k.id for k in keys.KEYS)
    assert keys.keymap_problem({}) is None  # the registry itself has no clash


async def test_a_keymap_moves_keys_in_the_footer_help_and_palette(seed_server):
    keymap = {"refresh_now": "x", "show_tab.jobs": "J", "help": "f1", "cursor_down": "n"}
    settings = replace(FAST, keymap=keymap)
    app = make_app(seed_server.url, settings=settings)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.state.health.value, what="first answer")
        await shows(pilot, "x Refresh")
        await pilot.press("r")  # no longer refresh
        await pilot.press("x")
        await noted(pilot, "Refreshing…")
        assert app.notes.count("Refreshing…") == 1
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands["Refresh"].endswith("— key x")
        await pilot.press("J")
        await until(pilot, lambda: app.active_tab == "jobs", what="J: the Jobs tab")
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="f1: help")
        text = await shows(pilot, "Poll the server now")
        line = next(ln for ln in text.splitlines() if "Poll the server now" in ln)
        assert line.split()[1] == "x", line
        box = app.screen.query_one("#help")
        await pilot.press("n")  # the list keys move too
        await until(pilot, lambda: box.scroll_y == 1, what="n: a line down")
