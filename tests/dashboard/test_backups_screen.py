"""The Backups screen (B) against the real agent: list, back up, restore, prune, read-only."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text
from textual.command import CommandPalette
from textual.widgets import Button, DataTable, Input, Static

from jobtui.config import DashboardConfig
from jobtui.dashboard.backups import BackupsScreen, PruneScreen, RestoreScreen
from jobtui.dashboard.confirm import ConfirmScreen
from tests.dashboard.conftest import SIZE, make_app, noted, screen, shows, until
from tests.support import Canned, add_job

ADMIN = {"JOBTUI_ADMIN_TOKEN": "admin-secret", "JOBTUI_READ_TOKEN": "read-secret"}


def backup(agent, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.post(f"{agent.url}/api/admin/backups", headers=headers, timeout=10)
    r.raise_for_status()
    return r.json()["name"]


def files(agent) -> list[str]:
    if not agent.backups_dir.exists():
        return []
    return sorted(p.name for p in agent.backups_dir.glob("jobs_backup_*") if "meta" not in p.name)


def statuses(agent) -> dict[str, str]:
    with agent.store.read() as conn:
        return dict(conn.execute(text("SELECT id, status FROM background_jobs")).all())


async def open_backups(pilot, *texts: str) -> BackupsScreen:
    await until(pilot, lambda: pilot.app.state.health.value, what="first answer")
    await pilot.press("B")
    await until(pilot, lambda: isinstance(pilot.app.screen, BackupsScreen), what="backups")
    await shows(pilot, *texts)
    return pilot.app.screen


async def open_restore(pilot, *texts: str) -> RestoreScreen:
    """Enter on the selected backup: the restore dialog, once it shows ``texts``."""
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, RestoreScreen), what="restore dialog")
    await shows(pilot, *texts)
    return pilot.app.screen


async def keys_do_nothing(pilot, backups_screen: BackupsScreen, *keys: str) -> None:
    """Press ``keys``, then open the palette (a key of its own: ctrl+p is a priority binding,
    taken before keys still on their way). Once it shows, none started an action, and
    read-only was said once, not for every key."""
    await pilot.press(*keys)
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette), what="palette")
    assert pilot.app.screen_stack[-2] is backups_screen
    assert backups_screen.busy is None
    assert len([n for n in pilot.app.notes if n.startswith("Disabled: read-only")]) == 1


async def test_lists_backups_with_a_checksum_column_and_esc_closes(agent):
    for _ in range(3):
        add_job(agent.store, status="pending")
    good = backup(agent)
    bad = backup(agent)
    path = agent.backups_dir / bad
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await open_backups(pilot, good, bad, "Checksum", "✓ ok", "✗ corrupt", "1 corrupt")
        text_ = screen(app)
        assert "2 backups" in text_
        row = next(line for line in text_.splitlines() if good in line)
        assert "3" in row.split(good)[1]  # its job count
        # the corrupt one is the newest, under the cursor: why it does not verify
        await shows(pilot, f"✗ {bad} does not verify", "checksum mismatch")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, BackupsScreen), what="closed")
        assert app.active_tab == "overview"


async def test_back_up_from_the_screen_asks_then_the_list_grows(agent):
    add_job(agent.store, status="pending")
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await open_backups(pilot, "0 backups", "There is no backup yet")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        await shows(pilot, "Back up the jobs table on test?")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, BackupsScreen), what="back")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        await pilot.press("y")
        message = await noted(pilot, "Backup jobs_backup_")
        assert "1 jobs" in message
        [name] = files(agent)  # the first answer, no, made none
        await shows(pilot, "1 backup ", name, "✓ ok")


async def test_restore_shows_a_dry_run_and_needs_the_name_typed(agent):
    ids = [add_job(agent.store, status="pending") for _ in range(4)]
    name = backup(agent)
    with agent.store.write() as conn:
        conn.execute(
            text("UPDATE background_jobs SET status = 'failed' WHERE id = :i"), {"i": ids[0]}
        )
        conn.execute(text("DELETE FROM background_jobs WHERE id = :i"), {"i": ids[1]})
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await open_backups(pilot, name)
        dry_run = "Dry run: it would insert 1 and update 3 of 4 jobs; nothing was written"
        dialog = await open_restore(pilot, dry_run)
        restore = dialog.query_one("#yes", Button)
        assert restore.disabled
        # enter without the name, then a wrong name: refused, nothing written
        refused = f"Type {name} exactly to restore it."  # said in the dialog, not a toast
        prompt = dialog.query_one("#restore-prompt", Static)
        await pilot.press("enter")
        await shows(pilot, refused)
        prompt.update("")
        await pilot.press(*"jobs_backup")
        await pilot.press("enter")
        await shows(pilot, refused)
        assert app.screen is dialog and restore.disabled and refused not in app.notes
        assert ids[1] not in statuses(agent)
        dialog.query_one("#restore-name", Input).value = ""
        await pilot.press(*name)
        await until(pilot, lambda: not restore.disabled, what="Restore enabled")
        await pilot.press("enter")
        await noted(pilot, f"Restored {name}: 1 inserted, 3 updated (4 jobs).")
        assert {statuses(agent)[i] for i in ids} == {"pending"}
        assert isinstance(app.screen, BackupsScreen)


async def test_restore_of_a_corrupt_backup_cannot_be_confirmed(agent):
    add_job(agent.store, status="pending")
    name = backup(agent)
    path = agent.backups_dir / name
    path.write_bytes(path.read_bytes()[:-20])
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await open_backups(pilot, "✗ corrupt")
        dialog = await open_restore(pilot, "The dry run failed", "checksum mismatch")
        await pilot.press(*name, "enter")
        await shows(pilot, "Wait for the dry run to succeed first.")
        assert app.screen is dialog and dialog.query_one("#yes", Button).disabled
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, BackupsScreen), what="back")


async def test_prune_asks_for_days_seven_by_default_and_reports(agent):
    add_job(agent.store, status="pending")
    names = [backup(agent) for _ in range(3)]
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await open_backups(pilot, "3 backups")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, PruneScreen), what="prune dialog")
        await shows(pilot, "older than how many days?")
        days = app.screen.query_one("#prune-days", Input)
        assert days.value == "7"
        await shows(pilot, "By the list: 0 of 3 backup(s) are older than 7 days")
        await pilot.press("backspace", "x", "0")  # letters are not taken
        assert days.value == "0"
        await shows(pilot, "By the list: 2 of 3 backup(s) are older than 0 days")
        await pilot.press("enter")
        await noted(pilot, "Pruned 2 backups older than 0 days; kept 1.")
        assert files(agent) == [names[-1]]
        await shows(pilot, "1 backup ")
        # Esc answers no
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, PruneScreen), what="prune dialog")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, BackupsScreen), what="back")
        assert files(agent) == [names[-1]]


async def test_read_only_lists_but_every_action_is_disabled(agent):
    add_job(agent.store, status="pending")
    name = backup(agent)
    app = make_app(agent.url, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "READ-ONLY")
        backups_screen = await open_backups(pilot, name)
        for action in ("backup", "restore", "prune"):
            assert backups_screen.check_action(action, ()) is None  # dimmed in the footer
        assert backups_screen.check_action("reload", ()) is True
        await keys_do_nothing(pilot, backups_screen, "b", "enter", "x")
        # the palette's way in is blocked too, and says why
        await pilot.press(*"Prune (B")
        await shows(pilot, "Delete backups older than N days")
        await pilot.press("enter")
        await noted(pilot, "Disabled: read-only (started with --read-only).")
        assert app.screen is backups_screen
        assert files(agent) == [name]


async def test_a_read_token_is_read_only_and_cannot_list(agent_factory):
    agent = agent_factory(env=ADMIN)
    app = make_app(agent.url, token="read-secret")
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "READ-ONLY", "the admin check said")
        backups_screen = await open_backups(pilot, "this needs the admin token")
        assert backups_screen.check_action("backup", ()) is None
        await keys_do_nothing(pilot, backups_screen, "b")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is backups_screen, what="palette closed")
        assert "read-secret" not in screen(app)
    admin = make_app(agent.url, token="admin-secret")
    async with admin.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: admin.state.admin.value, what="admin check")
        await open_backups(pilot, "0 backups")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(admin.screen, ConfirmScreen), what="confirmation")
        await shows(pilot, "Back up (y)", "No (n)")


async def test_a_seed_server_says_not_provided(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        backups_screen = await open_backups(pilot, "not provided by this server")
        assert "✖" not in screen(app)
        assert not backups_screen.query_one("#backups-table", DataTable).display
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, BackupsScreen), what="closed")
        assert not [r for r in seed_server.requests if r[0] == "POST"]


async def test_the_palette_offers_the_screen_keys_while_it_is_shown(agent):
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        backups_screen = await open_backups(pilot, "0 backups")
        titles = {c.title for c in app.get_system_commands(backups_screen)}
        for label in ("Back up", "Restore", "Prune", "Refresh"):
            assert f"{label} (Backups screen)" in titles
        main = {c.title for c in app.get_system_commands(app.main)}
        assert "Backups" in main and "Prune (Backups screen)" not in main
        await pilot.press("ctrl+p")
        await pilot.press(*"Prune (B")
        await shows(pilot, "Delete backups older than N days")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PruneScreen), what="prune dialog")


async def test_restore_kicks_the_dashboard(agent):
    ids = [add_job(agent.store, status="pending", created=timedelta(minutes=1)) for _ in range(2)]
    name = backup(agent)
    with agent.store.write() as conn:
        conn.execute(text("DELETE FROM background_jobs"))
    slow = DashboardConfig(health_interval=3600, metrics_interval=3600)  # only a kick asks again
    app = make_app(agent.url, settings=slow)

    def queue_depth() -> int | None:
        health = app.state.health.value  # None until the first answer
        return None if health is None else health.metrics.queue_depth

    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: queue_depth() == 0, what="empty")
        await open_backups(pilot, name)
        await open_restore(pilot, "it would insert 2 and update 0")
        await pilot.press(*name, "enter")
        await noted(pilot, "Restored")
        await until(pilot, lambda: queue_depth() == 2, what="queue of 2")
        assert set(statuses(agent)) == set(ids)


NAME = "jobs_backup_2026-11-29T02-00-00.000Z.json"


def canned_backups(server, delay: float = 0.0, dry_run: bool = True) -> None:
    """One backup on the seed server; its restore (dry run or not) answers after ``delay``."""
    listing = {"backups": [{"name": NAME, "createdAt": "2026-11-29T02:00:00.000Z", "size": 10}]}
    server.set("GET", "/api/admin/backups", Canned(body=listing))
    answer = {"name": NAME, "jobs": 4, "inserted": 1, "updated": 3, "dryRun": dry_run}
    server.set("POST", f"/api/admin/backups/{NAME}/restore", Canned(body=answer, delay=delay))


def restores(server) -> list[str]:
    return [path for method, path, _ in server.requests if method == "POST" and "restore" in path]


async def test_enter_twice_in_the_restore_dialog_restores_once(seed_server):
    canned_backups(seed_server)
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        backups_screen = await open_backups(pilot, NAME)
        dialog = await open_restore(pilot, "it would insert 1 and update 3")
        field = dialog.query_one("#restore-name", Input)
        field.value = NAME
        field.post_message(Input.Submitted(field, NAME))
        field.post_message(Input.Submitted(field, NAME))
        await noted(pilot, f"Restored {NAME}")
        assert app.screen is backups_screen
        assert len(restores(seed_server)) == 2  # the dry run and one restore


async def test_keys_while_a_restore_runs_neither_drop_nor_repeat_it(seed_server):
    canned_backups(seed_server, delay=1.5)  # the keys below are pressed in that time
    app = make_app(seed_server.url, timeout=5)
    async with app.run_test(size=SIZE) as pilot:
        backups_screen = await open_backups(pilot, NAME)
        await open_restore(pilot, "it would insert 1 and update 3")
        await pilot.press(*NAME, "enter")
        await until(pilot, lambda: app.screen is backups_screen, what="back")
        await pilot.press("enter", "b", "x")
        running = f"Restore {NAME} is still running."
        await until(pilot, lambda: app.notes.count(running) == 3, what="three refusals")
        assert app.screen is backups_screen
        await noted(pilot, f"Restored {NAME}")
        assert len(restores(seed_server)) == 2


async def test_a_restore_says_how_it_ended_after_the_screen_closed(seed_server):
    canned_backups(seed_server, delay=1.0)  # closed while the restore is on the server
    app = make_app(seed_server.url, timeout=5)
    async with app.run_test(size=SIZE) as pilot:
        await open_backups(pilot, NAME)
        await open_restore(pilot, "it would insert 1 and update 3")
        await pilot.press(*NAME, "enter", "escape")
        await until(pilot, lambda: app.screen is app.main, what="closed")
        await noted(pilot, f"Restored {NAME}: 1 inserted, 3 updated (4 jobs).")
        assert len(restores(seed_server)) == 2


async def test_a_server_that_ignores_dry_run_is_said_and_restore_stays_off(seed_server):
    canned_backups(seed_server, dry_run=False)
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await open_backups(pilot, NAME)
        dialog = await open_restore(pilot, "The server restored it instead of a dry run")
        assert "nothing was written" not in screen(app)
        await pilot.press(*NAME, "enter")
        await shows(pilot, "Wait for the dry run to succeed first.")
        assert app.screen is dialog and dialog.query_one("#yes", Button).disabled
        assert len(restores(seed_server)) == 1
