"""The Jobs tab (pages, filters, search, detail) and the Errors tab (categories, their jobs)."""

from __future__ import annotations

from datetime import timedelta

from jobtui.dashboard.detail import JobDetailScreen
from tests.dashboard.conftest import SIZE, make_app, noted, screen, shows, until
from tests.support import add_jobs


def rows(app) -> int:
    return app.view("jobs").query_one("#jobs-table").row_count


async def test_jobs_are_paged_never_loaded_all(agent):
    ids = add_jobs(
        agent.store,
        [{"status": "pending", "created": timedelta(seconds=i)} for i in range(250)],
    )
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await shows(pilot, "Page 1", "100 jobs", "more: ]", ids[0][:8])
        assert rows(app) == 100
        await pilot.press("right_square_bracket")
        await shows(pilot, "Page 2", ids[100][:8])
        assert ids[0][:8] not in screen(app) and rows(app) == 100
        await pilot.press("right_square_bracket")
        await shows(pilot, "Page 3", "50 jobs", "last page", ids[200][:8])
        await pilot.press("right_square_bracket")
        await noted(pilot, "This is the last page.")
        await pilot.press("left_square_bracket")
        await shows(pilot, "Page 2", ids[100][:8])


async def test_status_keys_and_search(agent):
    add_jobs(
        agent.store,
        [
            {"status": "pending", "type": "email_notification", "created": timedelta(minutes=1)},
            {"status": "processing", "type": "pdf_export", "created": timedelta(minutes=2),
             "started": timedelta(minutes=1), "attempts": 1},
            {"status": "failed", "type": "story_generation", "created": timedelta(minutes=3),
             "started": timedelta(minutes=3), "finished": timedelta(minutes=2),
             "error": "Database connection failed: timeout", "attempts": 3},
            {"status": "failed", "type": "image_generation", "created": timedelta(minutes=4),
             "started": timedelta(minutes=4), "finished": timedelta(minutes=3),
             "error": "Invalid input: prompt is empty", "attempts": 3},
        ],
    )  # fmt: skip
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await shows(pilot, "email_notification", "pdf_export", "story_generation")
        await pilot.press("f")
        await shows(pilot, "Status failed", "story_generation", "image_generation")
        await until(pilot, lambda: rows(app) == 2, what="failed only")
        assert "pdf_export" not in screen(app)
        await pilot.press("s")  # the next status after failed
        await shows(pilot, "Status completed", "No jobs match.")
        await pilot.press("s", "s", "s")  # cancelled → all → pending
        await shows(pilot, "Status pending", "email_notification")
        await until(pilot, lambda: rows(app) == 1, what="pending only")
        await pilot.press("a")
        await until(pilot, lambda: rows(app) == 4, what="all")
        await pilot.press("slash")
        await pilot.press(*"Database", "enter")
        await shows(pilot, "Search “Database”", "story_generation")
        await until(pilot, lambda: rows(app) == 1, what="one match")
        await pilot.press("slash")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "jobs-search",
                    what="the search box")  # fmt: skip
        await pilot.press("escape")  # Esc closes the box, the search stays
        await until(pilot, lambda: app.focused is None or app.focused.id != "jobs-search",
                    what="the box closed")  # fmt: skip
        await shows(pilot, "Search “Database”")
        await pilot.press("a")  # all: every status, no search
        await until(pilot, lambda: rows(app) == 4, what="all again")


async def test_enter_opens_the_job_detail(agent):
    (job_id,) = add_jobs(
        agent.store,
        [
            {
                "status": "failed",
                "type": "audio_narration",
                "created": timedelta(minutes=10),
                "started": timedelta(minutes=9),
                "finished": timedelta(minutes=8),
                "attempts": 2,
                "max_attempts": 3,
                "message": "narrating chapter 3",
                "error": "Network request failed: ECONNRESET\nstack line 1\nstack line 2",
            }
        ],
    )
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await shows(pilot, job_id[:8], "Network request failed: ECONN")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        await shows(
            pilot,
            job_id,
            "audio_narration",
            "2 of 3",
            "narrating chapter 3",
            "stack line 2",
            "Created",
            "Started",
            "Completed",
            "Ran for",
            "1m 0s",
            "Waited",
        )
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, JobDetailScreen), what="closed")


async def test_errors_grouped_most_urgent_first_with_their_jobs(agent):
    def failed(error: str, minutes: int) -> dict:
        return {
            "status": "failed",
            "error": error,
            "created": timedelta(minutes=minutes + 1),
            "started": timedelta(minutes=minutes + 1),
            "finished": timedelta(minutes=minutes),
            "attempts": 3,
        }

    ids = add_jobs(
        agent.store,
        [
            failed("Invalid input: prompt is empty", 1),
            failed("Invalid input: no title", 2),
            failed("Database connection failed: timeout", 3),
            failed("Network request failed: ECONNRESET", 4),
        ],
    )
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        text = await shows(pilot, "Failed jobs in the last 24 h: 4", "Database", "Validation")
        lines = text.splitlines()

        def row(name: str) -> int:  # the first line naming it: its row in the table
            return next(i for i, line in enumerate(lines) if f" {name} " in line)

        rows_ = [row(n) for n in ("Database", "Network", "Validation")]
        assert rows_ == sorted(rows_)  # critical, medium, low
        # the first (most urgent) category's jobs are listed under it
        await shows(pilot, "sample: Database connection failed: timeout", ids[2][:8])
        await pilot.press("down", "down")  # Validation
        await shows(pilot, "sample: Invalid input", ids[0][:8], ids[1][:8])
        await pilot.press("enter")  # into the category's jobs
        await pilot.press("enter")  # a job's detail
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        await shows(pilot, "Invalid input")


async def test_no_failures_is_said_plainly(agent):
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await shows(pilot, "Failed jobs in the last 24 h: 0", "No failed jobs in this period.")


async def test_what_is_typed_after_slash_is_the_search_even_while_the_tab_opens(agent):
    """Was: `/` then `seb` typed just after switching to the Jobs tab ran s (status), e (retry)
    and b (backup): the tab, shown after the `/`, took the focus back to its table before the
    search box's focus landed."""
    add_jobs(agent.store, [{"status": "failed", "type": "pdf_export", "error": "boom"}])
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await shows(pilot, "pdf_export")
        view = app.view("jobs")
        table, box = view.query_one("#jobs-table"), view.query_one("#jobs-search")
        await pilot.press("slash")
        table.focus()  # what the tab's late "shown" step did
        await pilot.pause(0.05)
        await pilot.press(*"seb")
        await until(pilot, lambda: box.value == "seb", what=f"the search typed: {box.value!r}")
        assert box.has_focus and view.query_.status is None
        assert app.screen is app.main  # no question was opened
        view.focus_main()  # the tab shown again while the box is open: the box keeps the keys
        await pilot.pause(0.05)
        assert box.has_focus
        await pilot.press("escape")
        await until(pilot, lambda: not box.display, what="the box closed")
