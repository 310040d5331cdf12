"""SVG snapshots of every tab and dialog at 80×24, 120×40 and 200×50, on fixed data with a
frozen clock and host, each with assertions on what it must show.

Regenerate after an intended change of the look with ``pytest tests/dashboard/test_snapshots.py
--snapshot-update`` and review the SVGs (``snapshot_report.html`` shows the differences).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.widgets import DataTable

from jobtui.client import Client, Timed
from jobtui.config import DashboardConfig, Target
from jobtui.contract import iso
from jobtui.dashboard.app import DashboardApp
from jobtui.dashboard.confirm import ConfirmScreen
from jobtui.dashboard.detail import JobDetailScreen
from jobtui.dashboard.help import HelpScreen
from jobtui.dashboard.overview import OverviewView
from jobtui.dashboard.targets import TargetScreen
from jobtui.host import Host
from tests.dashboard.conftest import screen
from tests.support import Canned, SeedServer, seed_health, seed_metrics

NOW = datetime(2026, 11, 29, 3, 0, 5, tzinfo=UTC)
SIZE = (120, 40)
SIZES = pytest.mark.parametrize(
    "size", [(80, 24), (120, 40), (200, 50)], ids=["80x24", "120x40", "200x50"]
)
FOOTER = ("? Help", "q Quit", "^p palette")  # on every size, under every tab
HOST = Host("web-1", 12.0, 4, 41.0, 3_400_000_000, 8_300_000_000, (0.42, 0.35, 0.30))
SHOWN_URL = "http://jobs.internal:8787"
ONCE = DashboardConfig(health_interval=3600, metrics_interval=3600, jobs_page_size=100)


class FixedTimeClient(Client):
    """The real client, reporting a fixed response time (the one moving figure on screen)."""

    async def health(self) -> Timed[Any]:
        answer = await super().health()
        return Timed(answer.value, 0.012)


def job(n: int, status: str, **extra: Any) -> dict[str, Any]:
    created = NOW - timedelta(minutes=5 * n + 1)
    body: dict[str, Any] = {
        "id": f"{n:08x}-7c1e-4a55-9d3f-2b6e{n:08x}",
        "type": ("story_generation", "image_generation", "pdf_export")[n % 3],
        "status": status,
        "progress": {"completed": 100, "processing": 40}.get(status, 0),
        "message": None,
        "error": None,
        "attempts": 1 if status != "pending" else 0,
        "maxAttempts": 3,
        "createdAt": iso(created),
        "updatedAt": iso(created + timedelta(seconds=50)),
        "startedAt": iso(created + timedelta(seconds=10)) if status != "pending" else None,
        "completedAt": iso(created + timedelta(seconds=50))
        if status in ("completed", "failed")
        else None,
    }
    body.update(extra)
    return body


ERRORS = {
    "Database": "Database connection failed: could not connect to server on port 5432",
    "Rate Limiting": "OpenAI API Error: Rate limit exceeded (429 Too Many Requests)",
    "Validation": "Invalid input: story prompt is empty",
}
JOBS = [
    job(0, "processing"),
    job(1, "pending"),
    job(2, "failed", error=ERRORS["Database"], attempts=3),
    job(3, "completed"),
    job(4, "failed", error=ERRORS["Rate Limiting"], attempts=2),
    job(5, "completed"),
    job(6, "cancelled"),
    job(7, "failed", error=ERRORS["Validation"], attempts=1),
    job(8, "completed"),
]


def serve_fixed_data(server: SeedServer) -> None:
    health = seed_health(
        status="warning",
        message="Queue depth is high",
        timestamp="2026-11-29T03:00:00.000Z",
        metrics={
            "queueDepth": 27,
            "waitTime": 95000,
            "resourceUtilization": 60.0,
            "lastProcessedAt": "2026-11-29T02:59:58.000Z",
        },
        health={
            "alerts": ["WARNING: Queue depth 27 > 20", "WARNING: Stuck jobs 3 > 2"],
            "recommendations": [
                "Increase processing capacity or find what is slow.",
                "Recover stuck jobs (R, or `jobtui recover --stuck-only`).",
            ],
            "stuckJobsCount": 3,
        },
    )
    server.set("GET", "/api/jobs/health", Canned(body=health))
    metrics = seed_metrics(120, start=datetime(2026, 11, 29, 1, 0, tzinfo=UTC))
    server.set(
        "GET",
        "/api/monitoring/metrics",
        Canned(body={"count": 120, "timespan": "24 hours", "metrics": metrics}),
    )
    server.set("GET", "/api/jobs", Canned(body={"jobs": JOBS, "nextCursor": "more"}))
    for j in JOBS:
        server.set("GET", f"/api/jobs/{j['id']}", Canned(body=j))
    categories = [
        {
            "category": "Database",
            "priority": "critical",
            "count": 12,
            "recommendation": "Check database connectivity and credentials",
            "lastSeen": JOBS[2]["completedAt"],
            "sample": ERRORS["Database"],
            "jobIds": [JOBS[2]["id"]],
        },
        {
            "category": "Rate Limiting",
            "priority": "high",
            "count": 7,
            "recommendation": "Implement rate limiting and backoff strategy for OpenAI API calls",
            "lastSeen": JOBS[4]["completedAt"],
            "sample": ERRORS["Rate Limiting"],
            "jobIds": [JOBS[4]["id"]],
        },
        {
            "category": "Validation",
            "priority": "low",
            "count": 2,
            "recommendation": "Improve input validation and user feedback",
            "lastSeen": JOBS[7]["completedAt"],
            "sample": ERRORS["Validation"],
            "jobIds": [JOBS[7]["id"]],
        },
    ]
    server.set(
        "GET",
        "/api/monitoring/errors",
        Canned(body={"hours": 24, "total": 21, "analysed": 21, "categories": categories}),
    )


@pytest.fixture
def fixed(seed_server: SeedServer) -> Iterator[DashboardApp]:
    """The app on fixed answers, a frozen clock and host, in UTC."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    serve_fixed_data(seed_server)
    app = DashboardApp(
        Target("prod", SHOWN_URL),  # on screen; the client talks to the test server
        settings=ONCE,
        timeout=2.0,
        clock=lambda: NOW,
        host_sampler=lambda: HOST,
        client_factory=lambda url, token, **kw: FixedTimeClient(seed_server.url, token, **kw),
    )
    yield app
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


async def settle(pilot: Any, predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        await pilot.pause(0.05)
    assert predicate(), screen(pilot.app)
    await pilot.pause(0.1)


def started(app: DashboardApp) -> bool:
    s = app.state
    return bool(s.health.value and s.host.value and s.metrics.value)


async def showing(pilot: Any, *texts: str, timeout: float = 10.0) -> None:
    """Every one of ``texts`` is on the screen about to be taken (waited for: a footer, for
    one, is built a moment after its screen)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(t in screen(pilot.app) for t in texts):
        await pilot.pause(0.05)
    missing = [t for t in texts if t not in screen(pilot.app)]
    assert not missing, f"not on screen: {missing}\n{screen(pilot.app)}"
    await steady(pilot)


async def steady(pilot: Any, timeout: float = 3.0) -> None:
    """Until the screen's text stays the same over three looks 0.1 s apart: a layout that
    comes after the texts waited for (columns fitted again once the Resize event arrives,
    late on a loaded machine) is in the snapshot, not half in it."""
    deadline = time.monotonic() + timeout
    seen = [screen(pilot.app)]
    while time.monotonic() < deadline and not (len(seen) >= 3 and len(set(seen[-3:])) == 1):
        await pilot.pause(0.1)
        seen.append(screen(pilot.app))


@SIZES
def test_overview(snap_compare, fixed, size):
    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: started(fixed) and "3 stuck" in screen(fixed))
        await showing(
            pilot, "▲ WARNING  Queue depth is high", "▲ WARNING: Stuck jobs 3 > 2", *FOOTER
        )
        await showing(pilot, "Queue depth", "27", "97.5%", "42.0 s", "120 /h", "3 stuck", " R ")
        await showing(pilot, "web-1", "CPU", "Capacity", "HOLD")
        if size != (80, 24):
            await showing(pilot, "System components", "Operational settings", "Load    0.42 0.35")

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)


@SIZES
def test_performance(snap_compare, fixed, size):
    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("2")
        await settle(
            pilot, lambda: "Queue depth over time" in screen(fixed) and "┤" in screen(fixed)
        )
        await showing(pilot, "120 samples over 24 hours", "jobs", "time (UTC)", "0┤", *FOOTER)
        if size == (80, 24):
            await showing(pilot, "v Next chart")  # one chart at a time
        else:
            await settle(pilot, lambda: "jobs/min" in screen(fixed))
            await showing(pilot, "Success vs. error rate", "Processing performance", "100┤")

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)


@SIZES
def test_jobs(snap_compare, fixed, size):
    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("3")
        await settle(pilot, lambda: "pdf_export" in screen(fixed))
        await showing(pilot, "ID", "Type", "Status", "Error", "Database conn", "/ Search", *FOOTER)
        if size != (80, 24):
            await showing(pilot, "Progress", "story_generation")

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)


@SIZES
def test_errors(snap_compare, fixed, size):
    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("4")
        await settle(pilot, lambda: "sample: Database connection failed" in screen(fixed))
        await showing(pilot, "critical", "Database", "12", "Rate Limiting", "00000002", *FOOTER)

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)


@SIZES
def test_job_detail(snap_compare, fixed, size):
    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("3")
        await settle(pilot, lambda: "pdf_export" in screen(fixed))
        await pilot.press("down", "down")  # the footer follows the job under the cursor:
        await settle(pilot, lambda: fixed.view("jobs").query_one(DataTable).cursor_row == 2)
        await pilot.press("enter")  # drawn before the detail covers it
        await settle(
            pilot, lambda: isinstance(fixed.screen, JobDetailScreen) and "5432" in screen(fixed)
        )
        await showing(pilot, JOBS[2]["id"], "failed", "3 of 3", "e Retry", "esc Close")

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)


@SIZES
def test_stale_after_a_failure(snap_compare, fixed, seed_server, size):
    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: started(fixed))
        seed_server.set(
            "GET", "/api/jobs/health", Canned(502, "<html>Bad Gateway</html>", "text/html")
        )
        await pilot.press("r")
        await settle(pilot, lambda: fixed.state.health.stale and "last known" in screen(fixed))
        await showing(pilot, "last known WARNING at", "502", *FOOTER)
        assert fixed.main.query_one(OverviewView).max_scroll_y == 0  # the stale line fits too

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)


@SIZES
def test_recover_confirmation(snap_compare, fixed, size):
    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("R")
        await settle(pilot, lambda: isinstance(fixed.screen, ConfirmScreen))
        await showing(pilot, "Recover stuck jobs", "Reset 3 stuck job(s) on prod", "Recover (y)")

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)


@SIZES
def test_help(snap_compare, fixed, size):
    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("question_mark")
        await settle(pilot, lambda: isinstance(fixed.screen, HelpScreen))
        await settle(pilot, lambda: "Everywhere" in screen(fixed))
        await showing(pilot, "Keys", "Show the Overview tab", "esc to close")

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)


@SIZES
def test_target_picker(snap_compare, fixed, size):
    fixed.targets = {
        "prod": Target("prod", SHOWN_URL),
        "staging": Target("staging", "http://jobs.staging.internal:8787"),
    }

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("t")
        await settle(pilot, lambda: isinstance(fixed.screen, TargetScreen))
        await showing(pilot, "Switch target", "prod", "(current)", "staging", "Enter to switch")

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)
