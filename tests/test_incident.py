"""Incident response: the seed's severity examples, the report, and ``--respond`` against the
real agent with a real SMTP server and webhook receiver, including failing steps."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller

from jobtui.alerting.engine import Alert, Sent
from jobtui.alerting.state import StateFile
from jobtui.config import ConfigError, load_config
from jobtui.contract import (
    BackupInfo,
    BackupList,
    ErrorCategory,
    ErrorsReport,
    Health,
    MetricsHistory,
    PerformanceMetrics,
    decode,
)
from jobtui.incident import (
    Evidence,
    classify,
    declare,
    load_incident_config,
    parse_incident,
    render,
)
from tests.alerting_support import Mailbox, Reply, running_receiver
from tests.support import Canned, add_job, add_jobs, add_stuck, free_port, jobtui_cmd, seed_health

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
CONFIG = load_config(None, env={"XDG_CONFIG_HOME": "/nonexistent"})


def snap(health: dict[str, Any] | None = None, status: int = 200, **parts: Any) -> Evidence:
    s = Evidence(NOW, "prod", "https://jobs.example.com")
    if health is not None:
        s.health, s.health_status = decode(Health, health), status
    else:
        s.problems["health"] = "cannot connect to https://jobs.example.com: Connection refused"
    for k, v in parts.items():
        setattr(s, k, v)
    return s


def healthy(**metrics: Any) -> dict[str, Any]:
    base = {
        "queueDepth": 0,
        "errorRate": 0.0,
        "successRate": 100.0,
        "averageProcessingTime": 30_000,
    }
    return seed_health(metrics={**base, **metrics})


def errors(*cats: tuple[str, int, timedelta], hours: int = 1) -> ErrorsReport:
    return ErrorsReport(
        hours,
        sum(n for _, n, _ in cats),
        sum(n for _, n, _ in cats),
        tuple(
            ErrorCategory(c, "critical" if c == "Database" else "medium", n, "do x",
                          NOW - ago, NOW - ago, f"{c} error")
            for c, n, ago in cats
        ),
    )  # fmt: skip


UNAVAILABLE = seed_health(
    status="critical",
    message="Database connection failed",
    systemStatus={"monitor": False, "manager": False, "config": True},
)
STALLED = healthy(queueDepth=4, lastProcessedAt="2026-11-29T02:40:00Z")


@pytest.mark.parametrize(
    ("s", "level", "text"),
    [
        # Level 1: critical incidents
        (snap(None), 1, "System completely down: cannot connect"),
        (snap(UNAVAILABLE, 503), 1, "Database connection failure: the server cannot reach"),
        (
            snap(healthy(), recent_errors=errors(("Database", 3, 4 * MIN))),
            1,
            "Database connection failure: 3 job(s) failed with database errors, the last 4 min ago",
        ),
        (snap(STALLED), 1, "Complete processing stoppage: Processing stalled"),
        (
            snap(healthy(), backups=BackupList((BackupInfo("b1.json", NOW, 10, 5, False, "x"),))),
            1,
            "Data corruption: 1 backup(s) fail their checksum (b1.json)",
        ),
        # Level 2: high
        (snap(healthy(queueDepth=51)), 2, "Queue depth 51 > 50"),
        (snap(healthy(errorRate=21.0, successRate=79.0)), 2, "Error rate 21.0% > 20.0%"),
        (snap(healthy(averageProcessingTime=16 * 60_000)), 2, "Average processing time 16.0 min"),
        (snap(seed_health(health={"stuckJobsCount": 6})), 2, "Stuck jobs 6 > 5"),
        # Level 3: medium
        (snap(healthy(queueDepth=21)), 3, "Queue depth 21 > 20"),
        (snap(healthy(errorRate=15.0, successRate=85.0)), 3, "Error rate 15.0% > 10.0%"),
        (snap(healthy(averageProcessingTime=10 * 60_000)), 3, "Average processing time 10.0 min"),
        (snap(seed_health(health={"stuckJobsCount": 3})), 3, "Stuck jobs 3 > 2"),
        # Level 4: low
        (
            snap(healthy(errorRate=3.0), recent_errors=errors(("Validation", 2, 10 * MIN))),
            4,
            "Isolated errors: 2 failed jobs in the last hour",
        ),
        (snap(healthy(averageProcessingTime=3 * 60_000)), 4, "Slightly elevated processing times"),
        (snap(seed_health(health={"stuckJobsCount": 1})), 4, "Stuck jobs at or below the warning"),
    ],
)
def test_severity_of_each_seed_example(s, level, text):
    a = classify(s, CONFIG)
    assert a.severity == level, a.findings
    assert any(f.level == level and f.text.startswith(text) for f in a.findings), a.findings


def test_old_database_errors_and_a_healthy_system_are_no_incident():
    s = snap(healthy(), recent_errors=errors(("Database", 3, 40 * MIN)))
    assert classify(s, CONFIG).severity == 4  # isolated errors, not an outage
    a = classify(snap(healthy()), CONFIG)
    assert (a.severity, a.findings, a.title) == (None, (), "No incident: the system is healthy")


def test_what_cannot_be_observed_is_declared_by_hand():
    breach = declare(classify(snap(healthy()), CONFIG), 1, "Security breach: admin token leaked")
    assert (
        breach.severity == 1
        and breach.title == "Level 1 (Critical): Security breach: admin token leaked"
    )
    ui = declare(classify(snap(healthy()), CONFIG), 4, "Minor UI issue: chart colours")
    assert ui.severity == 4 and ui.findings[0].component == "declared by hand"


def test_the_report_has_every_section_and_the_seeds_templates(tmp_path):
    state = StateFile(tmp_path / "state.json")

    def fire(s):
        s.alerts["queue_depth"] = Alert(
            "queue_depth", "firing", "critical", started_at=NOW - 20 * MIN,
            text="Queue depth 62 > 50", notified={"pager": Sent("firing", "critical", NOW - 19 * MIN)},
        )  # fmt: skip

    state.update(fire)
    samples = tuple(
        PerformanceMetrics(NOW - (30 - i) * MIN, q, 1, 100, 0, 30_000, 10, 60, 1440)
        for i, q in enumerate([5] * 10 + [25] * 10 + [62] * 11)
    )
    s = snap(
        healthy(queueDepth=62),
        history=MetricsHistory(len(samples), "24 hours", samples),
        errors=errors(("Validation", 4, 5 * MIN), hours=24),
        stuck=(),
        state=state.read(),
    )
    cfg = parse_incident(
        {"service": "story generation", "status_page_url": "https://status.example.com"}, {}
    )
    a = classify(s, CONFIG, cfg)
    text = render(s, a, CONFIG, cfg, path=tmp_path / "r.md")
    for heading in ("## Summary", "## Severity", "## Timeline", "## Figures", "## Top errors",
                    "## Stuck jobs", "## Recommendations", "### Internal alert",
                    "### User communication", "### Resolution notice"):  # fmt: skip
        assert heading in text
    assert text.startswith("# Incident report: Level 2 (High): Queue depth 62 > 50")
    assert "[INCIDENT] [HIGH] Background Job System Issue" in text
    # a cause was classified (the queue): the seed's IDENTIFIED
    assert "Status: IDENTIFIED" in text and "Next Update: 2026-11-29 04:00:00 UTC" in text
    assert "issues with our story generation system" in text
    assert "Status updates will be posted here: https://status.example.com" in text
    assert (
        "| 2026-11-29 02:40:00 | watch: CRITICAL queue_depth fired — Queue depth 62 > 50 |" in text
    )
    assert "| 2026-11-29 02:41:00 | watch: pager told queue_depth is firing (critical) |" in text
    assert "metrics: Queue depth 25 > 20 (warning)" in text
    assert "metrics: Queue depth 62 > 50 (critical)" in text
    assert "Capacity: scale up" in text  # the capacity rules saw the queue rise


def test_incident_config_errors():
    with pytest.raises(ConfigError, match=r"incident\.notifiers: expected a list"):
        parse_incident({"notifiers": "pager"}, {})
    with pytest.raises(ConfigError, match=r"incident\.colour: unknown key"):
        parse_incident({"colour": 1}, {})
    assert load_incident_config(CONFIG).service == "background job"


# --------------------------------------------------------------------------- --respond, end to end


class SMTP:
    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SMTP:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def config_file(tmp: Path, smtp: SMTP, hook: str) -> Path:
    cfg = {
        "watch": {"state_file": str(tmp / "state.json")},
        "notifiers": {
            "oncall": {"type": "email", "host": "127.0.0.1", "port": smtp.port, "security": "none",
                       "from": "jobtui@example.com", "to": "oncall@example.com", "timeout": "3s"},
            "pager": {"type": "webhook", "url": hook, "timeout": "3s"},
        },
        "incident": {"dir": str(tmp / "incidents"), "service": "story generation"},
    }  # fmt: skip
    path = tmp / "jobtui.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def respond(tmp: Path, cfg: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        jobtui_cmd("incident", "--respond", "--config", str(cfg), "--url", url),
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp), "XDG_STATE_HOME": str(tmp / "state")},
    )


def test_respond_runs_every_step_and_records_a_failing_one(agent_factory, tmp_path):
    a = agent_factory()
    stuck = [
        {"status": "processing", "created": 30 * MIN, "started": 30 * MIN, "updated": 20 * MIN}
    ]
    add_jobs(a.store, stuck * 3 + [{"status": "pending"}] * 3)
    with SMTP() as smtp, running_receiver() as hooks:
        hooks.on("/pager", Reply(500, "receiver down"))  # the first alert fails; the next works
        r = respond(tmp_path, config_file(tmp_path, smtp, hooks.url + "/pager"), a.url)
        assert r.returncode == 1, r.stderr
        lines = r.stdout.splitlines()
        # the stuck jobs also stalled processing: the server says so, and that is Level 1
        assert lines[0].startswith("Level 1 (Critical): Complete processing stoppage: ")
        assert [x.split()[:2] for x in lines[1:6]] == [
            ["ok", "backup:"], ["FAILED", "alert:"], ["ok", "health"], ["ok", "recovery:"],
            ["ok", "recovery"],
        ]  # fmt: skip
        assert "pager: FAILED: HTTP 500: receiver down" in lines[2] and "oncall: sent" in lines[2]
        report = Path(lines[-1]).read_text()
        subjects = [m["Subject"] for m in smtp.mailbox.messages]
        webhook = [x.body for x in hooks.at("/pager")]
    assert len(subjects) == 3  # the incident, the recovery status, the urgent failure
    assert subjects[0].startswith("[CRITICAL] jobtui 127.0.0.1:")
    assert "CRITICAL INCIDENT: Background Job System — Level 1 (Critical)" in subjects[0]
    assert subjects[1].endswith("Recovery Status: Automatic recovery completed successfully")
    assert subjects[1].startswith("[INFO]")
    # a step failed: the seed's urgent alert, to both (the pager worked for the second alert)
    assert subjects[2].endswith("URGENT: Incident Response Failed")
    urgent = webhook[2]["alerts"][0]["annotations"]
    assert urgent["summary"] == "URGENT: Incident Response Failed"
    assert urgent["recommendation"].startswith(
        "Automatic incident response failed, immediate manual intervention required"
    )
    assert (
        "- alert: oncall: sent; pager: FAILED: HTTP 500: receiver down" in urgent["recommendation"]
    )
    assert lines[6] == "  URGENT: Incident Response Failed: oncall: sent; pager: sent"
    assert (
        webhook[1]["alerts"][0]["labels"]["severity"] == "info"  # a notice, not a resolution
        and webhook[1]["alerts"][0]["labels"]["alertname"] == "incident"
    )
    assert (
        "4 of 5 steps succeeded; failed: alert. A failed step does not stop the ones after it"
        in report
    )
    assert "Status: RESOLVING" in report
    assert "| `" in report.split("## Stuck jobs")[1].split("##")[0]  # the 3 stuck jobs are listed
    assert (
        len(list((tmp_path / "backups").glob("jobs_backup_*Z.json"))) == 2
    )  # the sequence's and recovery's
    assert (
        a.store.snapshot(datetime.now(UTC), timedelta(hours=24), timedelta(minutes=10)).stuck == 0
    )  # recovered


def test_a_failed_backup_and_recovery_still_alert(agent_factory, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    a = agent_factory({"agent": {"backups": {"dir": str(blocker / "backups")}}})
    add_job(a.store, status="failed", error="Database connection failed: refused", finished=MIN)
    with SMTP() as smtp, running_receiver() as hooks:
        r = respond(tmp_path, config_file(tmp_path, smtp, hooks.url + "/pager"), a.url)
        subjects = [m["Subject"] for m in smtp.mailbox.messages]
        assert len(hooks.at("/pager")) == 3  # the incident, the recovery status, the urgent
    assert r.returncode == 1
    assert r.stdout.startswith("Level 1 (Critical): Database connection failure: 1 job(s)")
    report = Path(r.stdout.splitlines()[-1]).read_text()
    assert "3 of 5 steps succeeded; failed: backup, recovery." in report
    assert subjects[1].startswith("[CRITICAL]")
    assert subjects[1].endswith("Automatic recovery failed, manual intervention required")
    assert "Status: IDENTIFIED" in report  # the database errors: a cause, not yet resolving
    assert subjects[2].endswith("URGENT: Incident Response Failed")


def test_without_respond_a_report_even_when_the_server_is_down(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"incident": {"dir": str(tmp_path / "out")}}))
    r = subprocess.run(
        jobtui_cmd("incident", "--config", str(cfg), "--url", "http://127.0.0.1:1"),
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Level 1 (Critical): System completely down: cannot connect")
    path = Path(r.stdout.splitlines()[-1])
    assert path.parent == tmp_path / "out" and oct(path.stat().st_mode)[-3:] == "600"
    assert "## What could not be read" in path.read_text()


# --------------------------------------------------------------------------- a response that fails


def test_the_urgent_alert_goes_only_to_the_notifiers_that_work(agent_factory, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    a = agent_factory({"agent": {"backups": {"dir": str(blocker / "backups")}}})
    with SMTP() as smtp, running_receiver() as hooks:
        hooks.default["/pager"] = Reply(500, "receiver down")  # it never works
        r = respond(tmp_path, config_file(tmp_path, smtp, hooks.url + "/pager"), a.url)
        subjects = [m["Subject"] for m in smtp.mailbox.messages]
        pager = hooks.at("/pager")
        last = smtp.mailbox.messages[-1]
    assert r.returncode == 1
    assert len(pager) == 2  # the incident and the recovery status: not the urgent alert
    assert subjects[-1].endswith("URGENT: Incident Response Failed") and len(subjects) == 3
    text = "".join(p.get_payload(decode=True).decode() for p in last.walk() if not p.is_multipart())
    assert "Automatic incident response failed, immediate manual intervention required" in text
    assert "- backup: " in text and "- recovery: " in text  # which steps failed
    lines = r.stdout.splitlines()
    assert lines[0] == "No incident: the system is healthy"  # it was delivered: nothing louder
    assert "  URGENT: Incident Response Failed: oncall: sent" in lines
    report = Path(lines[-1]).read_text()
    assert "**URGENT: Incident Response Failed** was sent: oncall: sent." in report


def test_no_notifier_configured_is_the_first_line_and_in_the_report(agent_factory, tmp_path):
    a = agent_factory()
    add_stuck(a.store, 3)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"incident": {"dir": str(tmp_path / "out")}}))
    r = respond(tmp_path, cfg, a.url)
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == (
        "NO NOTIFIER CONFIGURED: this incident response alerted nobody "
        "(add notifiers: to the config)"
    )
    assert lines[1].startswith("Level 3 (Medium): Stuck jobs 3 > 2")
    assert "FAILED alert: no notifiers configured" in r.stdout
    report = Path(lines[-1]).read_text()
    assert report.splitlines()[2] == (
        "**NO NOTIFIER CONFIGURED: this incident response alerted nobody "
        "(add notifiers: to the config).**"
    )
    assert "Incident Response Failed**, and no notifier to send it through." in report
    assert "Status: RESOLVING" in report  # the recovery itself worked


def test_respond_against_the_seeds_server_its_missing_backup_is_urgent(seed_server, tmp_path):
    """The seed's app has no backup endpoint: that step fails, the urgent alert says so."""
    seed_server.set(
        "GET", "/api/jobs/health", Canned(body=seed_health(health={"stuckJobsCount": 6}))
    )
    with SMTP() as smtp, running_receiver() as hooks:
        r = respond(tmp_path, config_file(tmp_path, smtp, hooks.url + "/pager"), seed_server.url)
        subjects = [m["Subject"] for m in smtp.mailbox.messages]
        urgent = hooks.at("/pager")[-1].body["alerts"][0]["annotations"]
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Level 2 (High): Stuck jobs 6 > 5"
    assert [x.split()[:2] for x in lines[1:3]] == [["FAILED", "backup:"], ["ok", "alert:"]]
    assert lines[6] == "  URGENT: Incident Response Failed: oncall: sent; pager: sent"
    assert subjects[-1].endswith("URGENT: Incident Response Failed")
    assert urgent["summary"] == "URGENT: Incident Response Failed"
    assert "- backup: " in urgent["recommendation"]
    assert ("POST", "/api/admin/recovery") in [(m, p) for m, p, _ in seed_server.requests]
    report = Path(lines[-1]).read_text()
    assert "Status: RESOLVING" in report


def test_the_report_has_the_seeds_team_procedure_and_statuses(tmp_path):
    def status(a: Any) -> str:
        text = render(snap(healthy()), a, CONFIG, parse_incident({}, {}))
        return next(x for x in text.splitlines() if x.startswith("- **Status:**"))

    assert status(classify(snap(healthy(queueDepth=51)), CONFIG)).endswith("IDENTIFIED")
    assert status(classify(snap(None), CONFIG)).endswith("INVESTIGATING")  # why is it down?
    assert status(classify(snap(healthy()), CONFIG)).endswith("RESOLVED")
    assert status(declare(classify(snap(healthy()), CONFIG), 2, None)).endswith("INVESTIGATING")
    a = classify(snap(healthy(queueDepth=51)), CONFIG)
    text = render(snap(healthy(queueDepth=51)), a, CONFIG, parse_incident({}, {}))
    team = text.split("## Response team")[1].split("\n## ")[0]
    for role in ("Primary Responder", "Incident Manager", "Technical Lead", "Communications Lead"):
        assert f"| **{role}** |" in team
    proc = text.split("## Response procedure")[1].split("\n## ")[0]
    phases = [x for x in proc.splitlines() if x[:1].isdigit()]
    assert phases == [
        "1. **Detection & Reporting**", "2. **Assessment & Triage**", "3. **Containment**",
        "4. **Investigation**", "5. **Resolution**", "6. **Recovery**",
        "7. **Post-Incident Review**",
    ]  # fmt: skip
    assert "   - [x] Determine severity level" in proc  # what jobtui did is ticked
    assert "   - [ ] Assign incident owner" in proc  # what people do is not
    assert "   - [ ] Protect user data" in proc  # no backup without --respond
    assert "Classified cause: Queue depth 51 > 50." in proc
    assert "Status: IDENTIFIED" in text.split("### Internal alert")[1]


def test_when_no_notifier_delivers_the_urgent_alert_the_first_line_says_so(seed_server, tmp_path):
    cfg = tmp_path / "c.yaml"
    with running_receiver() as hooks:
        hooks.default["/pager"] = Reply(500, "receiver down")
        notifiers = {"pager": {"type": "webhook", "url": hooks.url + "/pager", "timeout": "3s"}}
        cfg.write_text(
            yaml.safe_dump({"notifiers": notifiers, "incident": {"dir": str(tmp_path / "out")}})
        )
        r = respond(tmp_path, cfg, seed_server.url)
        assert len(hooks.at("/pager")) == 3  # none worked: the urgent alert tried it once more
    lines = r.stdout.splitlines()
    assert r.returncode == 1
    assert lines[0].startswith("URGENT: Incident Response Failed, and no notifier could deliver")
    assert "  URGENT: Incident Response Failed: pager: FAILED: HTTP 500: receiver down" in lines
    assert "**URGENT: Incident Response Failed, and no notifier" in Path(lines[-1]).read_text()
