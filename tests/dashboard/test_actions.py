"""Actions that change the server: each confirmed first, each disabled when read-only."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from jobtui.dashboard.backups import BackupsScreen
from jobtui.dashboard.confirm import ConfirmScreen
from jobtui.dashboard.detail import JobDetailScreen
from jobtui.errors import ReadOnly
from tests.dashboard.conftest import SIZE, make_app, noted, screen, shows, until
from tests.support import Canned, add_job, add_stuck, free_port


def statuses(agent) -> dict[str, str]:
    with agent.store.read() as conn:
        return dict(conn.execute(text("SELECT id, status FROM background_jobs")).all())


def posts(server) -> list[str]:
    return [r[1] for r in server.requests if r[0] == "POST"]


def add_finished(agent, status: str, error: str | None = None, *, attempts: int) -> str:
    """A job that ran a minute, two minutes ago."""
    return add_job(
        agent.store,
        status=status,
        error=error,
        created=timedelta(minutes=3),
        started=timedelta(minutes=3),
        finished=timedelta(minutes=2),
        attempts=attempts,
    )


async def confirm_shown(pilot) -> str:
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), what="confirmation")
    return await shows(pilot, "(y)", "No (n)")


async def test_recover_stuck_says_how_many_and_how_many_were(agent):
    stuck = add_stuck(agent.store, 3)
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "3 stuck")
        await pilot.press("R")
        text = await confirm_shown(pilot)
        assert "Reset 3 stuck job(s) on test to pending?" in text
        await pilot.press("y")
        await noted(pilot, "Recovered 3 stuck job(s).")
        assert {statuses(agent)[i] for i in stuck} == {"pending"}
        await shows(pilot, "0 — none stuck")


async def test_recover_stuck_answered_no_changes_nothing_then_a_backup(agent):
    stuck = add_stuck(agent.store, 2)
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "2 stuck")
        await pilot.press("R")
        await confirm_shown(pilot)
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="closed")
        await pilot.pause(0.3)
        assert {statuses(agent)[i] for i in stuck} == {"processing"}
        assert not [n for n in app.notes if "Recovered" in n]
        # our agent provides backups: b asks, then makes one
        await pilot.press("b")
        text = await confirm_shown(pilot)
        assert "Back up the jobs table on test?" in text
        await pilot.press("y")
        message = await noted(pilot, "Backup ")
        assert "2 jobs" in message


async def test_recover_on_a_seed_server_offers_its_system_recovery(seed_server):
    seed_server.set_stuck(4)
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "4 stuck")
        await pilot.press("R")
        text = await confirm_shown(pilot)
        assert "Reset 4 stuck job(s)" in text
        await pilot.press("y")
        await until(pilot, lambda: "System recovery" in screen(app), what="second question")
        text = await confirm_shown(pilot)
        assert "does not provide recover-stuck" in text
        assert "/api/admin/recovery" not in posts(seed_server)
        await pilot.press("y")  # its outcome, in the recovery's view
        await shows(pilot, "Done: the server reports success (it does not list its steps).")
        assert posts(seed_server) == ["/api/admin/recover-stuck", "/api/admin/recovery"]


async def test_backup_not_provided_says_so_without_asking(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="health")
        await pilot.press("b")
        await noted(pilot, "Backup: GET /api/admin/backups: not provided by this server")
        assert not isinstance(app.screen, ConfirmScreen)
        assert posts(seed_server) == []


async def test_backup_is_confirmed_then_made(seed_server):
    seed_server.set(
        "GET",
        "/api/admin/backups",
        Canned(
            body={
                "backups": [
                    {
                        "name": "jobs-20261128.json",
                        "createdAt": "2026-11-28T03:00:00Z",
                        "size": 2048,
                    }
                ]
            }
        ),
    )
    seed_server.set(
        "POST",
        "/api/admin/backups",
        Canned(body={"name": "jobs-20261129.json", "jobs": 1234, "size": 524288}),
    )
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="health")
        await pilot.press("b")
        text = await confirm_shown(pilot)
        assert "Latest backup: jobs-20261128.json" in text
        await pilot.press("y")
        await noted(pilot, "Backup jobs-20261129.json: 1,234 jobs, 512.0 KB.")
        assert posts(seed_server) == ["/api/admin/backups"]


async def test_retry_and_cancel_from_the_jobs_tab(agent):
    failed = add_finished(agent, "failed", "Network request failed", attempts=3)
    pending = add_job(agent.store, status="pending", created=timedelta(minutes=1))
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await shows(pilot, failed[:8], pending[:8])
        await pilot.press("f")  # failed only: the failed job is the one selected
        await until(pilot, lambda: pending[:8] not in screen(app), what="failed only")
        await pilot.press("e")
        text = await confirm_shown(pilot)
        assert f"Retry job {failed}?" in text
        await pilot.press("y")
        await noted(pilot, f"Job {failed} is now pending.")
        assert statuses(agent)[failed] == "pending"
        await pilot.press("a", "slash")  # all, then the other job by id
        await until(pilot, lambda: app.focused is not None and app.focused.id == "jobs-search",
                    what="the search box")  # fmt: skip
        await pilot.press(*pending, "enter")
        await until(
            pilot,
            lambda: (j := app.view("jobs").selected()) is not None and j.id == pending,
            what="the pending job selected",
        )
        await pilot.press("c")
        text = await confirm_shown(pilot)
        assert f"Cancel job {pending}?" in text
        await pilot.press("y")
        await noted(pilot, f"Job {pending} is now cancelled.")
        assert statuses(agent)[pending] == "cancelled"


async def test_only_what_the_status_allows_is_offered(agent):
    done = add_finished(agent, "completed", attempts=1)
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await shows(pilot, done[:8])
        view = app.view("jobs")
        await until(pilot, lambda: view.selected() is not None, what="the job selected")
        for action in ("retry", "cancel_job"):
            assert view.check_action(action, ()) is None  # dimmed in the footer
        await pilot.press("e", "e")
        await noted(
            pilot, f"Job {done[:8]} is completed: only failed or cancelled jobs can be retried."
        )
        await pilot.press("c")
        await noted(pilot, "only pending or processing jobs can be cancelled")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        await pilot.press("e", "c")
        await pilot.pause(0.2)
        assert app.screen.check_action("retry", ()) is None
        assert not any(isinstance(s, ConfirmScreen) for s in app.screen_stack)
        assert len([n for n in app.notes if "can be retried" in n]) == 1  # said once
        assert statuses(agent)[done] == "completed"


def canned_job(job_id: str, status: str, **extra: object) -> dict[str, object]:
    stamp = "2026-11-29T03:00:00.000Z"
    return {"id": job_id, "type": "story_generation", "status": status, "progress": 100,
            "message": None, "error": None, "attempts": 1, "maxAttempts": 3,
            "createdAt": stamp, "updatedAt": stamp, **extra}  # fmt: skip


async def test_the_servers_actions_decide_and_a_refusal_is_one_line(seed_server):
    offered = canned_job("job-offered", "completed", actions=["retry"])
    withheld = canned_job("job-withheld", "failed", actions=[])
    seed_server.set("GET", "/api/jobs", Canned(body={"jobs": [offered, withheld]}))
    seed_server.set("GET", "/api/jobs/job-offered", Canned(body=offered))
    seed_server.set(
        "POST",
        "/api/jobs/job-offered/retry",
        Canned(409, {"error": "job job-offered is completed; only failed jobs can be retried"}),
    )
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await shows(pilot, "job…ered", "job…held")  # ids cut in the middle, their ends kept
        await pilot.press("down")  # the failed job whose server offers nothing
        await until(pilot, lambda: app.view("jobs").selected().id == "job-withheld", what="moved")
        await pilot.press("e")
        await noted(pilot, "the server offers nothing for it, not retry")
        await pilot.press("up", "e")  # completed, yet offered by its server
        await confirm_shown(pilot)
        await pilot.press("y")
        message = await noted(pilot, "409")
        assert "only" in message and "\n" not in message
        assert posts(seed_server) == ["/api/jobs/job-offered/retry"]


async def test_retry_from_the_job_detail(agent):
    failed = add_finished(
        agent,
        "failed",
        "Out of memory: worker heap limit reached\nat Worker.run (worker.js:42)",
        attempts=3,
    )
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await shows(pilot, failed[:8])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        await shows(pilot, failed, "at Worker.run (worker.js:42)", "3 of 3", "Completed")
        await pilot.press("e")
        await confirm_shown(pilot)
        await pilot.press("y")
        await noted(pilot, "is now pending")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail again")
        await shows(pilot, "pending")
        detail = app.screen  # its keys follow the job it shows now: pending, so cancel only
        assert (detail.check_action("retry", ()), detail.check_action("cancel_job", ())) == (
            None,
            True,
        )
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, JobDetailScreen), what="closed")


async def test_read_only_disables_every_action(agent):
    stuck = add_stuck(agent.store, 1)
    app = make_app(agent.url, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "1 stuck", "READ-ONLY", "read-only: started with --read-only")
        for key in ("R", "b"):
            await pilot.press(key)
        await pilot.press("3")
        await shows(pilot, stuck[0][:8])
        for key in ("e", "c"):
            await pilot.press(key)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        for key in ("e", "c"):
            await pilot.press(key)
        await pilot.pause(0.2)
        assert not any(isinstance(s, ConfirmScreen) for s in app.screen_stack)
        assert statuses(agent)[stuck[0]] == "processing"
        for action in ("recover_stuck", "backup"):
            assert app.check_action(action, ()) is None  # dimmed in the footer
        for action in ("retry", "cancel_job"):
            assert app.view("jobs").check_action(action, ()) is None


async def test_read_only_is_kept_by_the_client_too(agent):
    """Under --read-only the keys are off, and the client they would use refuses every write
    itself: a path around the gates (a key bound by a later change) still changes nothing."""
    stuck = add_stuck(agent.store, 1)
    app = make_app(agent.url, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "1 stuck")
        for write in (lambda c: c.recover_stuck(), lambda c: c.create_backup()):
            with pytest.raises(ReadOnly):
                await app.request(write)
        assert (await app.request(lambda c: c.health())).status in (200, 503)  # reads still go
    assert statuses(agent)[stuck[0]] == "processing"
    assert not list(agent.backups_dir.glob("*"))


async def test_an_unauthorized_admin_check_makes_it_read_only(agent_factory):
    agent = agent_factory(
        env={"JOBTUI_ADMIN_TOKEN": "admin-secret", "JOBTUI_READ_TOKEN": "read-secret"}
    )
    add_stuck(agent.store, 1)
    app = make_app(agent.url, token="read-secret")
    async with app.run_test(size=SIZE) as pilot:
        text = await shows(
            pilot, "READ-ONLY", "the admin check said", "1 stuck", "recovery disabled"
        )
        assert "read-secret" not in text and "admin-secret" not in text
        await pilot.press("R")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen)
    admin = make_app(agent.url, token="admin-secret")
    async with admin.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: admin.state.admin.value, what="admin check")
        assert admin.read_only is None
        await pilot.press("R")
        await confirm_shown(pilot)


async def test_recover_with_nothing_stuck_says_so_without_asking(agent):
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "0 — none stuck")
        assert app.check_action("recover_stuck", ()) is None  # dimmed in the footer
        await pilot.press("R")
        await noted(pilot, "Nothing is stuck")
        assert not isinstance(app.screen, ConfirmScreen)
        add_stuck(agent.store, 2)
        await pilot.press("r")
        await shows(pilot, "2 stuck")
        assert app.check_action("recover_stuck", ()) is True
        await pilot.press("R")
        assert "Reset 2 stuck job(s)" in await confirm_shown(pilot)


async def test_read_only_keys_say_why_once(agent):
    add_stuck(agent.store, 1)
    app = make_app(agent.url, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "1 stuck", "READ-ONLY")
        await pilot.press("R", "b", "R")
        await noted(pilot, "Disabled: read-only (started with --read-only).")
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, BackupsScreen), what="backups")
        await pilot.press("b", "x", "escape")  # keys are taken in order: once it closes,
        await until(pilot, lambda: not isinstance(app.screen, BackupsScreen), what="closed")
        assert len([n for n in app.notes if n.startswith("Disabled")]) == 1  # b and x were
        assert not any(isinstance(s, ConfirmScreen) for s in app.screen_stack)


async def test_the_status_bar_shows_read_only_and_the_connection_error():
    app = make_app(f"http://127.0.0.1:{free_port()}", read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.state.health.error, what="a failed poll")
        status = await shows(pilot, "✖ cannot connect to http", "read-only: started with")
        assert "✖ cannot connect to http" in status.splitlines()[-2]  # one line, both


class Held(Canned):
    """An answer the test server sends only once ``release`` is set."""

    def __init__(self, status: int, body: object) -> None:
        super().__init__(status, body)
        self.release = threading.Event()

    @property  # type: ignore[override]
    def delay(self) -> float:  # read by the server before it answers
        self.release.wait(10)
        return 0.0

    @delay.setter
    def delay(self, value: float) -> None:
        pass


async def test_read_only_arriving_closes_the_question_and_says_why(seed_server):
    seed_server.set("GET", "/api/admin/backups", Canned(body={"backups": []}))
    forbidden = Held(403, {"error": "Forbidden"})
    seed_server.set("GET", "/api/admin/check", forbidden)
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="health")
        await pilot.press("b")
        await confirm_shown(pilot)
        forbidden.release.set()  # the admin check answers while the question is open
        await noted(pilot, "Disabled: read-only (the admin check said:")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="closed")
        await pilot.pause(0.2)
        assert posts(seed_server) == []
        assert app.check_action("backup", ()) is None


async def test_the_detail_follows_its_job_while_open(agent):
    """Was: the detail was read once; a job a worker took on meanwhile still showed pending,
    offered cancel, and the cancel ended in a 409."""
    job = add_job(agent.store, status="pending", created=timedelta(minutes=1))
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await shows(pilot, job[:8])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        detail = app.screen
        await until(pilot, lambda: detail.job.status == "pending", what="pending")
        with agent.store.write() as conn:  # a worker fails it
            conn.execute(
                text("UPDATE background_jobs SET status = 'failed', error = 'boom' WHERE id = :i"),
                {"i": job},
            )
        await until(pilot, lambda: detail.job.status == "failed", what="the detail re-read")
        await shows(pilot, "boom")
        retry, cancel = detail.check_action("retry", ()), detail.check_action("cancel_job", ())
        assert (retry, cancel) == (True, None)  # what the job allows now
