"""The agent's host: read in the background, reported as a mean over a window, recorded with
each history sample; and the switch that stops the sampling."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import psutil
import pytest

from jobtui.agent.health import HostMeter
from jobtui.agent.service import Agent
from jobtui.agent.store import JobStore
from jobtui.config import AgentConfig, Config, ConfigError, parse_config
from jobtui.contract import Health, MetricsHistory, decode, utcnow
from tests.support import wait_for

# In the agent's process: a host whose CPU swings 96 % ↔ 86 % at every reading (the badge
# flapped CRITICAL ↔ WARNING on such a host), read every 20 ms instead of every 5 s.
SWINGING = """
import itertools
import jobtui.agent.health as health
import jobtui.agent.service as service
_cpu = itertools.cycle([96.0, 86.0])
health.read_host = lambda: (lambda: (next(_cpu), 40.0, 1.5))
service.HOST_EVERY = 0.02
"""


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def scripted(*readings: tuple[float, float, float]):
    it = iter(readings)
    return lambda: next(it)


def test_the_mean_over_the_window_does_not_flap_where_each_reading_does():
    clock = Clock()
    meter = HostMeter(300, read=scripted(*[(96.0, 40.0, 1.0), (86.0, 40.0, 1.0)] * 60),
                      clock=clock, cores=2)  # fmt: skip
    seen = []
    for _ in range(120):  # ten minutes of readings, one every 5 s
        meter.sample()
        seen.append(meter.utilization)
        clock.t += 5
    assert min(seen) > 90 and max(seen) == 96  # critical (> 90) all along: no flapping
    assert seen[-1] == pytest.approx((30 * 96 + 31 * 86) / 61)  # 61 readings in 5 min


def test_readings_older_than_the_window_leave_it():
    clock = Clock()
    meter = HostMeter(60, read=scripted(*[(95.0, 20.0, 3.0)] * 12, *[(10.0, 20.0, 0.5)] * 13),
                      clock=clock, cores=4)  # fmt: skip
    assert meter.figures() is None  # before any reading: memory alone, taken at start
    assert 0 < meter.utilization <= 100
    for _ in range(12):  # a busy minute
        meter.sample()
        clock.t += 5
    assert meter.utilization == 95.0
    for i in range(13):  # then a quiet one: the busy readings age out
        meter.sample()
        if i == 5:
            assert 40 < meter.utilization < 70  # half and half
        clock.t += 5
    clock.t -= 5
    f = meter.figures()
    assert f is not None and f.utilization == 20.0 and f.cpu == 10.0  # memory is the busiest
    assert (f.load5, f.cores) == (0.5, 4)  # the newest load: it is a 5-minute mean already


def test_a_span_shorter_than_the_window_means_since_the_previous_sample():
    clock = Clock()
    meter = HostMeter(300, read=scripted((90.0, 30.0, 1.0), (50.0, 30.0, 1.0), (70.0, 50.0, 2.0)),
                      clock=clock)  # fmt: skip
    for _ in range(3):
        meter.sample()
        clock.t += 5
    clock.t -= 5
    since = meter.figures(6)  # the last two readings
    assert since is not None and (since.cpu, since.memory, since.load5) == (60.0, 40.0, 2.0)
    clock.t += 600  # nothing that recent: the newest reading stands for it
    stale = meter.figures(6)
    assert stale is not None and stale.cpu == 70.0


def test_the_agent_reports_the_windows_mean_and_records_the_host(agent_factory):
    a = agent_factory({"agent": {"utilization_window": "10m"}}, prelude=SWINGING)
    wait_for(lambda: "resourceUtilization" in httpx.get(a.url + "/api/jobs/health").text)
    time.sleep(0.1)  # several readings
    figures, statuses = [], set()
    for _ in range(15):  # each reading alone would say 96 (critical), then 86 (warning)
        h = decode(Health, httpx.get(a.url + "/api/jobs/health").json())
        assert h.metrics.resource_utilization is not None
        figures.append(h.metrics.resource_utilization)
        statuses.add(h.status)
        time.sleep(0.03)
    assert statuses == {"critical"} and all(91 <= f < 93 for f in figures), figures

    def hosted() -> MetricsHistory | None:
        r = httpx.get(a.url + "/api/monitoring/metrics").json()
        history = decode(MetricsHistory, r)
        return history if any(m.cpu_percent is not None for m in history.metrics) else None

    m = next(m for m in wait_for(hosted).metrics if m.cpu_percent is not None)
    assert m.cpu_percent is not None and 86 <= m.cpu_percent <= 96
    assert (m.memory_percent, m.load_average, m.cpu_count) == (40.0, 1.5, psutil.cpu_count())
    assert m.resource_utilization >= 91  # the window's mean, as health's
    raw = httpx.get(a.url + "/api/monitoring/metrics", params={"latest": "true"}).json()
    assert {"cpuPercent", "memoryPercent", "loadAverage", "cpuCount"} <= set(raw)


def test_metrics_collection_off_writes_no_sample_and_says_so(agent_factory):
    a = agent_factory({"agent": {"metrics_collection": False, "metrics_interval": "0.2s"}})
    raw = httpx.get(a.url + "/api/jobs/health").json()
    assert raw["operational"]["metricsCollectionEnabled"] is False
    assert raw["metrics"]["resourceUtilization"] is not None  # the host is still read
    time.sleep(1.0)  # five intervals
    assert httpx.get(a.url + "/api/monitoring/metrics").json()["count"] == 0
    r = httpx.get(a.url + "/api/monitoring/metrics", params={"latest": "true"})
    assert r.status_code == 404 and r.json() == {"error": "No metrics available"}
    a.stop()  # the switch on (the default): an agent on the same store samples
    b = agent_factory({"agent": {"metrics_interval": "0.2s"}})
    assert httpx.get(b.url + "/api/jobs/health").json()["operational"]["metricsCollectionEnabled"]
    wait_for(lambda: httpx.get(b.url + "/api/monitoring/metrics").json()["count"] >= 1)


def test_without_samples_to_tell_by_the_monitor_is_not_reported_dead(tmp_path):
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        for collecting in (True, False):
            agent = Agent(store, Config(agent=AgentConfig(metrics_collection=collecting)))
            agent._started -= 3600  # long past the start-up grace
            assert agent.monitor_alive(None, utcnow()) is (not collecting)
    finally:
        store.close()


def test_the_agent_keys_are_checked():
    agent = parse_config({"agent": {"utilization_window": "90s", "metrics_collection": False}},
                         None, {}).agent  # fmt: skip
    assert agent.utilization_window == timedelta(seconds=90) and agent.metrics_collection is False
    assert parse_config({}, None, {}).agent.utilization_window == timedelta(minutes=5)
    with pytest.raises(ConfigError, match=r"agent\.utilization_window: must be above zero"):
        parse_config({"agent": {"utilization_window": "0s"}}, None, {})
    with pytest.raises(ConfigError, match=r"agent\.metrics_collection"):
        parse_config({"agent": {"metrics_collection": "sometimes"}}, None, {})
