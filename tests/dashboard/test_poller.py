"""The poller on its own: never overlapping, backoff, pause, kick, dropped stale answers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from jobtui.config import Target
from jobtui.dashboard.feeds import OVERVIEW_METRICS, make_poller
from jobtui.dashboard.poller import Poller
from jobtui.dashboard.state import Update
from jobtui.errors import NotProvided, Unauthorized, Unreachable, WrongShape, describe
from tests.dashboard.conftest import FAST


class FakeClient:
    """Counts calls and how many run at once; fails while ``fail`` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self.delay = 0.0
        self.fail: Exception | None = None

    async def health(self) -> str:
        self.calls += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.active -= 1
        if self.fail is not None:
            raise self.fail
        return "ok"

    async def aclose(self) -> None:
        pass


class Sink:
    """Woken by the poller, takes its inbox at once: every answer, in order."""

    def __init__(self, poller: Poller) -> None:
        self.poller = poller
        self.updates: list[Update] = []
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.updates.extend(self.poller.take())

    def of(self, feed: str) -> list[Update]:
        with self.lock:
            return [u for u in self.updates if u.feed == feed]


def wait(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.005)
    raise AssertionError("condition not met in time")


@pytest.fixture
def rig():
    client = FakeClient()
    poller = Poller(Target("t", "http://127.0.0.1:9"), client_factory=lambda *a, **k: client)
    sink = Sink(poller)
    yield poller, client, sink
    poller.stop()


def test_a_feed_never_overlaps_itself(rig):
    poller, client, sink = rig
    client.delay = 0.03
    poller.add("health", lambda c: c.health(), 0.001)
    poller.attach(sink)
    poller.start()
    for _ in range(30):  # kicks while a request is in flight must not start another
        poller.kick()
        time.sleep(0.005)
    wait(lambda: client.calls >= 5)
    assert client.max_active == 1


def test_failures_back_off_doubling_and_recover(rig):
    poller, client, sink = rig
    client.fail = Unreachable("cannot connect to http://127.0.0.1:9: Connection refused")
    poller.add("health", lambda c: c.health(), 0.05)
    poller.attach(sink)
    poller.start()
    wait(lambda: len(sink.of("health")) >= 4)
    retries = [u.retry_in for u in sink.of("health")[:4]]
    assert retries == [0.05, 0.1, 0.2, 0.4]
    first = sink.of("health")[0]
    assert first.kind is Unreachable and first.error.startswith("cannot connect")
    client.fail = None
    wait(lambda: sink.of("health")[-1].error is None)
    assert sink.of("health")[-1].value == "ok"


def test_pause_stops_asking_and_resume_starts_again(rig):
    poller, client, sink = rig
    poller.add("health", lambda c: c.health(), 0.01)
    poller.attach(sink)
    poller.start()
    wait(lambda: client.calls >= 2)
    poller.pause()
    time.sleep(0.05)
    calls = client.calls
    time.sleep(0.15)
    assert client.calls == calls
    poller.pause(False)
    wait(lambda: client.calls > calls)


def test_inactive_feeds_wait_until_activated(rig):
    poller, client, sink = rig
    poller.add("jobs", lambda c: c.health(), 0.01, active=False)
    poller.attach(sink)
    poller.start()
    time.sleep(0.1)
    assert client.calls == 0
    poller.set_active("jobs", True, kick=True)
    wait(lambda: sink.of("jobs"))


def test_an_answer_to_an_old_question_is_dropped(rig):
    poller, _client, sink = rig

    async def slow_old(c: Any) -> str:
        await asyncio.sleep(0.2)
        return "old"

    async def new(c: Any) -> str:
        return "new"

    poller.add("jobs", slow_old, 10)
    poller.attach(sink)
    poller.start()
    time.sleep(0.05)  # the old question is on its way
    poller.set_fetch("jobs", new)
    wait(lambda: sink.of("jobs"))
    time.sleep(0.3)
    assert [u.value for u in sink.of("jobs")] == ["new"]


def test_results_before_attach_are_kept(rig):
    poller, client, _sink = rig
    poller.add("health", lambda c: c.health(), 0.01)
    poller.start()
    wait(lambda: client.calls >= 3)
    poller.attach(lambda: None)
    answers = poller.take()  # the newest one, waiting for the first frame
    assert [u.feed for u in answers] == ["health"]


def test_quiet_feeds_wait_without_waking(rig):
    """The host reading needs no frame of its own: it waits for the next take."""
    poller, client, _sink = rig
    woken: list[int] = []
    poller.add("host", lambda c: c.health(), 0.01)
    poller.attach(lambda: woken.append(1), quiet=lambda feed: feed == "host")
    poller.start()
    wait(lambda: client.calls >= 3)
    assert not woken
    assert [u.feed for u in poller.take()] == ["host"]


def test_one_wake_until_the_inbox_is_taken(rig):
    poller, client, _sink = rig
    woken: list[int] = []
    poller.add("health", lambda c: c.health(), 0.01)
    poller.attach(lambda: woken.append(1))
    poller.start()
    wait(lambda: client.calls >= 3)
    assert woken == [1]
    poller.take()
    wait(lambda: len(woken) == 2)


def test_an_answer_for_the_previous_target_never_arrives(rig):
    poller, client, sink = rig
    client.delay = 0.2
    poller.add("health", lambda c: c.health(), 10)
    poller.attach(sink)
    poller.start()
    wait(lambda: client.active)  # asked of the first target
    poller.set_target(Target("other", "http://127.0.0.1:9"))
    wait(lambda: sink.of("health"))
    assert {u.epoch for u in sink.of("health")} == {1}


def test_one_off_feed_stops_on_a_definite_answer(rig):
    poller, client, sink = rig
    client.fail = Unauthorized(
        "forbidden (403) on GET /api/admin/check: this needs the admin token", 403
    )
    poller.add("admin", lambda c: c.health(), None)
    poller.attach(sink)
    poller.start()
    wait(lambda: sink.of("admin"))
    time.sleep(0.1)
    assert client.calls == 1
    assert sink.of("admin")[0].kind is Unauthorized
    assert sink.of("admin")[0].retry_in is None


def test_recovery_wakes_the_other_failing_feeds(rig):
    poller, client, sink = rig
    client.fail = Unreachable("down")
    poller.add("health", lambda c: c.health(), 0.02)
    poller.add("metrics", lambda c: c.health(), 20)  # backs off 20 s after a failure
    poller.attach(sink)
    poller.start()
    wait(lambda: sink.of("metrics") and len(sink.of("health")) >= 2)
    client.fail = None
    wait(lambda: sink.of("metrics")[-1].error is None, timeout=2)  # not after 20 s


def test_not_provided_is_asked_again_rarely(rig):
    poller, client, sink = rig
    client.fail = NotProvided("GET /api/jobs: not provided by this server", 404)
    poller.add("jobs", lambda c: c.health(), 0.01)
    poller.attach(sink)
    poller.start()
    wait(lambda: sink.of("jobs"))
    time.sleep(0.1)
    assert client.calls == 1
    assert sink.of("jobs")[0].kind is NotProvided
    assert sink.of("jobs")[0].retry_in >= 300


def test_errors_are_one_line_whatever_their_kind():
    assert describe(NotProvided("GET /api/jobs: not provided by this server", 404)).endswith(
        "not provided by this server"
    )
    assert describe(WrongShape("Health.status: expected a string")) == (
        "Health.status: expected a string"
    )
    assert describe(ValueError("x")) == "unexpected ValueError: x"


def test_the_client_raises_the_light_modules_types():
    """One home for the error types: jobtui.client raises jobtui.errors' classes."""
    import jobtui.client
    import jobtui.errors

    assert jobtui.client.NotProvided is jobtui.errors.NotProvided


def test_a_bug_in_a_fetch_is_one_line_not_a_crash(rig):
    poller, _client, sink = rig

    async def broken(c: Any) -> None:
        raise KeyError("oops")

    poller.add("health", broken, 0.01)
    poller.attach(sink)
    poller.start()
    u = wait(lambda: sink.of("health") and sink.of("health")[0])
    assert u.kind is KeyError and u.error == "unexpected KeyError: 'oops'"


def test_a_longer_interval_applies_to_a_feed_already_waiting(rig):
    """The root of a flaky test: the first metrics answer could settle (due in 1 s) before the
    Overview set its 30 s interval, so the Overview asked twice. The new interval counts from
    the last answer, whenever it is set."""
    poller, client, sink = rig
    poller.add("health", lambda c: c.health(), 1.0)
    poller.attach(sink)
    poller.start()
    wait(lambda: sink.of("health"))
    poller.set_interval("health", 30.0)
    spec = poller._specs["health"]
    wait(lambda: spec.interval == 30.0)
    assert spec.answered is not None
    assert spec.due == pytest.approx(spec.answered + 30.0)
    poller.set_interval("health", 0.01)  # and a shorter one asks at once
    wait(lambda: client.calls >= 2)


def test_the_overview_starts_with_its_own_metrics_interval():
    """The dashboard opens on the Overview: metrics are asked at its pace from the start."""
    poller = make_poller(Target("t", "http://127.0.0.1:9"), FAST)
    try:
        assert poller._specs["metrics"].interval == OVERVIEW_METRICS > FAST.metrics_interval
    finally:
        poller.stop()
