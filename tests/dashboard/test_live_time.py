"""Live time: every age and duration moves with the clock's tick, on every tab, page, search
result and screen, without a new answer from the server (polling is paused, the clock fake);
and after an action every list it touches agrees."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import httpx
from textual.widgets import DataTable

from jobtui.contract import utcnow
from jobtui.dashboard.backups import BackupsScreen
from jobtui.dashboard.detail import JobDetailScreen
from jobtui.dashboard.format import span
from tests.dashboard.conftest import FAST, SIZE, make_app, noted, screen, shows, until
from tests.dashboard.test_actions import confirm_shown
from tests.support import add_jobs


class FakeClock:
    """The app's clock: a whole second of the real time, moved only by the test."""

    def __init__(self) -> None:
        self.start = utcnow().replace(microsecond=0)
        self.now = self.start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def paused(pilot) -> None:
    await pilot.press("p")
    await shows(pilot, "⏸ paused")


async def test_jobs_ages_move_on_every_page_and_in_search_results(agent):
    clock = FakeClock()
    running, done, old = add_jobs(
        agent.store,
        [
            {"status": "processing", "created": timedelta(seconds=30),
             "started": timedelta(seconds=0.4), "attempts": 1},
            {"status": "completed", "created": timedelta(seconds=37),
             "started": timedelta(seconds=37), "finished": timedelta(seconds=36.75),
             "attempts": 1},
            {"status": "pending", "created": timedelta(seconds=60)},
        ],
        now=clock.start,
    )  # fmt: skip
    app = make_app(agent.url, clock=clock, settings=replace(FAST, jobs_page_size=2))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await shows(pilot, "Page 1", running[:8], "30s", done[:8], "37s")
        await paused(pilot)
        clock.advance(150)
        await shows(pilot, "3m 0s", "2m 30s", "3m 7s")  # ages, and the running job's duration
        await pilot.press("p", "right_square_bracket")  # page 2
        await shows(pilot, "Page 2", old[:8], "3m 30s")
        await paused(pilot)
        clock.advance(150)
        await shows(pilot, "6m 0s")
        await pilot.press("p", "slash")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "jobs-search",
                    what="the search box")  # fmt: skip
        await pilot.press(*done, "enter")
        await shows(pilot, "Search “", done[:8], "5m 37s")
        await paused(pilot)
        clock.advance(60)
        await shows(pilot, "6m 37s")


async def test_errors_detail_and_backups_ages_move(agent):
    clock = FakeClock()
    (failed,) = add_jobs(
        agent.store,
        [
            {"status": "failed", "error": "Database connection failed: timeout",
             "created": timedelta(seconds=21), "started": timedelta(seconds=21),
             "finished": timedelta(seconds=20), "attempts": 3},
        ],
        now=clock.start,
    )  # fmt: skip
    httpx.post(f"{agent.url}/api/admin/backups", timeout=10).raise_for_status()
    app = make_app(agent.url, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await shows(pilot, "sample: Database connection failed", failed[:8])
        await until(pilot, lambda: screen(app).count("20s ago") == 2, what="last seen, failed")
        await paused(pilot)
        clock.advance(100)  # the category's "Last seen" and its job's "Failed"
        await until(pilot, lambda: screen(app).count("2m 0s ago") == 2, what="both moved")
        await pilot.press("enter", "enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        await shows(pilot, "Completed", "(2m 0s ago)", "Ran for", "1s")
        clock.advance(60)
        await shows(pilot, "(3m 0s ago)", "(3m 1s ago)")  # completed, created
        await pilot.press("escape", "B")
        await until(pilot, lambda: isinstance(app.screen, BackupsScreen), what="backups")
        backups = app.screen
        await until(pilot, lambda: backups.listing is not None, what="the list")
        (b,) = backups.listing.backups
        table = backups.query_one("#backups-table", DataTable)

        def age_shown() -> str:
            return span((clock.now - b.created_at).total_seconds())

        await until(pilot, lambda: table.get_cell(b.name, "age") == age_shown(), what="age")
        clock.advance(600)
        await until(pilot, lambda: table.get_cell(b.name, "age") == age_shown(), what="moved")
        await shows(pilot, f"newest {age_shown()} ago")


async def test_after_a_retry_the_category_and_its_jobs_agree(agent):
    ids = add_jobs(
        agent.store,
        [
            {"status": "failed", "error": "Database connection failed: timeout",
             "created": timedelta(minutes=i + 2), "started": timedelta(minutes=i + 2),
             "finished": timedelta(minutes=i + 1), "attempts": 3}
            for i in range(5)
        ],
    )  # fmt: skip
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await shows(pilot, "· 5 failed", *(i[:8] for i in ids))
        await pilot.press("enter", "enter")  # the category's newest job, in full
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        await shows(pilot, ids[0])
        await pilot.press("e")
        await confirm_shown(pilot)
        await pilot.press("y")
        await noted(pilot, f"Job {ids[0]} is now pending.")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, JobDetailScreen), what="closed")
        text = await shows(pilot, "· 4 failed", *(i[:8] for i in ids[1:]))
        assert ids[0][:8] not in text
        row = next(line for line in text.splitlines() if "Database" in line and "ago" in line)
        assert " 4 " in row  # the category's row says the same as its panel


async def test_the_overview_last_finished_age_moves_with_the_clock(agent):
    clock = FakeClock()
    add_jobs(
        agent.store,
        [{"status": "completed", "created": timedelta(seconds=20),
          "started": timedelta(seconds=10), "finished": timedelta(seconds=5), "attempts": 1}],
        now=clock.start,
    )  # fmt: skip
    app = make_app(agent.url, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "last finished 5s ago")
        await paused(pilot)
        clock.advance(90)
        await shows(pilot, "last finished 1m 35s ago")  # no answer since: the tick moved it


async def test_durations_under_a_second_are_in_ms(agent):
    clock = FakeClock()
    (done,) = add_jobs(
        agent.store,
        [
            {"status": "completed", "created": timedelta(seconds=2),
             "started": timedelta(seconds=1.5), "finished": timedelta(seconds=1.25)},
        ],
        now=clock.start,
    )  # fmt: skip
    app = make_app(agent.url, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        row = next(line for line in (await shows(pilot, done[:8])).splitlines() if done[:8] in line)
        assert "250 ms" in row and "0s " not in row
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        await shows(pilot, "Ran for  250 ms", "Waited  500 ms")
