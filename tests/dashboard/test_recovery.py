"""The seed's System Recovery on its own key (S): confirmed, then each step's result shown as
the server reports it; off when read-only or without the admin token; on the seed's app, its
own endpoint."""

from __future__ import annotations

from jobtui.dashboard.confirm import ConfirmScreen
from jobtui.dashboard.recovery import RecoveryScreen
from tests.dashboard.conftest import SIZE, make_app, noted, screen, shows, until
from tests.dashboard.test_actions import statuses
from tests.support import Canned, add_stuck


def posts(server) -> list[str]:
    return [r[1] for r in server.requests if r[0] == "POST"]


async def confirmed(pilot) -> str:
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), what="confirmation")
    text = await shows(pilot, "Run recovery (y)", "No (n)")
    await pilot.press("y")
    await until(pilot, lambda: isinstance(pilot.app.screen, RecoveryScreen), what="the steps")
    return text


async def finished(pilot, *texts: str) -> str:
    await until(pilot, lambda: pilot.app.screen.done, what="the recovery's answer")
    return await shows(pilot, *texts)


async def test_system_recovery_says_what_it_does_then_each_step(agent):
    stuck = add_stuck(agent.store, 2)
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "2 stuck")
        await pilot.press("S")
        question = await confirmed(pilot)
        assert "Run the system recovery on test?" in question
        for step in ("Pause processing", "Back up the jobs table", "Reset the 2 stuck job(s)",
                     "Resume processing", "R resets stuck jobs only"):  # fmt: skip
            assert step in question
        shown = await finished(
            pilot,
            "Done: all 4 steps succeeded.",
            "ok     pause processing: workers paused",
            "ok     recover stuck jobs: 2 reset to pending, 0 failed",
            "ok     resume processing: workers resumed",
        )
        (backup,) = [p for p in agent.backups_dir.glob("*") if not p.name.endswith(".meta.json")]
        assert f"ok     backup: {backup.name} (2 jobs)" in shown
        assert "FAILED" not in shown
        assert {statuses(agent)[i] for i in stuck} == {"pending"}
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, RecoveryScreen), what="closed")
        await shows(pilot, "0 — none stuck")
        assert not [n for n in app.notes if "recovery" in n.lower()]  # the view said it all


async def test_a_failed_step_is_shown_failed_and_the_others_still_run(agent_factory, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    agent = agent_factory({"agent": {"backups": {"dir": str(blocker / "backups")}}})
    stuck = add_stuck(agent.store, 1)
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "1 stuck")
        await pilot.press("S")
        await confirmed(pilot)
        shown = await finished(
            pilot,
            "FAILED: 1 of 4 steps failed (backup).",
            "FAILED backup: ",
            "ok     recover stuck jobs: 1 reset to pending, 0 failed",
            "ok     resume processing: workers resumed",
        )
        assert "Done" not in shown and "succeeded" not in shown
        assert statuses(agent)[stuck[0]] == "pending"
        assert not [n for n in app.notes if "completed successfully" in n]


async def test_closed_while_running_the_outcome_is_a_toast(seed_server):
    seed_server.set(
        "POST",
        "/api/admin/recovery",
        Canned(500, {"error": "Failed to perform system recovery"}, delay=0.6),
    )
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="health")
        await pilot.press("S")
        await confirmed(pilot)
        await shows(pilot, "Running…")
        await pilot.press("escape")
        message = await noted(pilot, "System recovery failed:")
        assert message.endswith("500 Internal Server Error: Failed to perform system recovery")
        await pilot.press("S")  # it has finished: the key asks again
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked again")


async def test_on_the_seeds_app_its_own_endpoint(seed_server):
    seed_server.set_stuck(3)
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "3 stuck")
        await pilot.press("S")
        assert "Reset the 3 stuck job(s)" in await confirmed(pilot)
        await finished(pilot, "Done: the server reports success (it does not list its steps).")
        assert posts(seed_server) == ["/api/admin/recovery"]  # not recover-stuck first
        seed_server.set(
            "POST", "/api/admin/recovery", Canned(500, "<html>Internal error</html>", "text/html")
        )
        await pilot.press("escape", "S")
        await confirmed(pilot)
        await finished(pilot, "FAILED: POST /api/admin/recovery → 500 Internal Server Error")


async def test_answered_no_sends_nothing(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="health")
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="closed")
        await pilot.pause(0.3)
        assert posts(seed_server) == []
        assert not isinstance(app.screen, RecoveryScreen)


async def test_read_only_disables_it_and_says_why(agent):
    stuck = add_stuck(agent.store, 1)
    app = make_app(agent.url, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "1 stuck", "READ-ONLY")
        assert app.check_action("system_recovery", ()) is None  # dimmed in the footer
        await pilot.press("S")
        await noted(pilot, "Disabled: read-only (started with --read-only).")
        assert not isinstance(app.screen, ConfirmScreen)
    assert statuses(agent)[stuck[0]] == "processing"
    assert not list(agent.backups_dir.glob("*"))


async def test_without_the_admin_token_it_is_disabled(agent_factory):
    agent = agent_factory(
        env={"JOBTUI_ADMIN_TOKEN": "admin-secret", "JOBTUI_READ_TOKEN": "read-secret"}
    )
    stuck = add_stuck(agent.store, 1)
    for token in (None, "read-secret"):
        app = make_app(agent.url, token=token)
        async with app.run_test(size=SIZE) as pilot:
            await shows(pilot, "READ-ONLY", "the admin check said")
            await pilot.press("S")
            message = await noted(pilot, "Disabled: read-only (the admin check said:")
            assert "secret" not in message and "secret" not in screen(app)
            assert not isinstance(app.screen, ConfirmScreen)
    assert statuses(agent)[stuck[0]] == "processing"
    admin = make_app(agent.url, token="admin-secret")
    async with admin.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: admin.state.admin.value, what="admin check")
        await pilot.press("S")
        await confirmed(pilot)
        await finished(pilot, "Done: all 4 steps succeeded.")
    assert statuses(agent)[stuck[0]] == "pending"
