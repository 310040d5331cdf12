"""The agent against its own ``/openapi.json``: a bounded schemathesis run with every check,
on SQLite and on PostgreSQL, over demo-like jobs, answers as the spec says (zero failures).

The run's bounds and its one documented exception (the opaque cursor) are in
``tests/schemathesis.toml``; ``JOBTUI_FUZZ_SEED`` runs another seed than the fixed one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from jobtui.agent.demo import ERRORS, JOB_TYPES
from jobtui.agent.store import JobStore
from tests.support import ROOT, add_jobs, add_stuck

READ, ADMIN = "fuzz-read-token", "fuzz-admin-token"
KEEP = 5  # agent.backups.keep_count: recovery and backups are fuzzed hundreds of times
SEED = os.environ.get("JOBTUI_FUZZ_SEED", "13")
RUN_TIMEOUT = 240  # seconds; a run took 30 s (SQLite) and 52 s (PostgreSQL) on two busy cores


def demo_jobs(store: JobStore) -> None:
    """Jobs in every status, of the demo's types, failed with the demo's errors; two stuck."""
    specs = []
    statuses = ("pending", "processing", "completed", "failed", "cancelled")
    for i in range(60):
        status = statuses[i % len(statuses)]
        age = timedelta(minutes=120 - i)
        done = status in ("completed", "failed", "cancelled")
        specs.append(
            {
                "status": status,
                "type": JOB_TYPES[i % len(JOB_TYPES)],
                "error": ERRORS[i % len(ERRORS)] if status == "failed" else None,
                "message": "Job failed" if status == "failed" else None,
                "created": age,
                "started": age - timedelta(seconds=5) if status != "pending" else None,
                "finished": age - timedelta(seconds=40) if done else None,
                "attempts": 3 if status == "failed" else int(status != "pending"),
                "progress": 100 if status == "completed" else 0,
            }
        )
    add_jobs(store, specs)
    add_stuck(store, 2)


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_every_fuzzed_request_is_answered_as_the_spec_says(agent_factory, tmp_path: Path):
    agent = agent_factory(
        {"agent": {"backups": {"keep_count": KEEP}}},
        env={"JOBTUI_READ_TOKEN": READ, "JOBTUI_ADMIN_TOKEN": ADMIN},
    )
    demo_jobs(agent.store)
    cmd = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(ROOT / "tests" / "schemathesis.toml"),
        "run", f"{agent.url}/openapi.json",
        "--url", agent.url,
        "--header", f"Authorization: Bearer {ADMIN}",  # the admin routes too
        "--checks", "all",
        "--seed", SEED,
    ]  # fmt: skip
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    run = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    report = run.stdout[-12_000:] + run.stderr[-4_000:]
    assert run.returncode == 0, f"schemathesis (seed {SEED}) found failures:\n{report}"
    assert "No issues found" in run.stdout, report
    assert "Traceback" not in agent.stderr(), agent.stderr()[-4_000:]
    backups = [p.name for p in agent.backups_dir.glob("jobs_backup_*.json*")]
    assert len([n for n in backups if not n.endswith(".meta.json")]) <= KEEP, sorted(backups)
