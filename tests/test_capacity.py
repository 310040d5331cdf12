"""Capacity: metrics histories and hosts built to cross each of the seed's scaling rules."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from jobtui.capacity import CapacityConfig, Limits, parse_capacity, recommend, trend
from jobtui.config import ConfigError
from jobtui.contract import PerformanceMetrics, utcnow
from jobtui.host import Host, read_host
from tests.support import Canned, jobtui_cmd, seed_metrics

T = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
MIN = 60_000


def history(
    n=31, *, queue=10.0, ms=2 * MIN, errors=5.0, step=timedelta(minutes=1),
    cpu=None, memory=None, load=None, cores=None,
):  # fmt: skip
    """n samples ending at T; each figure a constant or a function of the sample index; the
    host figures (the sampling agent's) absent unless given."""

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
            cpu_percent=at(cpu, i),
            memory_percent=at(memory, i) if cpu is not None else None,
            load_average=at(load, i) if cpu is not None else None,
            cpu_count=cores if cpu is not None else None,
        )
        for i in range(n)
    ]


def hosted(n=31, *, cpu=50.0, memory=60.0, load=2.0, cores=4, **kw):
    """A history whose samples carry the agent's host, as our agent's do."""
    return history(n, cpu=cpu, memory=memory, load=load, cores=cores, **kw)


def host(cpu=50.0, memory=60.0, load5=2.0, cores=4):
    return Host("web-1", cpu, cores, memory, 0, 16 << 30, (load5, load5, load5), 3600.0)


def verdicts(rec):
    return {r.rule: r.verdict for r in rec.reasons}


def test_a_steady_system_holds():
    rec = recommend(history(), host())
    assert (rec.action, rec.urgent) == ("hold", False)
    assert set(verdicts(rec).values()) <= {"hold", "down"}
    assert rec.summary == "Resource utilization normal: hold"


OVER = "in 31 of 31 samples over 30 min"


@pytest.mark.parametrize(
    ("hist", "h", "rule", "critical", "text"),
    [
        (history(queue=31), host(), "queue_depth", False, f"Queue depth > 30 {OVER} (now 31)"),
        (history(queue=51), host(), "queue_depth", True, f"Queue depth > 50 (critical) {OVER}"),
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
            f"Processing time > 5.0 min {OVER} (now 5.5 min)",
        ),
        (
            history(ms=11 * MIN),
            host(),
            "processing_time",
            True,
            f"Processing time > 10.0 min (critical) {OVER}",
        ),
        (
            history(ms=lambda i: MIN + i * 2000),
            host(),
            "processing_trend",
            False,
            "Processing time rising: +1.0 min",
        ),
        (history(errors=12), host(), "error_rate", False, f"Error rate > 10.0% {OVER}"),
        (history(errors=25), host(), "error_rate", True, f"Error rate > 20.0% (critical) {OVER}"),
        (
            history(errors=lambda i: 2 + i * 0.2),
            host(),
            "error_trend",
            False,
            "Error rate rising: +6.0 points",
        ),
        (hosted(cpu=85), None, "cpu", False, f"CPU > 80.0% {OVER} (now 85.0%)"),
        (hosted(cpu=96), None, "cpu", True, f"CPU > 95.0% (critical) {OVER}"),
        (hosted(memory=88), None, "memory", False, f"Memory > 85.0% {OVER}"),
        (hosted(memory=97), None, "memory", True, f"Memory > 95.0% (critical) {OVER}"),
        (hosted(load=3.3), None, "load", False, f"Load (5 min, 4 cores) > 3.20 {OVER}"),
        (hosted(load=4.1), None, "load", True, f"Load (5 min, 4 cores) > 4.00 (critical) {OVER}"),
        # A server whose samples carry no host (the seed's): this machine's one reading.
        (history(), host(cpu=85), "cpu", False, "CPU 85.0% > 80.0%"),
        (history(), host(cpu=96), "cpu", True, "CPU 96.0% > 95.0% (critical)"),
        (history(), host(memory=88), "memory", False, "Memory 88.0% > 85.0%"),
        (history(), host(load5=4.1), "load", True, "Load (5 min, 4 cores) 4.10 > 4.00"),
    ],
)
def test_each_rule_scales_up(hist, h, rule, critical, text):
    rec = recommend(hist, h)
    assert rec.action == "scale up" and rec.urgent is critical
    ups = {r.rule: r for r in rec.why()}
    assert rule in ups and ups[rule].text.startswith(text), [r.text for r in rec.reasons]
    if critical:
        assert rec.summary == f"{ups[rule].text}: immediate scaling recommended"


def test_consistently_is_most_of_the_window_not_the_newest_sample():
    """The seed's "consistently above": 90 % of the last 30 min of samples, not one reading."""
    spike = recommend(history(queue=lambda i: 60 if i == 30 else 10), host())
    assert not spike.urgent and verdicts(spike)["queue_depth"] == "hold"  # (the line rises)
    assert {r.rule: r.text for r in spike.reasons}["queue_depth"].startswith(
        "Queue depth 60 now, > 30 in 1 of 31 samples over 30 min"
    )
    cpu_spike = recommend(hosted(cpu=lambda i: 99 if i == 30 else 40), None)
    assert verdicts(cpu_spike)["cpu"] == "hold" and not cpu_spike.urgent
    mostly = recommend(history(queue=lambda i: 10 if i < 3 else 40), host())  # 28 of 31
    assert verdicts(mostly)["queue_depth"] == "up"
    dipping = recommend(history(queue=lambda i: 10 if i < 4 else 40), host())  # 27 of 31: 87 %
    assert verdicts(dipping)["queue_depth"] == "hold"
    lenient = parse_capacity({"consistently": 80}, {})
    assert verdicts(recommend(history(queue=lambda i: 10 if i < 4 else 40), host(), lenient))[
        "queue_depth"
    ] == "up"  # fmt: skip


def test_the_samples_host_is_judged_not_this_machine():
    """Where the samples carry the agent's host, this machine's reading does not count: a
    worker host elsewhere is not the machine that runs the command."""
    rec = recommend(hosted(cpu=20, memory=30, load=0.5, cores=8), host(cpu=99, memory=99, load5=9))
    assert rec.action != "scale up", rec.summary
    assert verdicts(rec)["cpu"] == "down" and verdicts(rec)["load"] == "down"
    loaded = recommend(hosted(load=3.0, cores=2), host(cores=64))  # against the samples' 2 cores
    assert "Load (5 min, 2 cores) > 2.00 (critical)" in loaded.summary
    upgraded = history(n=31)[:25] + hosted(n=6)  # rows from before the host fields, then 5 min
    rec = recommend(upgraded, host(cpu=99))
    assert verdicts(rec)["queue_depth"] == "hold"  # the job figures: all 31 samples
    assert verdicts(rec)["cpu"] == "unknown"  # the host: only 5 min of it, and not this machine
    assert {r.rule for r in recommend(history(), None).reasons}.isdisjoint({"cpu", "memory"})


def test_a_short_history_judges_nothing_consistently():
    short = recommend(history(n=10, queue=100), host())  # 9 minutes of a 30 min window
    assert short.action == "hold" and verdicts(short)["queue_depth"] == "unknown"
    text = {r.rule: r.text for r in short.reasons}["queue_depth"]
    assert text == "Queue depth 100 now: not enough history for 30 min to judge"
    assert short.summary == "Nothing calls for scaling up; not enough history to scale down: hold"


def test_below_every_threshold_scales_down_and_one_figure_holds_it():
    quiet = hosted(queue=2, ms=30_000, errors=1, cpu=10, memory=30, load=0.4)
    rec = recommend(quiet, None)
    assert rec.action == "scale down"
    assert all(r.verdict == "down" for r in rec.reasons)
    busy_cpu = recommend(hosted(queue=2, ms=30_000, errors=1, cpu=50, memory=30, load=0.4), None)
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
        ({"consistently": 40}, "capacity.consistently: expected a percentage above 50"),
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


def capacity(url, *args):
    r = subprocess.run(
        jobtui_cmd("capacity", "--url", url, *args), capture_output=True, text=True, timeout=60
    )
    assert r.returncode in (0, 1), r.stderr
    return r


def test_the_command_judges_the_agents_last_half_hour(agent_factory):
    """Half an hour of the agent's samples (its collector off, so they are all ours): the
    queue and the agent host's CPU are consistently high; one calm last sample changes
    nothing, and this machine's reading does not count."""
    a = agent_factory({"agent": {"metrics_collection": False}})
    now = utcnow()
    for i in range(31):
        a.store.add_sample(
            PerformanceMetrics(
                now - timedelta(minutes=30 - i), 35, 1.0, 99.0, 1.0, 30_000, 85.0, 60, 1440,
                cpu_percent=20.0 if i == 30 else 85.0, memory_percent=50.0,
                load_average=0.5, cpu_count=2,
            )
        )  # fmt: skip
    r = capacity(a.url, "--format", "json")
    body = json.loads(r.stdout)
    reasons = {x["rule"]: x for x in body["reasons"]}
    assert r.returncode == 1 and body["action"] == "scale up" and not body["urgent"]
    assert (
        reasons["queue_depth"]["text"]
        == "Queue depth > 30 in 31 of 31 samples over 30 min (now 35)"
    )
    assert reasons["cpu"]["text"] == "CPU > 80.0% in 30 of 31 samples over 30 min (now 20.0%)"
    assert reasons["load"]["text"].startswith("Load (5 min, 2 cores) < 0.60 in 31 of 31")
    assert body["latest"]["cpuCount"] == 2 and body["host"]["cores"] >= 1
    text = capacity(a.url).stdout
    assert (
        "Agent's host (its samples): CPU 20.0% of 2 cores, memory 50.0%, load (5 min) 0.50" in text
    )
    assert "one reading" not in text and body["hostFrom"] == "samples"


def test_the_command_against_the_seeds_app(seed_server):
    """The seed's samples carry no host: the job figures are judged over them, the host is
    this machine's one reading."""
    samples = seed_metrics(31)
    for s in samples:
        s["queueDepth"] = 40
    seed_server.set(
        "GET", "/api/monitoring/metrics",
        Canned(body={"count": 31, "timespan": "1 hours", "metrics": samples}),
    )  # fmt: skip
    r = capacity(seed_server.url, "--format", "json")
    body = json.loads(r.stdout)
    reasons = {x["rule"]: x for x in body["reasons"]}
    assert r.returncode == 1 and reasons["queue_depth"]["verdict"] == "up"
    assert reasons["queue_depth"]["text"].startswith("Queue depth > 30 in 31 of 31 samples")
    assert reasons["cpu"]["verdict"] != "unknown" and body["hostFrom"] == "this machine"
    text = capacity(seed_server.url).stdout
    assert "(this machine, one reading: the server's samples carry no host figures)" in text
    for s in samples:  # a quiet half hour, then one deep queue
        s["queueDepth"] = 3
    samples[-1]["queueDepth"] = 80
    body = json.loads(capacity(seed_server.url, "--format", "json", "--no-host").stdout)
    reasons = {x["rule"]: x for x in body["reasons"]}
    assert reasons["queue_depth"]["verdict"] == "down" and not body["urgent"]  # 30 of 31 < 5
    assert not {"cpu", "memory", "load"} & set(reasons)
