"""Helpers for the dashboard's Pilot tests: a fast-polling app, waiting, reading the screen."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import textual.app
from textual.pilot import Pilot

from jobtui.config import DashboardConfig, Secret, Target
from jobtui.dashboard.app import DashboardApp
from tests.support import SeedServer

MADE: list[DashboardApp] = []
FAST = DashboardConfig(health_interval=0.5, metrics_interval=1.0, jobs_page_size=100)
SIZE = (120, 40)


def make_app(
    url: str,
    *,
    name: str = "test",
    token: str | None = None,
    settings: DashboardConfig = FAST,
    timeout: float = 2.0,
    **kwargs: Any,
) -> DashboardApp:
    target = Target(name, url, Secret(token) if token else None)
    app = DashboardApp(target, settings=settings, timeout=timeout, **kwargs)
    notes: list[str] = []
    notify = app.notify

    def recording(message: str, **options: Any) -> None:
        notes.append(message)
        notify(message, **options)

    app.notify = recording  # type: ignore[method-assign]
    app.notes = notes  # type: ignore[attr-defined]
    MADE.append(app)
    return app


async def noted(pilot: Pilot[Any], text: str, timeout: float = 10.0) -> str:
    """Wait for a notification (toast) containing ``text``; the whole message."""
    app = pilot.app

    def find() -> str | None:
        return next((n for n in app.notes if text in n), None)  # type: ignore[attr-defined]

    return await until(pilot, find, timeout, f"a notification with {text!r}: {app.notes}")  # type: ignore[attr-defined]


async def until(
    pilot: Pilot[Any], predicate: Callable[[], Any], timeout: float = 10.0, what: str = ""
) -> Any:
    """Let the app run until ``predicate()`` is true (polls arrive from another thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(
        f"timed out waiting for {what or predicate}: screen was\n{screen(pilot.app)}"
    )


def screen(app: DashboardApp | Any) -> str:
    """The plain text on the current screen, line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def shows(pilot: Pilot[Any], *texts: str, timeout: float = 10.0) -> str:
    """Wait until every one of ``texts`` is on screen; the screen's text."""
    try:
        await until(pilot, lambda: all(t in screen(pilot.app) for t in texts), timeout, "text")
    except AssertionError as exc:
        missing = [t for t in texts if t not in screen(pilot.app)]
        raise AssertionError(f"not on screen: {missing}\n{exc}") from None
    return screen(pilot.app)


class QuickSeedServer(SeedServer):
    """The seed-only server, stopping in 0.05 s instead of 0.5 s (``serve_forever`` polls
    for shutdown at that interval): this suite starts one in most tests."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )


@pytest.fixture
def seed_server() -> Iterator[SeedServer]:
    with QuickSeedServer() as server:
        yield server


@pytest.fixture
def database(tmp_path: Path) -> str:
    """The dashboard only speaks HTTP, so one kind of store is enough here (the agent's own
    tests run on PostgreSQL too): SQLite, which keeps this suite fast."""
    return f"sqlite:///{tmp_path / 'jobs.db'}"


@pytest.fixture(autouse=True)
def _quick_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Pilot.press`` waits until the *process* looks idle (CPU time stops advancing), up to
    1 s per key. Our poller and the test servers are threads of this process, so it never
    does: wait one short beat instead. Pilot still waits for the screen's messages."""

    async def beat(min_sleep: float = 0.0, max_sleep: float = 1.0) -> None:
        await asyncio.sleep(0.01)

    monkeypatch.setattr(textual.app, "wait_for_idle", beat)


@pytest.fixture(autouse=True)
def _no_display_errors() -> Iterator[None]:
    """Every app a test made must end without a display error (a bug shown in the status)."""
    MADE.clear()
    yield
    errors = [app.display_error for app in MADE if app.display_error]
    MADE.clear()
    assert not errors, errors
