"""Which actions a job allows (its status, or exactly its server's ``actions``), and how
durations are written."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from jobtui.contract import Job, decode, encode, utcnow
from jobtui.dashboard.actions import job_actions, job_refusal
from jobtui.dashboard.format import short_id, took

NOW = utcnow()
JOB = Job("j1", "story_generation", "pending", 0, None, None, 0, 3, NOW, NOW)


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        ("pending", {"cancel"}),
        ("processing", {"cancel"}),
        ("failed", {"retry"}),
        ("cancelled", {"retry"}),
        ("completed", set()),
    ],
)
def test_by_status(status: str, allowed: set[str]) -> None:
    assert job_actions(replace(JOB, status=status)) == allowed


def test_the_servers_actions_are_exactly_what_is_offered() -> None:
    wire = {**encode(JOB), "status": "completed", "actions": ["retry"]}
    job = decode(Job, wire)
    assert job.actions == ("retry",)
    assert job_actions(job) == {"retry"}
    assert job_refusal(job, "retry") is None
    assert job_refusal(job, "cancel") == (
        "Job j1 is completed: the server offers retry for it, not cancel."
    )
    nothing = decode(Job, {**wire, "status": "failed", "actions": []})
    assert job_actions(nothing) == set()
    assert decode(Job, {k: v for k, v in wire.items() if k != "actions"}).actions is None


def test_a_refusal_says_what_the_status_allows() -> None:
    done = replace(JOB, status="completed")
    assert job_refusal(done, "retry") == (
        "Job j1 is completed: only failed or cancelled jobs can be retried."
    )
    assert job_refusal(None, "cancel") == "No job selected."


def test_durations_under_a_second_are_in_ms() -> None:
    assert took(0.25) == "250 ms"
    assert took(0) == "0 ms"
    assert took(1.5) == "1s"
    assert took(timedelta(minutes=3, seconds=5).total_seconds()) == "3m 5s"


def test_short_ids_keep_what_tells_jobs_apart():
    """Was: every id cut to its first 8 characters, no marker: import-batch-17 and -18 were
    both "import-b"."""
    assert short_id("00000002-7c1e-4a55-9d3f-2b6e00000002") == "00000002"  # a UUID, as git
    assert short_id("import-batch-17") == "imp…h-17" != short_id("import-batch-18")
    assert short_id("job[/]1") == "job[/]1"
    assert len(short_id("x" * 100)) == 8
