"""What can be done now, and why not: the one home of the dashboard's refusals.

A key that cannot do anything now is dimmed in the footer (``check_action`` answers None, as
Textual does) and, when pressed, the app says why (once). Two reasons exist: read-only
(``--read-only``, or a 401/403 from the admin check) turns off every key that changes the
server; and a job allows only some actions — exactly its ``actions`` when the server sends
that field, else by its status.
"""

from __future__ import annotations

from typing import Any, ClassVar

from jobtui.contract import Job
from jobtui.dashboard import keys
from jobtui.dashboard.format import short_id

BY_STATUS: dict[str, tuple[str, ...]] = {
    "retry": ("failed", "cancelled"),
    "cancel": ("pending", "processing"),
}
DONE = {"retry": "retried", "cancel": "cancelled"}
JOB_KEYS = {"retry": "retry", "cancel_job": "cancel"}  # key action → job action


def job_actions(job: Job) -> frozenset[str]:
    """The actions ``job`` allows now: its ``actions`` field if the server sent it, else the
    contract's rule (retry failed and cancelled jobs, cancel pending and processing ones)."""
    if job.actions is not None:
        return frozenset(job.actions)
    return frozenset(a for a, statuses in BY_STATUS.items() if job.status in statuses)


def job_refusal(job: Job | None, action: str) -> str | None:
    """Why ``action`` (``retry`` or ``cancel``) cannot be done on ``job`` now; None if it can."""
    if job is None:
        return "No job selected."
    if action in job_actions(job):
        return None
    shown = f"Job {short_id(job.id)} is {job.status}"
    if job.actions is not None:
        offered = ", ".join(job.actions) or "nothing"
        return f"{shown}: the server offers {offered} for it, not {action}."
    return f"{shown}: only {' or '.join(BY_STATUS[action])} jobs can be {DONE[action]}."


def read_only_refusal(reason: str) -> str:
    """The refusal of every key that changes the server, while read-only."""
    return f"Disabled: read-only ({reason})."


class Gated:
    """Keys of ``SCOPE`` that are off while they cannot be done. Mixed into a widget, a
    screen or the app; the app follows ``refusal`` when a key does nothing."""

    SCOPE: ClassVar[str]
    app: Any

    def refusal(self, action: str) -> str | None:
        """Why ``action`` (a method name, without arguments) cannot run now; None if it can."""
        reason = getattr(self.app, "read_only", None)
        if reason and keys.changes(action, self.SCOPE):
            return read_only_refusal(reason)
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if self.refusal(action) else True  # None: shown dimmed, does nothing


class JobKeys(Gated):
    """Gated keys among which retry and cancel act on one job: the one ``acted_on`` names."""

    def acted_on(self) -> Job | None:
        raise NotImplementedError

    def refusal(self, action: str) -> str | None:
        why = super().refusal(action)
        if why is None and action in JOB_KEYS:
            why = job_refusal(self.acted_on(), JOB_KEYS[action])
        return why
