"""``jobtui logs analyze`` as the seed's analyze-logs.sh runs it: the agent's own all.log by
default, the report written beside it and mailed, and our agent's completed jobs counted as
the seed's successful operations."""

from __future__ import annotations

import json
import re
import stat
import subprocess
from pathlib import Path

import yaml

from tests.support import jobtui_cmd, wait_for
from tests.test_alerting_notifiers import SMTPServer, email_spec


def analyze(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        jobtui_cmd("logs", "analyze", *args), capture_output=True, text=True, timeout=60, cwd=cwd
    )


def empty(tmp: Path) -> Path:
    cfg = tmp / "empty.yaml"
    cfg.write_text("{}\n")
    return cfg


def test_our_agents_log_counts_completed_jobs_as_successes_reported_and_mailed(agents, tmp_path):
    logs = tmp_path / "logs"
    a = agents(extra_args=["--demo", "--log-dir", str(logs)])
    all_log = logs / "all.log"
    wait_for(lambda: all_log.read_text().count("Job completed:") >= 10, timeout=60)
    a.stop()
    elsewhere = tmp_path / "elsewhere"  # the log is found by the config, not the cwd
    elsewhere.mkdir()
    with SMTPServer(tmp_path) as smtp:
        cfg = tmp_path / "ops.yaml"
        cfg.write_text(
            yaml.safe_dump(
                {
                    "logging": {"dir": str(logs)},
                    "notifiers": {"mail": email_spec(smtp, security="none")},
                }
            )
        )
        r = analyze(elsewhere, "--config", str(cfg), "--report", "--notify", "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["file"] == str(all_log)
    completed = out["jobs"]["completed"]
    assert completed >= 10
    assert out["successes"]["patterns"]["Job completed successfully"] == completed
    assert out["successes"]["total"] >= completed
    # The seed's file, beside the log: private, whole, the text report.
    (written,) = logs.glob("analysis_*.txt")
    assert re.fullmatch(r"analysis_\d{8}\.txt", written.name)
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert not [p for p in logs.iterdir() if p.name.startswith(".")]
    text = written.read_text()
    assert f"Successful Operations: {out['successes']['total']:,}" in text
    assert f"Jobs completed: {completed:,}" in text
    assert f"Report written to {written}" in r.stderr and "Report sent to mail" in r.stderr
    (mail,) = smtp.mailbox.messages
    tag = "CRITICAL" if out["critical"]["total"] else "INFO"  # a notice, as the seed mails it
    assert re.match(rf"\[{tag}\] jobtui .*: Log analysis of all\.log: ", mail["Subject"])
    plain = mail.get_body(("plain",)).get_content()
    assert "Log Analysis Report - " in plain and f"Jobs completed: {completed:,}" in plain


def test_with_no_file_it_reads_logs_all_log_and_says_so_when_missing(tmp_path):
    r = analyze(tmp_path, "--config", str(empty(tmp_path)))
    assert r.returncode == 2
    assert r.stderr.strip() == "jobtui logs analyze: logs/all.log: no such file"
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "all.log").write_text(
        "2026-11-29 03:00:00.000 INFO jobtui.demo: Job completed: 1 - Job completed successfully\n"
    )
    r = analyze(tmp_path, "--config", str(empty(tmp_path)))
    assert r.returncode == 0, r.stderr
    assert "Successful Operations: 1" in r.stdout and "Jobs completed: 1" in r.stdout


def test_report_and_notify_refuse_what_they_cannot_do(tmp_path):
    log = tmp_path / "a.log"
    log.write_text("2026-11-29 03:00:00.000 ERROR jobtui.agent: Out of memory\n")
    cases = [
        (["-", "--report"], "--report writes beside the log file: give a FILE, not standard input"),
        (
            [str(log), "--report", "--read-only"],
            "--report writes a file, which --read-only forbids",
        ),
        (
            [str(log), "--notify", "--config", str(empty(tmp_path))],
            "--notify: no notifiers configured (see notifiers: in config.example.yaml)",
        ),
    ]
    for args, problem in cases:
        r = analyze(tmp_path, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.strip() == f"jobtui logs analyze: {problem}"
    assert not list(tmp_path.glob("analysis_*"))
