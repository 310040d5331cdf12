"""Bulk repair by cause: ``E`` / ``C`` on the Errors and Jobs tabs, against the real agent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from textual.widgets import Static

from jobtui.dashboard.bulk import BulkScreen
from tests.dashboard.conftest import SIZE, make_app, noted, screen, shows, until
from tests.support import Canned, add_job, add_jobs

MIN = timedelta(minutes=1)
RATE = "OpenAI API Error: Rate limit exceeded"


def statuses(agent) -> dict[str, str]:
    with agent.store.read() as conn:
        return dict(conn.execute(text("SELECT id, status FROM background_jobs")).all())


def failures(agent, error: str, n: int, **more) -> list[str]:
    """``n`` failed jobs, the oldest first, one minute apart."""
    specs = [
        {
            "status": "failed",
            "error": error,
            "created": (n - i + 2) * MIN,
            "started": (n - i + 1) * MIN,
            "finished": (n - i) * MIN,
            "attempts": 3,
            **more,
        }
        for i in range(n)
    ]
    return add_jobs(agent.store, specs)


async def tab_shown(pilot, key: str, tab: str) -> None:
    """Show a tab and wait until its view has the focus (its keys then reach it)."""
    app = pilot.app
    await pilot.press(key)

    def focused() -> bool:
        view, widget = app.view(tab), app.focused
        return (
            view is not None and widget is not None and (widget is view or view in widget.ancestors)
        )

    await until(pilot, focused, what=f"the {tab} tab focused")


async def dialog_shown(pilot) -> str:
    """Wait for the dialog; the text of its dry run."""
    await until(pilot, lambda: isinstance(pilot.app.screen, BulkScreen), what="the dialog")
    await shows(pilot, "Dry run:", "Cancel (esc)")
    return str(pilot.app.screen.query_one("#bulk-dry-run", Static).content)


async def test_retry_the_oldest_of_a_category_from_the_errors_tab(agent):
    # the sample's text is shown as it is: markup-like and control characters included
    rate = failures(agent, f"[/] \x1b[2J {RATE}", 12)
    oom = failures(agent, "Out of memory", 2)  # Resources: listed first (critical)
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await tab_shown(pilot, "4", "errors")
        await shows(pilot, "Rate Limiting", "Resources")
        await pilot.press("down")  # Resources, then Rate Limiting
        await until(pilot, lambda: app.view("errors")._current == "Rate Limiting", what="row")
        await pilot.press("E")
        shown = await dialog_shown(pilot)
        assert "On test: Retry every failed job whose error is of the category Rate" in screen(app)
        assert "Dry run: 12 job(s) match; nothing was written yet." in shown
        assert f"{rate[0][:8]}  story_generation  failed  12m ago  [/] \\x1b[2J OpenAI" in shown
        assert rate[10][:8] not in shown and "… and 2 more" in shown  # the first ten
        assert "Retry 12 (enter)" in screen(app)
        await pilot.press("5")
        await shows(pilot, "Retry 5 (enter)")
        await pilot.press("enter")
        await noted(pilot, "Retried 5 of 5 matched job(s).")
        now = statuses(agent)
        assert [now[i] for i in rate] == ["pending"] * 5 + ["failed"] * 7  # the oldest five
        assert {now[i] for i in oom} == {"failed"}
        # the tab is polled again at once: the category counts what is left
        await until(
            pilot,
            lambda: (
                {c.category: c.count for c in app.state.errors.value.categories}.get(
                    "Rate Limiting"
                )
                == 7
            ),
            what="the new count",
        )
        assert "≥" not in screen(app)  # our agent's counts are exact


async def test_cancel_everything_the_search_matches_from_the_jobs_tab(agent):
    pdf = add_jobs(agent.store, [{"status": "pending", "type": "pdf_export"}] * 3)
    other = add_job(agent.store, status="pending", type="story_generation")
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await tab_shown(pilot, "3", "jobs")
        await shows(pilot, pdf[0][:8], other[:8])
        await pilot.press("slash")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "jobs-search",
                    what="the search box")  # fmt: skip
        await pilot.press(*"pdf_", "enter")
        await until(pilot, lambda: other[:8] not in screen(app), what="the search")
        await pilot.press("C")
        shown = await dialog_shown(pilot)
        assert "Cancel every pending or processing job matching “pdf_”?" in screen(app)
        assert "3 job(s) match" in shown
        await pilot.press("enter")
        await noted(pilot, "Cancelled 3 of 3 matched job(s).")
        now = statuses(agent)
        assert {now[i] for i in pdf} == {"cancelled"} and now[other] == "pending"
        await pilot.press("C")  # again: nothing left to cancel, so nothing is asked
        await noted(pilot, "No job matches: nothing to do.")
        assert not isinstance(app.screen, BulkScreen)


async def test_answered_no_changes_nothing(agent):
    rate = failures(agent, RATE, 3)
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await tab_shown(pilot, "4", "errors")
        await shows(pilot, "Rate Limiting")
        await pilot.press("E")
        await dialog_shown(pilot)
        await pilot.press("0")  # not a number of jobs: nothing to do
        await shows(pilot, "Nothing to do")
        await pilot.press("enter")
        await noted(pilot, "N: a number from 1 to 3.")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, BulkScreen), what="closed")
        assert {statuses(agent)[i] for i in rate} == {"failed"}
        assert not [n for n in app.notes if "Retried" in n]


async def test_a_server_without_bulk_says_so_without_asking(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="health")
        await tab_shown(pilot, "3", "jobs")
        await shows(pilot, "not provided by this server")
        await pilot.press("E")
        await noted(pilot, "Retry all: POST /api/jobs/bulk: not provided by this server")
        assert not isinstance(app.screen, BulkScreen)


async def test_skipped_jobs_are_counted_in_the_toast(seed_server):
    job = {"id": "job[/]1", "type": "story[/]gen", "status": "failed", "progress": 0,
           "message": None, "error": "boom \x1b]52;c;aGk=\x07", "attempts": 3, "maxAttempts": 3,
           "createdAt": "2026-12-03T10:00:00Z", "updatedAt": "2026-12-03T10:01:00Z"}  # fmt: skip
    answer = {"matched": 10, "changed": 8, "skipped": 2, "sample": [job]}
    seed_server.set("POST", "/api/jobs/bulk", Canned(body=answer))
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="health")
        await tab_shown(pilot, "3", "jobs")
        await pilot.press("E")
        shown = await dialog_shown(pilot)
        assert "job[/]1  story[/]gen  failed" in shown and "boom \\x1b]52;c;aGk=\\x07" in shown
        await pilot.press("enter")
        await noted(pilot, "Retried 8 of 10 matched job(s); 2 skipped (they changed meanwhile).")
        posts = [r[1] for r in seed_server.requests if r[0] == "POST"]
        assert posts == ["/api/jobs/bulk", "/api/jobs/bulk"]  # the dry run, then the real one


async def test_sampled_category_counts_are_shown_as_at_least(seed_server):
    category = {"category": "Timeout", "priority": "medium", "count": 5000,
                "recommendation": "Increase job timeout"}  # fmt: skip
    report = {"hours": 24, "total": 6000, "analysed": 5000, "categories": [category]}
    seed_server.set("GET", "/api/monitoring/errors", Canned(body=report))
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await tab_shown(pilot, "4", "errors")
        await shows(pilot, "≥ 5,000", "Timeout · ≥ 5,000 failed")


async def test_read_only_disables_bulk(agent):
    rate = failures(agent, RATE, 2)
    app = make_app(agent.url, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await tab_shown(pilot, "4", "errors")
        await shows(pilot, "Rate Limiting", "READ-ONLY")
        await pilot.press("E", "C")
        await tab_shown(pilot, "3", "jobs")
        await shows(pilot, rate[0][:8])
        await pilot.press("E", "C")
        await pilot.pause(0.2)
        assert not any(isinstance(s, BulkScreen) for s in app.screen_stack)
        assert app.view("jobs").check_action("bulk", ()) is None  # dimmed in the footer
        assert app.view("errors").check_action("bulk", ()) is None
        assert {statuses(agent)[i] for i in rate} == {"failed"}
