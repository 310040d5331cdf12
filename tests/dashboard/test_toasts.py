"""Toasts: at most three at once (the newest), and none over a dialog or the help screen —
they wait, and show when it closes."""

from __future__ import annotations

from textual.notifications import Notification, Notify
from textual.widgets._toast import ToastRack

from jobtui.dashboard.confirm import ConfirmScreen
from jobtui.dashboard.detail import JobDetailScreen
from jobtui.dashboard.help import HelpScreen
from jobtui.dashboard.toasts import MAX_TOASTS
from tests.dashboard.conftest import SIZE, make_app, screen, shows, until
from tests.support import Canned, add_job, seed_health


def toasts(app) -> list[str]:
    """The messages of the toasts on the screen on top."""
    return [str(t._notification.message) for t in app.screen.query("Toast")]


async def test_at_most_three_toasts_the_newest(seed_server):
    """Before: five messages stacked five toasts up the screen."""
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: app.state.health.value, what="first answer")
        for i in range(1, 6):
            app.notify(f"message {i}", timeout=60)
        await shows(pilot, "message 5")
        await until(pilot, lambda: len(toasts(app)) == MAX_TOASTS, what="three toasts")
        assert sorted(toasts(app)) == ["message 3", "message 4", "message 5"]
        text = screen(app)
        assert "message 1" not in text and "message 2" not in text


async def test_toasts_wait_while_the_help_or_a_question_is_on_top(seed_server):
    """Before: toasts were drawn over the help screen and over confirmation dialogs."""
    stuck = seed_health(health={"stuckJobsCount": 2})  # so that R asks
    seed_server.set("GET", "/api/jobs/health", Canned(body=stuck))
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: app.state.health.value, what="first answer")
        app.notify("before help", timeout=60)
        await shows(pilot, "before help")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        app.notify("during help", timeout=60)
        await until(pilot, lambda: len(app.waiting) == 2, what="both wait")
        await shows(pilot, "Everywhere")
        assert toasts(app) == []
        text = screen(app)
        assert "before help" not in text and "during help" not in text
        await pilot.press("escape")
        await shows(pilot, "before help", "during help")  # on the dashboard again
        assert not app.waiting
        await pilot.press("R")  # a question
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        app.notify("during a question", timeout=60)
        await shows(pilot, "Recover stuck jobs")
        await until(pilot, lambda: len(app.waiting) == 3, what="all three wait")
        assert toasts(app) == [] and "during a question" not in screen(app)
        await pilot.press("n")
        await shows(pilot, "before help", "during help", "during a question")


async def test_a_toast_while_the_app_closes_is_dropped(seed_server):
    """A toast that arrives once the screens are gone (an action ending as the app quits) was
    a ScreenStackError that ended the run with a traceback."""
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="first answer")
        stack = app._screen_stacks[app._current_mode]
        saved = list(stack)
        stack.clear()  # as while the app closes
        try:
            app._notified(Notify(Notification("late", "", "information", 3)))
        finally:
            stack.extend(saved)
        assert not app.waiting


async def test_a_toast_seen_before_a_dialog_does_not_come_back_after_its_time(seed_server):
    """Was: every held toast started its whole time again when the dialog closed, so a toast
    seen a minute before came back on the next screen."""
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: app.state.health.value, what="first answer")
        app.notify("seen already", timeout=3)
        await shows(pilot, "seen already")
        seen = next(n for n in app._notifications if n.message == "seen already")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await until(pilot, lambda: seen.has_expired, what="its time run out behind the help")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), what="help closed")
        await pilot.pause(0.2)
        assert "seen already" not in toasts(app)


async def test_no_toast_shows_through_a_question_over_the_job_detail(agent):
    """Was: a toast on the job detail (whose toasts show over it) stayed drawn under the
    question asked from it, over the question's border."""
    job = add_job(agent.store, status="failed", error="boom")
    app = make_app(agent.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("3")
        await shows(pilot, job[:8])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="detail")
        detail = app.screen
        app.notify("on the detail", timeout=60)
        await until(pilot, lambda: "on the detail" in toasts(app), what="the toast")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="question")
        await pilot.pause(0.1)
        racks = list(detail.query(ToastRack))
        assert racks and not any(rack.display for rack in racks)  # nothing drawn under it
        await pilot.press("n")
        await until(pilot, lambda: "on the detail" in toasts(app), what="back on the detail")
