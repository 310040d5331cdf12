"""``jobtui errors`` against the real agent and a seed-only server; config error patterns."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta

from jobtui.config import load_config
from tests.hostile import CJK, MARKUP, REFUSED, SHOWN, HostileServer, raw_controls
from tests.support import Canned, add_jobs, jobtui_cmd

MIN = timedelta(minutes=1)


def run(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(jobtui_cmd(*args), capture_output=True, text=True, timeout=60, cwd=cwd)


def failed(message: str, n: int, ago: timedelta = MIN) -> list[dict]:
    return [{"status": "failed", "error": message, "started": ago + MIN, "finished": ago}] * n


def test_categories_most_urgent_first_with_recommendation_and_sample(agent_factory, tmp_path):
    a = agent_factory(
        {
            "error_patterns": {
                "patterns": [{"pattern": "quota", "category": "Quota", "priority": "high"}]
            }
        }
    )
    add_jobs(
        a.store,
        failed("Invalid input: empty prompt", 5)
        + failed("Database connection failed: timeout", 1, ago=2 * 60 * MIN)
        + failed("Database connection failed: refused", 1)
        + failed("Storage quota exhausted", 2)
        + failed("TypeError: x is undefined", 3)
        + failed("Out of memory", 1, ago=timedelta(hours=30)),  # outside the 24 h
    )
    r = run("errors", "--url", a.url)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "12 failed jobs in the last 24 h"
    table = [line.split()[:3] for line in lines[3:7]]
    assert table == [
        ["CRITICAL", "Database", "2"],
        ["HIGH", "Quota", "2"],
        ["MEDIUM", "Unknown", "3"],
        ["LOW", "Validation", "5"],
    ]
    assert "Database (critical, 2): Check database connectivity and credentials" in r.stdout
    assert "  e.g. Database connection failed: refused" in r.stdout  # the newest is the sample
    assert "Unknown (medium, 3): Investigate error and add to known patterns" in r.stdout

    db = next(
        c
        for c in json.loads(run("errors", "--url", a.url, "--format", "json").stdout)["categories"]
        if c["category"] == "Database"
    )
    assert db["firstSeen"] < db["lastSeen"] and len(db["jobIds"]) == 2
    body = json.loads(run("errors", "--url", a.url, "--hours", "1", "--format", "json").stdout)
    counts = {c["category"]: c["count"] for c in body["categories"]}
    assert counts["Database"] == 1 and body["hours"] == 1  # the 2-hour-old failure is out


def test_no_failures(agent):
    r = run("errors", "--url", agent.url, "--hours", "1")
    assert (r.returncode, r.stdout) == (0, "0 failed jobs in the last 1 h\n")


def test_one_line_errors(seed_server, tmp_path):
    r = run("errors", "--url", seed_server.url)  # the seed's app has no errors endpoint
    assert r.returncode == 1
    assert r.stderr == "jobtui errors: GET /api/monitoring/errors: not provided by this server\n"
    r = run("errors", "--url", seed_server.url, "--hours", "0")
    assert r.returncode == 2 and r.stderr == "jobtui errors: --hours must be from 1 to 168, got 0\n"
    r = run("errors", "--url", "http://127.0.0.1:1")
    assert r.returncode == 1 and r.stderr.startswith("jobtui errors: cannot connect to")


def test_config_patterns_come_first_and_can_replace_the_seeds(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text(
        "error_patterns:\n  patterns:\n"
        "    - {pattern: 'database connection failed.*replica', category: Replica, priority: low}\n"
    )
    rules = load_config(f, env={}).errors
    assert rules.classify("Database connection failed on replica 2").category == "Replica"
    assert rules.classify("Database connection failed").category == "Database"
    f.write_text(
        "error_patterns:\n  replace_defaults: true\n  patterns:\n"
        "    - {pattern: 'out of', category: Capacity}\n"
    )
    rules = load_config(f, env={}).errors
    assert rules.classify("Out of memory").category == "Capacity"
    assert rules.classify("Database connection failed").category == "Unknown"


def test_the_servers_text_is_printed_with_control_escaped():
    """A category, recommendation and sample carry ESC and OSC sequences: printed escaped,
    never sent to the terminal; so is a server's error body on stderr."""
    with HostileServer() as server:
        r = run("errors", "--url", server.url)
        assert r.returncode == 0, r.stderr
        assert "database[/]\\x1b[2J" in r.stdout
        assert f"check {MARKUP} {SHOWN['clipboard']}" in r.stdout
        assert f"e.g. {SHOWN['clear']} {SHOWN['bidi']}" in r.stdout
        assert f"{CJK} (low, 1): 🎉" in r.stdout  # printable text stays itself
        assert not raw_controls(r.stdout)
        server.set("GET", "/api/monitoring/errors", Canned(status=500, body={"error": REFUSED}))
        r = run("errors", "--url", server.url)
        assert r.returncode == 1
        assert f"refused {SHOWN['title']}" in r.stderr
        assert not raw_controls(r.stderr)
