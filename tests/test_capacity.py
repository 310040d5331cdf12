"""Capacity: metrics histories and hosts built to cross each of the seed's scaling rules."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from jobtui.capacity import CapacityConfig, Limits, parse_capacity, recommend, trend
from jobtui.config import ConfigError
from jobtui.contract import PerformanceMetrics
from jobtui.host import Host, read_host
from tests.support import jobtui_cmd

T = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
MIN = 60_000


def history(n=31, *, queue=10.0, ms=2 * MIN, errors=5.0, step=timedelta(minutes=1)):
    """n samples ending at T; each figure a constant or a function of the sample index."""

    def at(f, i):
        return f(i) if callable(f) else f

    return [
        PerformanceMetrics(
            timestamp=T - (n - 1 - i) * step,
            queue_depth=at(queue, i),
            processing_rate=1.0,
            success_rate=100 - at(errors, i),
            error_rate=at(errors, i),
            average_processing_time=at(ms, i),
            resource_utilization=50.0,
            jobs_per_hour=60,
            jobs_per_day=1440,
        )
        for i in range(n)
    ]


def host(cpu=50.0, memory=60.0, load5=2.0, cores=4):
    return Host("web-1", cpu, cores, memory, 0, 16 << 30, (load5, load5, load5), 3600.0)


def verdicts(rec):
    return {r.rule: r.verdict for r in rec.reasons}


def test_a_steady_system_holds():
    rec = recommend(history(), host())
    assert (rec.action, rec.urgent) == ("hold", False)
    assert set(verdicts(rec).values()) <= {"hold", "down"}
    assert rec.summary == "Resource utilization normal: hold"


@pytest.mark.parametrize(
    ("hist", "h", "rule", "critical", "text"),
    [
        (history(queue=31), host(), "queue_depth", False, "Queue depth 31 > 30"),
        (history(queue=51), host(), "queue_depth", True, "Queue depth 51 > 50 (critical)"),
        (
            history(queue=lambda i: 5 + i / 3),
            host(),
            "queue_trend",
            False,
            "Queue depth rising: +10",
        ),
        (
            history(ms=5.5 * MIN),
            host(),
            "processing_time",
            False,
            "Processing time 5.5 min > 5.0 min",
        ),
        (
            history(ms=11 * MIN),
            host(),
            "processing_time",
            True,
            "Processing time 11.0 min > 10.0 min",
        ),
        (
            history(ms=lambda i: MIN + i * 2000),
            host(),
            "processing_trend",
            False,
            "Processing time rising: +1.0 min",
        ),
        (history(errors=12), host(), "error_rate", False, "Error rate 12.0% > 10.0%"),
        (history(errors=25), host(), "error_rate", True, "Error rate 25.0% > 20.0% (critical)"),
        (
            history(errors=lambda i: 2 + i * 0.2),
            host(),
            "error_trend",
            False,
            "Error rate rising: +6.0 points",
        ),
        (history(), host(cpu=85), "cpu", False, "CPU 85.0% > 80.0%"),
        (history(), host(cpu=96), "cpu", True, "CPU 96.0% > 95.0% (critical)"),
        (history(), host(memory=88), "memory", False, "Memory 88.0% > 85.0%"),
        (history(), host(memory=97), "memory", True, "Memory 97.0% > 95.0% (critical)"),
        (history(), host(load5=3.3), "load", False, "Load (5 min, 4 cores) 3.30 > 3.20"),
        (history(), host(load5=4.1), "load", True, "Load (5 min, 4 cores) 4.10 > 4.00 (critical)"),
    ],
)
def test_each_rule_scales_up(hist, h, rule, critical, text):
    rec = recommend(hist, h)
    assert rec.action == "scale up" and rec.urgent is critical
    ups = {r.rule: r for r in rec.why()}
    assert rule in ups and ups[rule].text.startswith(text), [r.text for r in rec.reasons]
    if critical:
        assert rec.summary == f"{ups[rule].text}: immediate scaling recommended"


def test_below_every_threshold_scales_down_and_one_figure_holds_it():
    quiet = history(queue=2, ms=30_000, errors=1)
    rec = recommend(quiet, host(cpu=10, memory=30, load5=0.4))
    assert rec.action == "scale down"
    assert all(r.verdict == "down" for r in rec.reasons)
    busy_cpu = recommend(quiet, host(cpu=50, memory=30, load5=0.4))
    assert busy_cpu.action == "hold" and verdicts(busy_cpu)["cpu"] == "hold"


def test_a_falling_queue_is_not_rising_and_a_short_history_has_no_trend():
    rec = recommend(history(queue=lambda i: 29 - i * 0.5), host())
    assert verdicts(rec)["queue_trend"] == "down"
    short = recommend(history(n=10, queue=lambda i: i * 3), host())  # 9 minutes of a 30 min window
    assert verdicts(short)["queue_trend"] == "unknown"
    assert "not enough history for 30 min" in {r.rule: r.text for r in short.reasons}["queue_trend"]


def test_a_spike_is_not_a_trend():
    """One high sample in a flat half hour barely moves the fitted line."""
    t = trend(
        history(queue=lambda i: 40 if i == 15 else 10), "queue_depth", timedelta(minutes=30), T
    )
    assert t is not None and abs(t.change) < 1


def test_no_history_and_no_host():
    rec = recommend([], None)
    assert rec.action == "hold" and rec.summary.startswith("No metrics history yet")


def test_thresholds_from_config():
    cfg = parse_capacity(
        {"trend_window": "10m", "queue_depth": {"scale_up": 100, "critical": 200},
         "processing_time": {"scale_up": "2m", "rise": "10s"}},
        {},
    )  # fmt: skip
    assert cfg.queue_depth == Limits(100, 5, 200, rise=5)
    assert cfg.processing_time.scale_up == 120_000 and cfg.processing_time.rise == 10_000
    assert recommend(history(queue=60), host(), cfg).action == "hold"
    assert recommend(history(queue=60), host(), CapacityConfig()).action == "scale up"
    for bad, message in (
        ({"cpu": {"scale_up": 99, "critical": 90}}, "capacity.cpu: expected scale_down"),
        ({"cpu": {"hot": 1}}, "capacity.cpu.hot: unknown key"),
        ({"trend_window": "5s"}, "capacity.trend_window: must be at least 1m"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_capacity(bad, {})


def test_the_command_against_the_real_agent(agent):
    import httpx

    from tests.support import wait_for

    wait_for(lambda: httpx.get(agent.url + "/api/monitoring/metrics").json()["count"] >= 1)
    r = subprocess.run(
        jobtui_cmd("capacity", "--url", agent.url, "--format", "json"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode in (0, 1), r.stderr
    body = json.loads(r.stdout)
    assert body["host"]["cores"] >= 1 and body["latest"]["queueDepth"] == 0
    assert {x["rule"] for x in body["reasons"]} >= {"queue_depth", "cpu", "memory", "load"}
    assert (r.returncode == 1) == (body["action"] == "scale up")
    r = subprocess.run(
        jobtui_cmd("capacity", "--url", agent.url, "--no-host"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and r.stdout.startswith("HOLD — ") and "Host " not in r.stdout
    assert "  ? Queue depth trend: not enough history for 30 min" in r.stdout


def test_one_host_reader_for_the_command_and_the_dashboard():
    h = read_host(0.1)
    assert h.cpu_percent is not None and 0 <= h.cpu_percent <= 100
    assert h.cores >= 1 and 0 < h.memory_used <= h.memory_total and h.uptime > 0
