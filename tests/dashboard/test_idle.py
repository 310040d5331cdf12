"""The idle dashboard repaints only what changed: its cost against a floor app (issue 12)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from textual.app import App, ComposeResult

from jobtui.config import Target
from jobtui.contract import Health, decode
from jobtui.dashboard.feeds import HOST_SECONDS, HostFeed
from jobtui.dashboard.format import since, stale_note
from jobtui.dashboard.overview import banner_where
from jobtui.dashboard.state import State, Update
from jobtui.dashboard.widgets import SPARK_SECONDS, Card
from jobtui.host import Host
from tests.dashboard.conftest import SIZE, make_app, shows, until
from tests.support import seed_health

CALM = Host("web-1", 12.0, 4, 41.0, 3_400_000_000, 8_300_000_000, (0.42, 0.35, 0.30))
STEADY = ("#banner", "#banner-head", "#banner-where", "#banner-stale", "#host", "#components")
T0 = datetime(2026, 11, 29, 3, 0, 5, tzinfo=UTC)
TARGET = Target("prod", "http://jobs.internal:8787", None)


def counted(widgets: list[Any]) -> dict[str, int]:
    """Count each widget's repaints from now on."""
    counts = {w.id: 0 for w in widgets}
    for w in widgets:
        original = w.refresh

        def refresh(*args: Any, _w: Any = w, _original: Any = original, **kwargs: Any) -> Any:
            counts[_w.id] += 1
            return _original(*args, **kwargs)

        w.refresh = refresh
    return counts


async def test_a_steady_server_repaints_no_banner_nor_host_between_polls(seed_server):
    """Was: the banner's "updated Ns ago" repainted it every second, and the host panel's
    title was set (a repaint) with every poll, though nothing shown had changed."""
    app = make_app(seed_server.url, host_sampler=lambda: CALM)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "System is healthy", "· live", "CPU")
        polls = app.poller.polls
        await until(pilot, lambda: app.poller.polls > polls + 2, what="polls")  # settled
        counts = counted([app.main.query_one(s) for s in STEADY])
        polls = app.poller.polls
        await until(pilot, lambda: app.poller.polls > polls + 6, what="more polls")
        await pilot.pause(1.1)  # and a tick of the clock
        assert counts == dict.fromkeys(counts, 0)


def health_state(received: datetime, **overrides: Any) -> State:
    state = State(clock=lambda: received)
    answer = decode(Health, seed_health(timestamp="2026-11-29T03:00:04.500Z", **overrides))
    state.apply(Update("health", answer, seconds=0.012))
    return state


def test_the_banner_says_live_while_current_and_moves_nowhere():
    state = health_state(T0)
    lines = {banner_where(state, TARGET, T0 + timedelta(seconds=s), True).plain for s in range(9)}
    assert lines == {"prod · http://jobs.internal:8787 · live"}


def test_a_slow_answer_or_a_server_clock_off_is_shown_while_live():
    state = health_state(T0)
    state.response = 1.46
    assert banner_where(state, TARGET, T0, True).plain.endswith(" · live · slow: response 1.5 s")
    state = health_state(T0 + timedelta(minutes=4, seconds=10))
    assert banner_where(state, TARGET, T0, True).plain.endswith(" · server clock 4 min behind")


def test_an_answer_not_current_shows_its_age_which_moves():
    state = health_state(T0)
    at = [banner_where(state, TARGET, T0 + timedelta(seconds=s), False).plain for s in (5, 6)]
    assert " · updated 5 s ago · response 12 ms · server time 2026-11-29" in at[0]
    assert " · updated 6 s ago · " in at[1]
    later = banner_where(state, TARGET, T0 + timedelta(seconds=74), False).plain
    assert " · updated 1 min 14 s ago · " in later  # as the stale line says it: one style


def test_every_stale_mark_says_its_age_the_same_way():
    assert since(74) == "1 min 14 s ago"
    assert stale_note(74) == "STALE: data from 1 min 14 s ago"


class OneCard(App[None]):
    CSS = "Card { width: 24; height: 6; border: round white; }"

    def compose(self) -> ComposeResult:
        yield Card("Queue depth", id="card")


async def test_a_card_is_not_repainted_when_what_it_draws_is_the_same():
    """Was: a steady figure repainted its card with every poll while the trend buffer
    filled (the raw values changed, the sparkline drawn from them did not)."""
    app = OneCard()
    async with app.run_test(size=(40, 10)) as pilot:
        card = app.query_one(Card)
        card.show("3", "2 free worker slots", [3.0] * 40)  # more values than columns
        await pilot.pause()
        assert "▁" * 22 in str(card.render())
        counts = counted([card])
        for n in range(41, 60):  # steady: the line drawn stays the same
            card.show("3", "2 free worker slots", [3.0] * n)
        assert counts["card"] == 0
        card.show("4", "2 free worker slots", [3.0] * 59 + [4.0])  # a new figure: at once
        assert counts["card"] == 1
        await pilot.pause()
        assert str(card.render()).startswith("4\n")


async def test_a_sparkline_under_the_same_figure_is_redrawn_at_most_every_spark_seconds():
    """A steady value filling the trend buffer lengthens the line by a column per poll:
    the figure is what is current, the line follows within SPARK_SECONDS."""
    app = OneCard()
    now = {"t": 1000.0}
    async with app.run_test(size=(40, 10)) as pilot:
        card = app.query_one(Card)
        card.clock = lambda: now["t"]
        assert SPARK_SECONDS == 10.0  # five polls at 2 s
        card.show("3", "steady", [3.0] * 5)
        await pilot.pause()
        counts = counted([card])
        for n in range(6, 10):  # a poll every 2 s
            now["t"] += 2
            card.show("3", "steady", [3.0] * n)
        assert counts["card"] == 0
        now["t"] += 2  # 10 s after it was drawn
        card.show("3", "steady", [3.0] * 10)
        assert counts["card"] == 1
        await pilot.pause()
        assert "▁" * 10 in str(card.render()) and "▁" * 11 not in str(card.render())


async def test_the_host_is_read_at_most_every_host_seconds():
    """Was: read with every poll, so its CPU figure repainted the host panel every poll."""
    readings: list[Host] = []
    now = {"t": 100.0}

    def sampler() -> Host:
        cpu = None if not readings else 12.0 + len(readings)  # the first has no CPU yet
        readings.append(replace(CALM, cpu_percent=cpu))
        return readings[-1]

    feed = HostFeed(sampler, HOST_SECONDS, clock=lambda: now["t"])
    first = await feed(None)  # type: ignore[arg-type]
    now["t"] += 2
    second = await feed(None)  # type: ignore[arg-type]
    assert first.cpu_percent is None and second.cpu_percent == 13.0  # at once: it measures
    for _ in range(4):
        now["t"] += 2
        assert await feed(None) is second  # type: ignore[arg-type]
    now["t"] += 2
    assert (await feed(None)).cpu_percent == 14.0  # type: ignore[arg-type]
    assert len(readings) == 3
