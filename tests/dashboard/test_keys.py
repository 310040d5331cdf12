"""Every key of the registry: tabs, refresh, pause, help, palette, target switch, quit."""

from __future__ import annotations

from dataclasses import replace

from jobtui.config import Target
from jobtui.dashboard import keys
from jobtui.dashboard.help import HelpScreen
from jobtui.dashboard.state import Update
from jobtui.dashboard.targets import TargetScreen
from tests.dashboard.conftest import SIZE, QuickSeedServer, make_app, noted, screen, shows, until
from tests.support import Canned, SeedServer, seed_health


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
    async with app.run_test(size=(120, 60)) as pilot:
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
            if k.scope not in keys.SCREENS:  # a screen's keys: while it is shown
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
    from jobtui.config import DashboardConfig

    return DashboardConfig(health_interval=60, metrics_interval=60)
