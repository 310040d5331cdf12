"""Config validation, the rules, and the contract's decoder: pure, fast unit tests."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobtui.config import ConfigError, Secret, load_config, parse_duration, resolve_target
from jobtui.contract import Health, Job, ShapeError, decode, encode
from jobtui.rules import Figures, Thresholds, evaluate, human_ms, status_of, worst
from tests.support import seed_health

ROOT = Path(__file__).resolve().parent.parent


def test_the_example_config_is_valid_and_complete():
    from jobtui.alerting.config import load_watch_config
    from jobtui.capacity import load_capacity_config
    from jobtui.incident import load_incident_config
    from jobtui.logs import load_logging_config

    env = {
        name: "https://hooks.example.com/x" if "URL" in name else "secret"
        for name in ("SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SMTP_PASS", "ALERT_WEBHOOK_URL")
    }
    cfg = load_config(ROOT / "config.example.yaml", env=env)
    # the sections other modules own validate too
    watch = load_watch_config(cfg, env=env)
    assert len(watch.notifiers) == 4
    assert load_logging_config(cfg, env=env).syslog is not None
    load_capacity_config(cfg, env=env)
    assert load_incident_config(cfg, env=env).notifiers == ("oncall-email", "incident-bridge")
    assert cfg.thresholds == Thresholds()  # the example documents the defaults
    assert set(cfg.targets) == {"local", "production"}
    assert cfg.errors.classify("Storage quota exhausted").category == "Quota"
    assert cfg.errors.classify("Out of memory").category == "Resources"


def test_defaults_without_a_file(tmp_path):
    cfg = load_config(None, env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert cfg.thresholds.warning.queue_depth == 20
    assert cfg.agent.stuck_after == timedelta(minutes=10)
    assert resolve_target(cfg, env={}).url == "http://127.0.0.1:8787"


def test_secrets_from_env_never_show(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("targets:\n  prod:\n    url: https://x\n    token_env: MY_TOKEN\n")
    cfg = load_config(f, env={"MY_TOKEN": "hunter2"})
    t = cfg.targets["prod"]
    assert t.token == "hunter2"
    assert "hunter2" not in repr(t) and "hunter2" not in repr(cfg)
    assert isinstance(t.token, Secret)


def test_target_resolution_order(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text(
        "targets:\n  a: {url: 'http://a'}\n  b: {url: 'http://b', token: tb}\ndefault_target: b\n"
    )
    cfg = load_config(f, env={})
    assert resolve_target(cfg, env={}).url == "http://b"
    assert resolve_target(cfg, target="a", env={"JOBTUI_TOKEN": "t"}).token == "t"
    assert resolve_target(cfg, env={"JOBTUI_URL": "http://env"}).url == "http://env"
    assert (
        resolve_target(cfg, url="http://flag", env={"JOBTUI_URL": "http://env"}).url
        == "http://flag"
    )
    with pytest.raises(ConfigError, match="no target named 'c'"):
        resolve_target(cfg, target="c", env={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("targets:\n  a: {}\n", "targets.a.url: missing"),
        ("default_target: nope\n", "default_target: no target named 'nope'"),
        ("dashboard:\n  health_interval: [1]\n", "dashboard.health_interval"),
        (
            "error_patterns:\n  patterns:\n    - {pattern: '(', category: X}\n",
            "error_patterns.patterns[0].pattern",
        ),
        (
            "error_patterns:\n  patterns:\n    - {pattern: x, category: X, priority: urgent}\n",
            "priority",
        ),
        ("- just\n- a list\n", "the top level must be a mapping (targets:, agent:, …), got a list"),
        ("check:\n  response_time:\n    warning: 5 parsecs\n", "check.response_time.warning"),
    ],
)
def test_config_errors_name_the_key(tmp_path, text, message):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_config(f, env={})
    assert str(exc.value).startswith(str(f))
    assert message in str(exc.value)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90),
        ("90", 90),
        ("500ms", 0.5),
        ("5m", 300),
        ("2h", 7200),
        ("7d", 604800),
        ("1.5 min", 90),
    ],
)
def test_durations(value, seconds):
    assert parse_duration(value).total_seconds() == seconds


def test_rules_levels_and_suppression():
    t = Thresholds()
    f = Figures(
        queue_depth=60, error_rate=15, average_processing_time=1000, stuck_jobs=0, wait_time=None
    )
    found = evaluate(f, t)
    assert [(x.rule, x.level) for x in found] == [
        ("queue_depth", "critical"),
        ("error_rate", "warning"),
    ]
    assert status_of(found) == "critical"
    assert found[0].text == "Queue depth 60 > 50"
    assert evaluate(Figures(20, 10, 300_000, 2, 180_000, 80), t) == []  # at, not above
    assert worst(["healthy", "warning"]) == "warning" and worst([]) == "healthy"
    assert human_ms(6.2 * 60_000) == "6.2 min"


def test_stalled_is_derived_from_last_processed_at():
    now = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    body = seed_health(metrics={"lastProcessedAt": "2026-11-29T02:40:00Z", "queueDepth": 4})
    f = Figures.from_health(decode(Health, body), now, timedelta(minutes=15))
    assert f.stalled_for == timedelta(minutes=20)
    assert evaluate(f, Thresholds())[-1].rule == "processing_stalled"


def test_decoder_accepts_the_seed_shape_and_names_bad_paths():
    h = decode(Health, seed_health())
    assert h.metrics.wait_time is None and h.metrics.last_processed_at is None
    bad = seed_health(metrics={"queueDepth": "lots"})
    with pytest.raises(
        ShapeError, match=r"Health.metrics.queueDepth: expected a number, got 'lots'"
    ):
        decode(Health, bad)
    with pytest.raises(
        ShapeError, match=re.escape("Health.status: expected one of healthy|warning|critical")
    ):
        decode(Health, seed_health(status="fine"))
    with pytest.raises(ShapeError, match=re.escape("Health.health: missing")):
        decode(Health, {k: v for k, v in seed_health().items() if k != "health"})
    with pytest.raises(ShapeError, match="expected true or false"):
        decode(Health, seed_health(systemStatus={"monitor": 1}))


def test_encode_round_trips():
    job = Job(
        "1",
        "t",
        "failed",
        0,
        None,
        "x",
        1,
        3,
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC),
    )
    raw = encode(job)
    assert raw["maxAttempts"] == 3 and raw["createdAt"] == "2026-01-01T00:00:00.000Z"
    assert raw["startedAt"] is None
    assert decode(Job, raw) == job
