"""One threshold rule everywhere: a figure exactly at its threshold trips nothing, in the
agent's health answer, in ``check``/``watch`` and in the incident's levels; and one reader of
the health answer's alert lines."""

from __future__ import annotations

import json
import subprocess
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobtui.agent.health import Computed, build_health
from jobtui.alerting.observe import observe
from jobtui.client import Timed
from jobtui.config import AgentConfig, CheckConfig, Target, load_config
from jobtui.contract import Health, MetricsHistory, PerformanceMetrics, decode
from jobtui.incident import Evidence, classify, timeline
from jobtui.rules import (
    BY_NAME,
    FIGURE_OF,
    RULES,
    STALLED,
    Figures,
    Levels,
    Thresholds,
    alert_line,
    evaluate,
    parse_alert,
)
from tests.support import add_stuck, jobtui_cmd, seed_health

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
CONFIG = load_config(None, env={"XDG_CONFIG_HOME": "/nonexistent"})
T = Thresholds()


def figures_at(levels: Levels) -> Figures:
    return Figures(**{FIGURE_OF[r.name]: getattr(levels, r.name) for r in RULES})


def health_at(levels: Levels) -> Health:
    """The agent's own health answer with every figure exactly at ``levels``."""
    c = Computed(
        counts={"pending": int(levels.queue_depth)}, queue_depth=int(levels.queue_depth),
        processing=0, capacity=5, success_rate=100 - levels.error_rate,
        error_rate=levels.error_rate, average_processing_time=levels.processing_time,
        wait_time=levels.wait_time, jobs_per_hour=10, jobs_per_day=100,
        stuck=int(levels.stuck_jobs), stalled_for=None, last_processed_at=NOW,
    )  # fmt: skip
    return build_health(
        c, NOW, AgentConfig(), T, levels.resource_utilization,
        monitor=True, processing_enabled=True, collection_enabled=True,
    )  # fmt: skip


def judged(h: Health) -> dict[str, str]:
    target = Target("prod", "http://127.0.0.1:1", None)
    obs = observe(Timed(h, 0.01, 200), at=NOW, target=target, thresholds=T, check=CheckConfig())
    return {r.rule: r.status for r in obs.results if r.rule in FIGURE_OF}


def test_exactly_at_the_warning_thresholds_nothing_trips_anywhere():
    assert evaluate(figures_at(T.warning), T) == []
    h = health_at(T.warning)
    assert (h.status, h.health.alerts) == ("healthy", ())
    assert set(judged(h).values()) == {"healthy"}
    a = classify(Evidence(NOW, "prod", "u", h, 200), CONFIG)
    assert a.severity == 4, a.findings  # only the below-threshold notes of Level 4
    assert {f.text.split(":")[0] for f in a.findings} == {
        "Stuck jobs at or below the warning threshold",
        "Slightly elevated processing times",
    }


def test_exactly_at_the_critical_thresholds_every_figure_is_a_warning():
    found = evaluate(figures_at(T.critical), T)
    assert {f.rule: f.level for f in found} == {r.name: "warning" for r in RULES}
    h = health_at(T.critical)
    assert h.status == "warning" and len(h.health.alerts) == len(RULES)
    assert set(judged(h).values()) == {"warning"}
    a = classify(Evidence(NOW, "prod", "u", h, 200), CONFIG)
    assert a.severity == 3 and {f.level for f in a.findings} == {3}, a.findings
    # the server's alerts are ours, read back: no finding twice
    assert len(a.findings) == len(RULES)


@pytest.mark.parametrize(("stuck", "level"), [(1, 4), (2, 4), (3, 3), (5, 3), (6, 2)])
def test_stuck_jobs_levels_follow_the_thresholds(stuck, level):
    h = decode(Health, seed_health(health={"stuckJobsCount": stuck}))
    assert classify(Evidence(NOW, "prod", "u", h, 200), CONFIG).severity == level


def test_the_timeline_crossings_use_the_same_rule():
    samples = tuple(
        PerformanceMetrics(NOW.replace(minute=i), q, 1, 100, e, 30_000, 10, 60, 1440)
        for i, (q, e) in enumerate([(20, 10.0), (50, 20.0), (51, 20.5), (20, 10.0)])
    )
    ev = Evidence(NOW, "prod", "u", history=MetricsHistory(4, "24 hours", samples))
    events = [text for _, text in timeline(ev, CONFIG)]
    assert events == [
        "metrics: Queue depth 50 > 20 (warning)",  # 20 is not above 20
        "metrics: Error rate 20.0% > 10.0% (warning)",
        "metrics: Queue depth 51 > 50 (critical)",  # 50 was not above 50
        "metrics: Error rate 20.5% > 20.0% (critical)",
        "metrics: Queue depth back to 20 (normal)",
        "metrics: Error rate back to 10.0% (normal)",
    ]


def test_every_rule_carries_its_facts():
    for r in (*RULES, STALLED):
        assert r.label and r.component and r.impact and r.recommendation, r
    assert {f.name for f in fields(Figures)} >= {r.figure for r in RULES}


@pytest.mark.parametrize("rule", [*RULES, STALLED], ids=lambda r: r.name)
def test_an_alert_line_reads_back_as_written(rule):
    line = alert_line("critical", f"{rule.label} 7 > 5")
    a = parse_alert(line)
    assert (a.level, a.text, a.rule) == ("critical", f"{rule.label} 7 > 5", rule)
    assert str(a) == line


def test_other_servers_alert_lines():
    a = parse_alert("Warning: queue depth is high")
    assert (a.level, a.rule) == ("warning", BY_NAME["queue_depth"])
    a = parse_alert("Disk almost full")
    assert (a.level, a.text, a.rule) == (None, "Disk almost full", None)
    assert parse_alert("INFO: Queue depthness").rule is None  # no level word, no label match
    assert parse_alert("NOTE: x").level is None


# --------------------------------------------------------------------------- the real agent


def run(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        jobtui_cmd(*args),
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp), "XDG_STATE_HOME": str(tmp / "state")},
    )


CALM = {"warning": {"resource_utilization": 100}, "critical": {"resource_utilization": 100}}


def test_two_stuck_jobs_are_healthy_in_check_and_not_an_incident_level_above_4(agents, tmp_path):
    """The real agent: check, its health answer and incident agree at the threshold."""
    a = agents({"thresholds": CALM})
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"thresholds": CALM, "incident": {"dir": str(tmp_path)}}))
    add_stuck(a.store, 2)

    def both() -> tuple[dict[str, Any], str]:
        c = run("check", "--format", "json", "--config", str(cfg), "--url", a.url, tmp=tmp_path)
        i = run("incident", "--config", str(cfg), "--url", a.url, tmp=tmp_path)
        assert i.returncode == 0, i.stderr
        return json.loads(c.stdout), i.stdout.splitlines()[0]

    check, incident = both()
    stuck = next(r for r in check["rules"] if r["rule"] == "stuck_jobs")
    assert (stuck["status"], check["server"]["status"]) == ("healthy", "healthy")
    assert incident.startswith("Level 4 (Low): Stuck jobs at or below the warning threshold: 2")
    add_stuck(a.store, 3)  # 5: above the warning threshold, at the critical one
    check, incident = both()
    stuck = next(r for r in check["rules"] if r["rule"] == "stuck_jobs")
    assert (stuck["status"], check["server"]["status"]) == ("warning", "warning")
    assert incident.startswith("Level 3 (Medium): Stuck jobs 5 > 2")


def test_at_the_thresholds_the_seeds_server_is_ok_in_check_and_low_in_incident(
    seed_server, tmp_path
):
    """The seed's own app at the warning thresholds: its queue 20 and 2 stuck jobs trip nothing."""
    from tests.support import Canned

    body = seed_health(metrics={"queueDepth": 20, "errorRate": 10.0, "successRate": 90.0},
                       health={"stuckJobsCount": 2})  # fmt: skip
    seed_server.set("GET", "/api/jobs/health", Canned(body=body))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"incident": {"dir": str(tmp_path)}}))
    c = run("check", "--config", str(cfg), "--url", seed_server.url, tmp=tmp_path)
    assert c.returncode == 0 and c.stdout.startswith("JOBTUI OK - queue depth 20"), c.stdout
    i = run("incident", "--config", str(cfg), "--url", seed_server.url, tmp=tmp_path)
    assert i.returncode == 0, i.stderr
    assert i.stdout.startswith("Level 4 (Low): Stuck jobs at or below the warning threshold: 2")
    report = Path(i.stdout.splitlines()[-1]).read_text()
    assert "Status: IDENTIFIED" in report and "Level 2" not in report.split("## Timeline")[0]
