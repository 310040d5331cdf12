"""The capacity recommendation on the Overview: from the metrics history and this host."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx

from jobtui.config import Config
from jobtui.contract import PerformanceMetrics, utcnow
from jobtui.dashboard.overview import CAPACITY_REDRAW
from jobtui.host import Host
from tests.dashboard.conftest import FAST, SIZE, make_app, screen, shows, until
from tests.support import Canned, add_jobs, seed_metrics, wait_for

CALM = Host("web-1", 12.0, 4, 41.0, 3_400_000_000, 8_300_000_000, (0.42, 0.35, 0.30))
BUSY = Host("web-1", 97.0, 4, 41.0, 3_400_000_000, 8_300_000_000, (0.42, 0.35, 0.30))


def capacity_panel(app) -> str:
    return str(app.main.query_one("#capacity").render())


async def test_a_deep_queue_in_the_agents_history_says_scale_up(agent):
    """Half an hour of samples with 35 jobs waiting (written as the agent's collector does),
    then the agent's own: the queue is consistently above 30."""
    now = utcnow()
    for i in range(60):
        agent.store.add_sample(
            PerformanceMetrics(now - timedelta(seconds=30 * (60 - i)), 35, 1.0, 100.0, 0.0,
                               0, 20.0, 60, 1440)
        )  # fmt: skip
    add_jobs(agent.store, [{"status": "pending"} for _ in range(35)])

    def sampled() -> bool:
        r = httpx.get(f"{agent.url}/api/monitoring/metrics", params={"latest": "true"})
        return r.status_code == 200 and r.json()["queueDepth"] == 35

    wait_for(sampled, timeout=15)  # the agent samples its figures every second here
    app = make_app(agent.url, host_sampler=lambda: CALM)
    async with app.run_test(size=SIZE) as pilot:
        text = await shows(pilot, "Capacity", "▲ SCALE UP  Queue depth > 30 in ")
        # (the agent may have sampled once before the jobs came: 60 of 61)
        assert re.search(r"▲ Queue depth > 30 in \d+ of \d+ samples over 30 min \(now 35\)", text)
        source = app.main.query_one("#capacity").border_subtitle  # what it is based on
        assert re.match(r"\d+ samples?, newest at \d\d:\d\d:\d\d( \S+)? · host web-1$", source), (
            source
        )
        assert "host web-1" in text


async def test_it_follows_the_host_readings(seed_server):
    host = {"now": CALM}
    app = make_app(seed_server.url, host_sampler=lambda: host["now"])
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "● HOLD  Nothing calls for scaling up; not enough history to scale down")
        assert "? Queue depth trend: not enough history for 30 min" in screen(app)
        host["now"] = BUSY
        await shows(pilot, "▲ SCALE UP (urgent)  CPU 97.0% > 95.0% (critical)")
        assert "▲ CPU 97.0% > 95.0% (critical)" in screen(app)
        host["now"] = CALM
        await shows(pilot, "● HOLD")


async def test_new_host_figures_wait_for_the_redraw_unless_the_verdict_changes(seed_server):
    """The host is read with every poll; a panel of six lines is not redrawn for each."""
    host = {"now": CALM}
    now = {"t": datetime.now(UTC)}
    cfg = Config(raw={"capacity": {"cpu": {"scale_up": 10, "scale_down": 5, "critical": 50}}})
    slow_metrics = replace(FAST, metrics_interval=600.0)  # one history, at the start
    app = make_app(  # a new reading with every poll, as the real sampler's
        seed_server.url,
        host_sampler=lambda: replace(host["now"]),
        clock=lambda: now["t"],
        config=cfg,
        settings=slow_metrics,
    )
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "▲ SCALE UP  CPU 12.0% > 10.0%")
        await until(pilot, lambda: app.state.metrics.value is not None)  # redrawn at once
        await pilot.pause(0.2)
        host["now"] = replace(CALM, cpu_percent=33.0)  # the same verdict, a new figure
        await until(pilot, lambda: "33%" in str(app.main.query_one("#host").render()))
        await pilot.pause(0.3)  # more polls
        assert "CPU 12.0% > 10.0%" in capacity_panel(app)
        await pilot.press("p")  # no more polls: the clock's tick draws what is due
        now["t"] += timedelta(seconds=CAPACITY_REDRAW)
        await shows(pilot, "▲ SCALE UP  CPU 33.0% > 10.0%")
        await pilot.press("p")
        host["now"] = replace(CALM, cpu_percent=70.0)  # a new verdict: at once
        await shows(pilot, "▲ SCALE UP (urgent)  CPU 70.0% > 50.0% (critical)")


async def test_it_follows_the_metrics_history(seed_server):
    app = make_app(seed_server.url, host_sampler=lambda: CALM)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "● HOLD")
        deep = seed_metrics(40)
        for m in deep[-5:]:  # a spike is not "consistently": it rises, not urgent
            m["queueDepth"] = 60
        seed_server.set(
            "GET",
            "/api/monitoring/metrics",
            Canned(body={"count": 40, "timespan": "24 hours", "metrics": deep}),
        )
        await pilot.press("2")  # the Performance tab asks for the history again

        def newest_depth() -> int | None:
            history = app.state.metrics.value  # None until the first answer
            return history.metrics[-1].queue_depth if history and history.metrics else None

        await until(pilot, lambda: newest_depth() == 60, what="the new history")
        await pilot.press("1")
        await shows(pilot, "▲ SCALE UP  Queue depth rising")
        assert "urgent" not in capacity_panel(app)
        for m in deep[-36:]:  # 36 of 40 samples, 35 minutes
            m["queueDepth"] = 60
        await pilot.press("2")
        await until(pilot, lambda: app.state.metrics.value.metrics[-36].queue_depth == 60)
        await pilot.press("1")
        await shows(pilot, "▲ SCALE UP (urgent)  Queue depth > 50 (critical) in 31 of 31 samples")


async def test_a_bad_capacity_section_is_one_line_in_the_panel(seed_server):
    cfg = Config(raw={"capacity": {"cpu": {"scale_up": 99, "critical": 90}}})
    app = make_app(seed_server.url, host_sampler=lambda: CALM, config=cfg)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "capacity: config: capacity.cpu: expected scale_down ≤ scale_up")
        assert "HOLD" not in capacity_panel(app)


async def test_its_thresholds_come_from_the_config(seed_server):
    cfg = Config(raw={"capacity": {"cpu": {"scale_up": 10, "scale_down": 5, "critical": 50}}})
    app = make_app(seed_server.url, host_sampler=lambda: CALM, config=cfg)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "▲ SCALE UP  CPU 12.0% > 10.0%: consider scaling up")
