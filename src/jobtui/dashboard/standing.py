"""What the top line may say now: the server's status only while its answer is current.

A dashboard that keeps a green HEALTHY up while the server no longer answers lies to the
engineer who trusts it. After a failed health poll, or once the newest answer is older than
two poll intervals, the word is what is known *now* (UNREACHABLE, UNAUTHORIZED, BAD ANSWER,
NO ANSWER) in the critical colour, and the server's last status is only "last known". No
Textual here: the badge, the banner and the terminal title all read one :class:`Standing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from jobtui.dashboard.format import local, since, span
from jobtui.dashboard.state import State, failed_as
from jobtui.errors import InvalidURL, TimedOut, Unauthorized, Unreachable

STALE_AFTER = 2  # poll intervals: an answer older than this is not current
ICON = {"healthy": "●", "warning": "▲", "critical": "✖", "unknown": "○", "paused": "⏸"}

# A failed health poll, by the error's type, as the one word the top line shows.
FAILURE_WORDS: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((Unreachable, TimedOut, InvalidURL), "UNREACHABLE"),
    ((Unauthorized,), "UNAUTHORIZED"),
)


@dataclass(frozen=True, slots=True)
class Standing:
    """The top line's verdict: a word, its colour, and what was last known if it is old."""

    word: str  # HEALTHY, WARNING, CRITICAL, UNREACHABLE, UNAUTHORIZED, BAD ANSWER, …
    level: str  # healthy | warning | critical | unknown | paused: the colour (a CSS class)
    current: bool  # the figures on screen are from an answer that is current
    detail: str = ""  # why the word is what it is (the failure, or the age of the answer)
    last_known: str | None = None  # the server's last status, when the word is not it
    last_at: datetime | None = None  # when that status was answered
    message: str | None = None  # the server's message, when the word is its status

    @property
    def icon(self) -> str:
        return ICON[self.level]

    def since(self, now: datetime) -> str:
        """``last known HEALTHY at 09:12:04 (1 min 18 s ago)``, or "" with nothing known."""
        if self.last_known is None or self.last_at is None:
            return ""
        age = max(0.0, (now - self.last_at).total_seconds())
        return f"last known {self.last_known} at {local(self.last_at, '%H:%M:%S')} ({since(age)})"


def standing(state: State, interval: float, now: datetime, *, paused: bool = False) -> Standing:
    """What the top line says at ``now``, polling health every ``interval`` seconds."""
    feed = state.health
    h = feed.value
    known = (h.status.upper(), feed.updated) if h is not None else (None, None)
    age = feed.age(now)
    if paused:
        return Standing("PAUSED", "paused", False, "polling is paused", *known)
    if feed.error is not None:
        word = next((w for of, w in FAILURE_WORDS if failed_as(feed.kind, *of)), "BAD ANSWER")
        return Standing(word, "critical", False, feed.error, *known)
    if h is None:
        return Standing("CONNECTING", "unknown", False, "waiting for the first answer")
    if age is not None and age > STALE_AFTER * interval:
        detail = f"no answer for {span(age, long=True)}"
        return Standing("NO ANSWER", "critical", False, detail, *known)
    level = h.status if h.status in ("healthy", "warning", "critical") else "unknown"
    return Standing(h.status.upper(), level, True, message=h.message)
