"""The alert state machine with an injected clock: for, resolve, escalation, dedup, repeat,
silences, notifier filters, and restarts through the state file. No sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobtui.alerting.config import Hold, NotifierConfig, parse_watch
from jobtui.alerting.engine import Engine
from jobtui.alerting.observe import RuleResult
from jobtui.alerting.progress import EMPTY, Look, advance, decode_run, encode_run, reported_stall
from jobtui.alerting.state import Silence, StateError, StateFile, WatchState
from jobtui.config import ConfigError

T0 = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
POLL = timedelta(seconds=30)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def tick(self, by: timedelta = POLL) -> datetime:
        self.now += by
        return self.now


def r(rule: str, status: str, value: float = 0) -> RuleResult:
    texts = {"healthy": f"{rule} {value:g}", "unknown": f"{rule}: no answer"}
    text = texts.get(status, f"{rule} {value:g} > limit")
    return RuleResult(rule, status, text, value, 20, 50, "do something")


def notifier(name: str = "slack", **kw: object) -> NotifierConfig:
    return NotifierConfig(name=name, type="webhook", **kw)  # type: ignore[arg-type]


SLACK = notifier()


def send_all(
    e: Engine, now: datetime, *ns: NotifierConfig, silenced: set[str] | None = None
) -> dict[str, list[str]]:
    """What each notifier is due, as "STATUS level rule", marked as sent."""
    out: dict[str, list[str]] = {}
    for n in ns or (SLACK,):
        items = e.due(n, now, silenced or set())
        e.mark_sent(n.name, items, now)
        out[n.name] = [f"{i.status} {i.level} {i.rule}" for i in items]
    return out


def test_fires_only_after_for_polls_and_once() -> None:
    e, c = Engine(for_polls=2), Clock()
    assert e.step([r("queue_depth", "warning", 30)], c.now) == []
    assert send_all(e, c.now) == {"slack": []}  # pending: nothing sent yet
    changes = e.step([r("queue_depth", "warning", 31)], c.tick())
    assert [(t.event, t.level) for t in changes] == [("firing", "warning")]
    assert send_all(e, c.now) == {"slack": ["firing warning queue_depth"]}
    e.step([r("queue_depth", "warning", 32)], c.tick())
    assert send_all(e, c.now) == {"slack": []}  # deduplicated


def test_a_blip_shorter_than_for_is_never_sent() -> None:
    e, c = Engine(for_polls=3, for_critical=3), Clock()
    e.step([r("error_rate", "critical", 30)], c.now)
    e.step([r("error_rate", "critical", 30)], c.tick())
    e.step([r("error_rate", "healthy", 1)], c.tick())
    assert e.alerts == {}
    assert send_all(e, c.now) == {"slack": []}


def test_critical_suppresses_warning_and_escalation_waits_for_for() -> None:
    e, c = Engine(for_polls=2, for_critical=2), Clock()
    e.step([r("queue_depth", "critical", 60)], c.now)
    e.step([r("queue_depth", "critical", 60)], c.tick())
    assert send_all(e, c.now) == {"slack": ["firing critical queue_depth"]}  # no warning too

    e2 = Engine(for_polls=2, for_critical=2)
    e2.step([r("queue_depth", "warning", 30)], c.tick())
    e2.step([r("queue_depth", "critical", 60)], c.tick())  # bad twice, critical once
    assert send_all(e2, c.now) == {"slack": ["firing warning queue_depth"]}
    changes = e2.step([r("queue_depth", "critical", 70)], c.tick())
    assert [(t.event, t.level) for t in changes] == [("escalated", "critical")]
    assert send_all(e2, c.now) == {"slack": ["firing critical queue_depth"]}
    # back to warning only after resolve_after polls below critical
    e2.step([r("queue_depth", "warning", 30)], c.tick())
    assert send_all(e2, c.now) == {"slack": []}
    changes = e2.step([r("queue_depth", "warning", 30)], c.tick())
    assert [(t.event, t.level) for t in changes] == [("de-escalated", "warning")]
    assert send_all(e2, c.now) == {"slack": ["firing warning queue_depth"]}


def test_resolves_after_good_polls_and_sends_resolved_once() -> None:
    e, c = Engine(for_polls=1, resolve_after=3), Clock()
    e.step([r("stuck_jobs", "critical", 6)], c.now)
    send_all(e, c.now)
    for _ in range(2):
        e.step([r("stuck_jobs", "healthy", 0)], c.tick())
        assert send_all(e, c.now) == {"slack": []}  # not yet: 3 good polls needed
    e.step([r("stuck_jobs", "critical", 6)], c.tick())  # a relapse resets the count
    for _ in range(2):
        e.step([r("stuck_jobs", "healthy", 0)], c.tick())
    assert e.alerts["stuck_jobs"].phase == "firing"
    changes = e.step([r("stuck_jobs", "healthy", 0)], c.tick())
    assert [t.event for t in changes] == ["resolved"]
    items = e.due(SLACK, c.now)
    assert [i.text for i in items] == ["stuck_jobs 0 (was: stuck_jobs 6 > limit)"]
    e.mark_sent("slack", items, c.now)
    assert e.due(SLACK, c.tick()) == []
    assert e.prune([SLACK], c.now) == ["stuck_jobs"]


def test_send_resolved_can_be_switched_off_globally_or_per_notifier() -> None:
    quiet = notifier("mail", send_resolved=False)
    e, c = Engine(for_polls=1, resolve_after=1), Clock()
    e.step([r("queue_depth", "warning", 30)], c.now)
    send_all(e, c.now, SLACK, quiet)
    e.step([r("queue_depth", "healthy", 3)], c.tick())
    assert send_all(e, c.now, SLACK, quiet) == {
        "slack": ["resolved warning queue_depth"],
        "mail": [],
    }

    e = Engine(for_polls=1, resolve_after=1, send_resolved=False)
    e.step([r("queue_depth", "warning", 30)], c.now)
    send_all(e, c.now)
    e.step([r("queue_depth", "healthy", 3)], c.tick())
    assert send_all(e, c.now) == {"slack": []}
    assert e.prune([SLACK], c.now) == ["queue_depth"]


def test_repeat_interval() -> None:
    e, c = Engine(for_polls=1, repeat_interval=timedelta(hours=4)), Clock()
    e.step([r("error_rate", "warning", 12)], c.now)
    assert send_all(e, c.now) == {"slack": ["firing warning error_rate"]}
    e.step([r("error_rate", "warning", 12)], c.tick(timedelta(hours=3, minutes=59)))
    assert send_all(e, c.now) == {"slack": []}
    e.step([r("error_rate", "warning", 12)], c.tick(timedelta(minutes=1)))
    items = e.due(SLACK, c.now)
    assert [(i.rule, i.repeat) for i in items] == [("error_rate", True)]


def test_no_data_is_not_good_news() -> None:
    """While the server is down the other rules keep their state (no resolved flood)."""
    e, c = Engine(for_polls=1, resolve_after=1), Clock()
    e.step([r("queue_depth", "critical", 60), r("system_down", "healthy")], c.now)
    send_all(e, c.now)
    e.step([r("queue_depth", "unknown"), r("system_down", "critical")], c.tick())
    assert e.alerts["queue_depth"].phase == "firing"
    assert send_all(e, c.now) == {"slack": ["firing critical system_down"]}


def test_silence_mutes_sending_but_not_evaluation() -> None:
    e, c = Engine(for_polls=1, resolve_after=1), Clock()
    e.step([r("queue_depth", "warning", 30)], c.now)
    assert e.alerts["queue_depth"].phase == "firing"
    assert send_all(e, c.now, silenced={"queue_depth"}) == {"slack": []}
    e.step([r("queue_depth", "warning", 30)], c.tick())
    # the silence ends: the still-firing alert is sent now
    assert send_all(e, c.now) == {"slack": ["firing warning queue_depth"]}
    # silenced again, it resolves: the notifier that was told it fires is told it resolved
    e.step([r("queue_depth", "healthy", 3)], c.tick())
    assert send_all(e, c.now, silenced={"queue_depth"}) == {
        "slack": ["resolved warning queue_depth"]
    }


def test_silenced_alert_that_resolves_unseen_sends_nothing() -> None:
    e, c = Engine(for_polls=1, resolve_after=1), Clock()
    e.step([r("queue_depth", "warning", 30)], c.now)
    send_all(e, c.now, silenced={"queue_depth"})
    e.step([r("queue_depth", "healthy", 3)], c.tick())
    assert send_all(e, c.now) == {"slack": []}
    assert e.prune([SLACK], c.now) == ["queue_depth"]


def test_notifier_level_and_rule_filters() -> None:
    pager = notifier("pager", min_level="critical")
    stuck_only = notifier("stuck", rules=frozenset({"stuck_jobs"}))
    e, c = Engine(for_polls=1, resolve_after=1), Clock()
    e.step([r("queue_depth", "warning", 30), r("stuck_jobs", "critical", 6)], c.now)
    got = send_all(e, c.now, SLACK, pager, stuck_only)
    assert got == {
        "slack": ["firing warning queue_depth", "firing critical stuck_jobs"],
        "pager": ["firing critical stuck_jobs"],
        "stuck": ["firing critical stuck_jobs"],
    }
    # stuck jobs falls to warning: the critical-only pager is told it is over for it
    e.step([r("queue_depth", "warning", 30), r("stuck_jobs", "warning", 3)], c.tick())
    got = send_all(e, c.now, SLACK, pager, stuck_only)
    assert got == {
        "slack": ["firing warning stuck_jobs"],
        "pager": ["resolved warning stuck_jobs"],
        "stuck": ["firing warning stuck_jobs"],
    }


def test_busy_rules_are_not_sent_twice() -> None:
    e, c = Engine(for_polls=1), Clock()
    e.step([r("queue_depth", "warning", 30)], c.now)
    assert e.due(SLACK, c.now, busy={"queue_depth"}) == []


def test_disabled_rule_is_closed() -> None:
    e, c = Engine(for_polls=1, resolve_after=1), Clock()
    e.step([r("queue_depth", "warning", 30), r("error_rate", "warning", 12)], c.now)
    send_all(e, c.now)
    e.step(
        [r("queue_depth", "warning", 30), r("error_rate", "warning", 12)],
        c.tick(),
        enabled={"queue_depth"},
    )
    assert send_all(e, c.now) == {"slack": ["resolved warning error_rate"]}


# --------------------------------------------------------------------------- state file


def test_restart_neither_loses_nor_resends(tmp_path: Path) -> None:
    sf = StateFile(tmp_path / "state" / "watch.json")
    c = Clock()

    def poll(results: list[RuleResult]) -> list[str]:
        def change(state: WatchState) -> list[str]:
            e = Engine(for_polls=2, resolve_after=2, alerts=state.alerts)  # a fresh process
            e.step(results, c.now)
            items = e.due(SLACK, c.now, state.silenced(c.now))
            e.mark_sent("slack", items, c.now)
            state.alerts = e.alerts
            return [f"{i.status} {i.rule}" for i in items]

        out = sf.update(change)
        c.tick()
        return out

    assert poll([r("queue_depth", "warning", 30)]) == []  # pending survives the restart...
    assert poll([r("queue_depth", "warning", 30)]) == ["firing queue_depth"]  # ...and fires
    assert poll([r("queue_depth", "warning", 30)]) == []  # not sent again
    assert poll([r("queue_depth", "healthy", 1)]) == []
    assert poll([r("queue_depth", "healthy", 1)]) == ["resolved queue_depth"]
    assert poll([r("queue_depth", "healthy", 1)]) == []
    assert (sf.path.stat().st_mode & 0o777) == 0o600
    assert not list(sf.path.parent.glob(".*.tmp"))  # no temp file left behind


def test_silences_roundtrip_and_match(tmp_path: Path) -> None:
    sf = StateFile(tmp_path / "s.json")
    s1 = Silence("a1", "queue_depth", T0, T0 + timedelta(hours=2), "deploy", "ann")
    s2 = Silence("b2", "all", T0 + timedelta(hours=1), T0 + timedelta(hours=3), "maint", "bob")
    sf.update(lambda s: s.silences.extend([s1, s2]))
    state = sf.read()
    assert state.silences == [s1, s2]
    assert state.silenced(T0) == {"queue_depth"}
    assert "error_rate" in state.silenced(T0 + timedelta(hours=1))
    assert state.silenced(T0 + timedelta(hours=3)) == set()


def test_a_damaged_state_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "watch.json"
    path.write_text('{"version": 1, "alerts": {"x": {"phase": "weird"}}}')
    with pytest.raises(StateError, match=r"watch\.json: not a valid jobtui state file"):
        StateFile(path).read()


def test_only_one_watcher_per_state_file(tmp_path: Path) -> None:
    sf = StateFile(tmp_path / "watch.json")
    with (
        sf.daemon(),
        pytest.raises(StateError, match="another `jobtui watch`"),
        StateFile(sf.path).daemon(),
    ):
        pass
    with sf.daemon():  # released
        pass


def test_watch_config_defaults() -> None:
    w = parse_watch(None, None, {})
    assert (w.interval, w.for_polls, w.resolve_after) == (30.0, 2, 2)
    assert w.repeat_interval == timedelta(hours=4) and w.send_resolved
    assert "processing_stalled" in w.rules and "response_time" in w.rules
    assert parse_watch({"interval": "10s", "for": "25s"}, None, {}).for_polls == 3


def test_a_failed_write_leaves_the_previous_state_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sf = StateFile(tmp_path / "watch.json")
    e, c = Engine(for_polls=1), Clock()
    e.step([r("queue_depth", "warning", 30)], c.now)
    sf.update(lambda s: setattr(s, "alerts", e.alerts))
    before = sf.path.read_bytes()

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("jobtui.alerting.state.os.replace", disk_full)
    with pytest.raises(StateError, match="cannot write: No space left on device"):
        sf.update(lambda s: s.alerts.clear())
    monkeypatch.undo()
    assert sf.path.read_bytes() == before
    assert list(sf.read().alerts) == ["queue_depth"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_retry_after_seconds_or_http_date() -> None:
    from jobtui.alerting.notifiers.base import retry_after

    assert retry_after("7") == 7.0
    assert retry_after("Sun, 29 Nov 2026 03:00:30 GMT", now=T0) == 30.0
    assert retry_after("whenever") is None and retry_after(None) is None


def test_email_password_from_the_environment() -> None:
    from jobtui.config import ConfigError

    base = {"type": "email", "host": "h", "from": "a@example.com", "to": "b@example.com"}
    env = {"SMTP_PASS": "s3cret"}
    [n] = parse_watch({}, {"m": {**base, "username": "u"}}, env).notifiers
    assert n.password == "s3cret" and "s3cret" not in repr(n)  # type: ignore[attr-defined]
    [n] = parse_watch({}, {"m": base}, env).notifiers  # no username: no auth asked for
    assert n.password is None  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"notifiers\.m\.username: missing"):
        parse_watch({}, {"m": {**base, "password": "x"}}, {})


# --------------------------------------------------------------------------- critical at once


def test_critical_fires_on_the_first_poll_warnings_keep_the_hold() -> None:
    e, c = Engine(for_polls=2), Clock()  # the defaults: for 2, for_critical 1
    changes = e.step([r("stuck_jobs", "critical", 6), r("queue_depth", "warning", 30)], c.now)
    assert [(t.rule, t.event, t.level) for t in changes] == [("stuck_jobs", "firing", "critical")]
    assert send_all(e, c.now) == {"slack": ["firing critical stuck_jobs"]}
    e.step([r("stuck_jobs", "critical", 6), r("queue_depth", "warning", 30)], c.tick())
    assert send_all(e, c.now) == {"slack": ["firing warning queue_depth"]}
    # a warning that turns critical escalates on the first critical poll
    changes = e.step([r("queue_depth", "critical", 60)], c.tick())
    assert [(t.event, t.level) for t in changes] == [("escalated", "critical")]


def test_holds_per_rule_and_the_noisy_rules_defaults() -> None:
    w = parse_watch(None, None, {})
    assert (w.for_polls, w.for_critical) == (2, 1)
    assert w.hold("stuck_jobs") == Hold(2, 1) and w.hold("system_down") == Hold(2, 1)
    # one CPU spike or one slow answer never pages: they keep the warning's hold
    assert w.hold("resource_utilization") == Hold(2, 2) == w.hold("response_time")
    w = parse_watch(
        {
            "interval": "1m",
            "for": 3,
            "for_critical": 2,
            "per_rule": {
                "system_down": {"for_critical": 1},
                "resource_utilization": {"for": "10m", "for_critical": "10m"},
            },
        },
        None,
        {},
    )
    assert w.hold("queue_depth") == Hold(3, 2) and w.hold("system_down") == Hold(3, 1)
    assert w.hold("resource_utilization") == Hold(10, 10)
    assert w.hold("response_time") == Hold(3, 3)
    e, c = Engine(w.for_polls, w.for_critical, w.per_rule), Clock()
    e.step([r("system_down", "critical"), r("queue_depth", "critical", 60)], c.now)
    assert send_all(e, c.now) == {"slack": ["firing critical system_down"]}
    e.step([r("system_down", "critical"), r("queue_depth", "critical", 60)], c.tick())
    assert send_all(e, c.now) == {"slack": ["firing critical queue_depth"]}


@pytest.mark.parametrize(
    ("watch", "error"),
    [
        ({"for_critical": 0}, "watch.for_critical: must be at least 1, got 0"),
        ({"per_rule": {"queue_dept": {"for": 1}}}, "watch.per_rule.queue_dept: unknown rule"),
        ({"per_rule": {"queue_depth": {"fr": 1}}}, "watch.per_rule.queue_depth.fr: unknown key"),
        ({"per_rule": {"queue_depth": 3}}, "watch.per_rule.queue_depth: expected a mapping"),
    ],
)
def test_bad_holds_name_the_key(watch: dict[str, object], error: str) -> None:
    with pytest.raises(ConfigError, match=error.replace(".", r"\.")):
        parse_watch(watch, None, {})


# --------------------------------------------------------------------------- progress


def look(minutes: float, queue: float, per_hour: float, per_day: float | None = None) -> Look:
    return Look(T0 + timedelta(minutes=minutes), queue, per_hour, per_day)


def test_a_run_is_pending_looks_with_no_finished_count_growing() -> None:
    run = advance(EMPTY, [look(0, 3, 120)])
    assert (run.since, run.looks) == (T0, 1)
    run = advance(run, [look(5, 3, 118), look(10, 4, 118)])
    assert run.since == T0 and run.looks == 3  # falling or flat: no job seen finishing
    run = advance(run, [look(15, 4, 119)])  # grew: a job finished since the last look
    assert run.since == T0 + timedelta(minutes=15)
    run = advance(run, [look(20, 4, 119, 2800), look(25, 4, 119, 2801)])  # the day's count grew
    assert run.since == T0 + timedelta(minutes=25)
    run = advance(run, [look(30, 0, 100)])  # nothing pending: no run
    assert run.since is None
    run = advance(run, [look(35, 2, 100)])
    assert run.since == T0 + timedelta(minutes=35)
    # a history sample older than the last look changes nothing
    assert advance(run, [look(1, 9, 500)]) == run
    assert decode_run(encode_run(run)) == run
    assert decode_run(None) == EMPTY


def test_a_server_reported_stall_is_read_from_its_alerts() -> None:
    line = "CRITICAL: Processing stalled: no job finished for 20 min while 3 jobs are pending"
    assert reported_stall(["WARNING: Queue depth 30 > 20", line]) == line[len("CRITICAL: ") :]
    assert reported_stall(["WARNING: Queue depth 30 > 20"]) is None
