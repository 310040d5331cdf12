"""Calm under failure: stale data with its age, one line saying what is wrong, backoff up to
30 s, recovery by itself; a 404 on an optional endpoint is a note, never an error."""

from __future__ import annotations

import asyncio

from jobtui.dashboard.app import DashboardApp
from jobtui.dashboard.overview import OverviewView
from jobtui.dashboard.poller import MAX_BACKOFF, backoff
from jobtui.dashboard.widgets import Text1
from tests.dashboard.conftest import SIZE, make_app, screen, shows, until
from tests.support import Canned, add_job, seed_health

HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"

FAILURES = {  # each: what the server does, what the status line says
    "500": (Canned(500, HTML, "text/html"), "500 Internal Server Error"),
    "html": (Canned(200, HTML, "text/html"), "answered text/html, not JSON"),
    "truncated": (
        Canned(200, '{"status": "healthy", "mess', "application/json"),
        "invalid or truncated JSON",
    ),
    "wrong types": (
        Canned(body=seed_health(metrics={"queueDepth": "lots"})),
        "unexpected answer: Health.metrics.queueDepth: expected a number",
    ),
    "401": (
        Canned(401, {"error": "no token"}),
        "unauthorized (401) on GET /api/jobs/health: set JOBTUI_TOKEN",
    ),
    "403": (Canned(403, HTML, "text/html"), "forbidden (403)"),
    "timeout": (Canned(body=seed_health(), delay=1.0), "no answer within 0.3 s"),
    "503 not the contract": (Canned(503, HTML, "text/html"), "503"),
}


async def test_every_failure_keeps_last_good_data_marked_stale(seed_server):
    """One dashboard through every kind of failure, recovering after each."""
    app = make_app(seed_server.url, timeout=0.3)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "System is healthy", "HEALTHY")
        for i, (name, (canned, message)) in enumerate(FAILURES.items()):
            seed_server.set("GET", "/api/jobs/health", canned)
            # the last good data stays on screen, marked stale, with the error in one line;
            # the top line says what is known now, the old status only as "last known"
            text = await shows(pilot, message, "last known HEALTHY at", "figures below are from")
            assert pill(app) == WORD[name], name
            assert app.terminal_title == f"jobtui · {WORD[name]} · {app.target.address}", name
            feed = app.state.health
            assert feed.value is not None and feed.error is not None, name
            assert "\n" not in feed.error and "Traceback" not in text, name
            assert 0 < feed.retry_in <= MAX_BACKOFF, name
            assert app.query_one("#banner").has_class("-stale"), name
            # the server comes back: the dashboard recovers by itself (after the first
            # failure, `r` skips the rest of the backoff to keep this test short)
            seed_server.set("GET", "/api/jobs/health", Canned(body=seed_health()))
            if i:
                await pilot.press("r")
            await until(pilot, lambda: app.state.health.error is None, what=f"{name} recovery")
            text = await shows(pilot, "System is healthy")
            await until(pilot, lambda: "last known" not in screen(app), what="current again")
            assert pill(app) == "HEALTHY"
            assert not app.query_one("#banner").has_class("-stale"), name


WORD = {
    "500": "BAD ANSWER",
    "html": "BAD ANSWER",
    "truncated": "BAD ANSWER",
    "wrong types": "BAD ANSWER",
    "401": "UNAUTHORIZED",
    "403": "UNAUTHORIZED",
    "timeout": "UNREACHABLE",
    "503 not the contract": "BAD ANSWER",
}


def pill(app: DashboardApp) -> str:
    """The word of the top bar's badge (without READ-ONLY)."""
    text = str(app.main.query_one("#pill", Text1)._shown).replace("READ-ONLY", "")
    return text.strip(" ●▲✖○⏸")


def test_every_failure_has_its_word():
    assert set(WORD) == set(FAILURES)


async def test_a_dead_server_is_never_shown_in_its_last_colour(seed_server):
    """Was: a minute after the agent died the badge still read HEALTHY in green."""
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "System is healthy")
        assert pill(app) == "HEALTHY" and app.query_one("#banner").has_class("-healthy")
        seed_server.close()
        text = await shows(pilot, "UNREACHABLE", "last known HEALTHY at", "cannot connect to")
        assert pill(app) == "UNREACHABLE"
        banner = app.query_one("#banner")
        assert banner.has_class("-critical") and not banner.has_class("-healthy")
        assert "System is healthy" not in text  # the old message is not shown as current
        assert app.query_one(OverviewView).has_class("-stale")  # every figure marked
        assert app.terminal_title.startswith("jobtui · UNREACHABLE · 127.0.0.1:")


async def test_an_answer_older_than_two_polls_is_not_current(seed_server):
    """A server that stops answering without failing (the request hangs) is not healthy."""
    app = make_app(seed_server.url, timeout=30.0)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "System is healthy")
        seed_server.set("GET", "/api/jobs/health", Canned(body=seed_health(), delay=20.0))
        await shows(pilot, "NO ANSWER", "no answer for", "last known HEALTHY at")
        assert pill(app) == "NO ANSWER"
        assert app.query_one("#banner").has_class("-critical")


async def test_the_terminal_title_never_shows_a_password(seed_server):
    url = seed_server.url.replace("http://", "http://ops:hunter2@")
    app = make_app(url)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "System is healthy")
        assert app.terminal_title == f"jobtui · HEALTHY · {seed_server.url[7:]}"
        assert "hunter2" not in screen(app) and "ops:" not in screen(app)


async def test_503_with_the_contracts_shape_is_an_answer(seed_server):
    body = seed_health(status="critical", message="Job store unreachable")
    seed_server.set("GET", "/api/jobs/health", Canned(503, body))
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        text = await shows(pilot, "CRITICAL", "Job store unreachable")
        assert "last known" not in text and pill(app) == "CRITICAL"


async def test_server_down_at_start_then_up(agent_factory, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = make_app(f"http://127.0.0.1:{port}")
    async with app.run_test(size=SIZE) as pilot:
        text = await shows(pilot, "UNREACHABLE", "cannot connect to")
        assert "Connection refused" in text or "connect" in text
        assert app.state.health.retry_in is not None
        agent = await asyncio.to_thread(agent_factory, extra_args=("--port", str(port)))
        app.poller.kick()  # the backoff would get there too, in up to 30 s
        await shows(pilot, "Queue depth", "free worker slots")
        assert app.state.health.error is None
        del agent


async def test_agent_dies_and_comes_back(agent_factory):
    agent = await asyncio.to_thread(agent_factory)
    add_job(agent.store, status="pending")
    port = agent.url.rsplit(":", 1)[1]
    app = make_app(agent.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="health")
        await asyncio.to_thread(agent.kill)
        text = await shows(pilot, "UNREACHABLE", "cannot connect to")
        assert "retry in" in text
        assert "showing data from" in text
        again = await asyncio.to_thread(
            agent_factory, database=agent.database, extra_args=("--port", port)
        )
        app.poller.kick()
        await until(pilot, lambda: app.state.health.error is None, what="recovery")
        assert app.state.health.value.metrics.queue_depth == 1
        del again


def test_backoff_doubles_up_to_30_seconds():
    assert [backoff(5, n) for n in range(1, 6)] == [5, 10, 20, 30, 30]
    assert [backoff(2, n) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]
    assert backoff(60, 1) == 30  # a slow feed never waits more than 30 s after a failure


async def test_optional_endpoints_missing_are_notes_not_errors(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "HEALTHY")
        await pilot.press("3")
        text = await shows(pilot, "Jobs: GET /api/jobs: not provided by this server.")
        await pilot.press("4")
        text = await shows(
            pilot, "Errors: GET /api/monitoring/errors: not provided by this server."
        )
        assert "✖" not in text  # not shown as a failure in the status line
        assert "live" in text


async def test_bad_answers_to_other_feeds_are_one_line_too(seed_server):
    seed_server.set("GET", "/api/monitoring/metrics", Canned(200, "[1, 2", "application/json"))
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        text = await shows(pilot, "metrics: GET /api/monitoring/metrics: invalid or truncated JSON")
        await pilot.press("2")
        text = await shows(pilot, "invalid or truncated JSON", "Timespan")
        assert "Traceback" not in screen(app)
        del text


def test_the_app_does_not_shadow_textuals_own_methods():
    """Textual calls App._flush(stderr=True) while it prints a crash: a method of ours by that
    name hid every traceback behind a TypeError."""
    import inspect

    from textual.app import App

    ours = {  # the app's own methods and its mixins' (actions, tabs, toasts)
        n
        for cls in DashboardApp.__mro__
        if cls.__module__.startswith("jobtui.")
        for n, v in vars(cls).items()
        if inspect.isfunction(v)
    }
    shadowed = {n for n in ours & set(dir(App)) if n.startswith("_") and not n.startswith("__")}
    allowed = {"_print_error_renderables", "_on_tab_pane_focused"}  # overridden on purpose
    assert shadowed <= allowed, shadowed
