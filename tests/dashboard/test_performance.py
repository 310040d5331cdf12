"""The Performance tab: timespan keys, summary cards, charts with readable time axes."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest

from jobtui.dashboard.charts import downsample, time_ticks
from tests.dashboard.conftest import SIZE, make_app, shows, until
from tests.support import Canned, seed_metrics


def asked_hours(server) -> list[str]:
    return [r[1].split("hours=")[1] for r in server.requests if "hours=" in r[1]]


async def test_timespan_keys_ask_for_6h_24h_7d(seed_server):
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await shows(pilot, "Timespan:", " 24 hours ", "10 samples over 24 hours")
        for key, hours in (("h", "6"), ("w", "168"), ("d", "24")):
            await pilot.press(key)
            await until(pilot, lambda h=hours: asked_hours(seed_server)[-1] == h, what=hours)


async def test_summary_cards_and_charts(seed_server):
    seed_server.set(
        "GET",
        "/api/monitoring/metrics",
        Canned(body={"count": 120, "timespan": "24 hours", "metrics": seed_metrics(120)}),
    )
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await shows(
            pilot,
            "Average queue depth",
            "3.0",  # mean of i % 7 over 120 samples (2.975)
            "95.0%",
            "36.0 s",  # mean of 30000 + i * 100 ms
            "Queue depth over time",
            "Success vs. error rate",
            "Processing performance",
            "queue depth",
            "jobs/min",
            "avg processing time (s)",
            "time (",
        )


async def test_no_metrics_yet(seed_server):
    seed_server.set(
        "GET",
        "/api/monitoring/metrics",
        Canned(body={"count": 0, "timespan": "24 hours", "metrics": []}),
    )
    app = make_app(seed_server.url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await shows(pilot, "No metrics data available for the selected timespan.")


async def test_metrics_are_polled_only_while_shown(seed_server):
    """Every metrics interval for the charts; for the Overview's capacity panel at most every
    30 s; not at all for the Jobs tab."""
    app = make_app(seed_server.url)  # metrics every second
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.state.metrics.value, what="the first metrics")
        await pilot.pause(2.5)
        assert len(asked_hours(seed_server)) == 1  # the Overview: once, not every second
        await pilot.press("2")
        await until(pilot, lambda: len(asked_hours(seed_server)) >= 3, what="metrics polled")
        await pilot.press("3")
        await pilot.pause(0.3)  # an answer on its way may still land
        asked = len(asked_hours(seed_server))
        await pilot.pause(2.0)
        assert len(asked_hours(seed_server)) == asked  # not while the Jobs tab is shown


def test_downsample_to_the_plot_width():
    xs = list(range(3600))
    ys = [float(i % 10) for i in xs]
    dx, dy = downsample(xs, ys, 100)
    assert len(dx) == len(dy) == 100
    assert dx[0] < dx[-1]
    assert max(downsample(xs, ys, 100, max)[1]) == 9
    assert downsample(xs[:50], ys[:50], 100) == (xs[:50], ys[:50])


@pytest.fixture
def utc():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_time_axis_labels_are_round_local_times(utc):
    t0 = datetime(2026, 11, 29, 3, 7, tzinfo=UTC).timestamp()
    ticks, labels = time_ticks(t0, t0 + 6 * 3600, 100)
    assert labels[:3] == ["04:00", "05:00", "06:00"]
    assert all(t % 3600 == 0 for t in ticks)
    ticks, labels = time_ticks(t0, t0 + 7 * 86400, 100)
    assert labels[0] == "Mon 30" and len(labels) == 7
    ticks, labels = time_ticks(t0, t0 + 24 * 3600, 60)
    assert labels[0] == "06:00" and len(labels) <= 5
