"""The Overview tab against the real agent and against a seed-only server."""

from __future__ import annotations

from datetime import timedelta

from jobtui.dashboard.overview import OverviewView
from tests.dashboard.conftest import SIZE, make_app, screen, shows, until
from tests.support import Canned, add_job, add_jobs, add_stuck, seed_health


async def test_overview_shows_the_agents_health(agent):
    add_jobs(agent.store, [{"status": "pending", "created": timedelta(minutes=2)}] * 3)
    add_stuck(agent.store, stalled=timedelta(minutes=30))
    add_job(
        agent.store,
        status="failed",
        error="Database connection failed",
        created=timedelta(minutes=5),
        started=timedelta(minutes=5),
        finished=timedelta(minutes=4),
        attempts=3,
    )
    app = make_app(agent.url, name="prod")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="health")
        h = app.state.health.value
        assert h.metrics.queue_depth == 3
        await shows(
            pilot,
            "Queue depth",
            "4 free worker slots",
            "CPU",
            h.status.upper(),
            f"prod · {agent.url} · live",
            "1 stuck",
            " R  reset to pending",
            "System components",
            "Operational settings",
            "Recommendations",
            "Load",
            *(line[:60] for line in h.health.alerts),
        )
        assert app.query_one("#banner").has_class(f"-{h.status}")  # the status colours it


async def test_overview_against_the_seed_server(seed_server):
    seed_server.set(
        "GET",
        "/api/jobs/health",
        Canned(
            body=seed_health(
                status="warning",
                message="High error rate detected",
                health={
                    "alerts": ["High error rate: 12.5%"],
                    "recommendations": ["Investigate failing jobs"],
                    "stuckJobsCount": 0,
                },
                systemStatus={"monitor": True, "manager": False, "config": True},
                operational={"autoProcessingEnabled": False},
            )
        ),
    )
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await shows(
            pilot,
            "High error rate detected",
            "WARNING",
            "High error rate: 12.5%",
            "Investigate failing jobs",
            "Job manager  down",
            "Disabled",
            "mean over 24 h",  # no waitTime from the seed's app
            "jobs finished per hour",  # no lastProcessedAt either
            "0 — none stuck",
        )
        assert app.query_one("#banner").has_class("-warning")


async def test_sparklines_follow_recent_values(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="health")
        for depth in (5, 9, 2):
            seed_server.set(
                "GET",
                "/api/jobs/health",
                Canned(body=seed_health(metrics={"queueDepth": depth})),
            )
            await until(
                pilot,
                lambda d=depth: app.state.health.value.metrics.queue_depth == d,
                what=f"depth {depth}",
            )
        await pilot.pause(0.1)
        card = app.query_one("#card-queue")
        assert card._data[2][-3:] == (5, 9, 2)
        await until(pilot, lambda: "▁" in screen(app) and "█" in screen(app), what="sparkline")


async def test_hidden_overview_is_not_rerendered(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.health.value, what="health")
        await pilot.press("3")
        calls = 0
        view = app.query_one(OverviewView)
        original = view.show

        def counting(*args, **kwargs):
            nonlocal calls
            calls += 1
            original(*args, **kwargs)

        view.show = counting
        polls = app.poller.polls
        await until(pilot, lambda: app.poller.polls > polls + 4, what="more polls")
        assert calls == 0
        assert "overview" in app._dirty
        await pilot.press("1")
        await until(pilot, lambda: calls >= 1, what="the Overview shown again")
        await shows(pilot, "Queue depth")  # painted by the next frame
