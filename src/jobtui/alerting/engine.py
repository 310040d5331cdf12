"""The alert state machine: pure, driven by poll results and an explicit ``now``.

Per rule, one :class:`Alert`:

- **pending** → **firing** at critical once the rule was critical on its critical hold of
  polls in a row (``for_critical``, 1 by default: the first poll that sees it), else at warning
  once it tripped on its warning hold (``for``). Critical suppresses the warning of the same
  rule: an alert has one level, which escalates after the critical hold and de-escalates after
  ``resolve_after`` polls below critical. Each rule may have its own holds (``per_rule``).
- **firing** → **resolved** after ``resolve_after`` healthy polls in a row. A rule that is not
  evaluated (its figure is missing, or the server is down) keeps its state: no data is not
  good news.
- What each notifier was last sent is kept per alert, so notifications are deduplicated:
  a notifier is due when the alert's status or level differs from what it was sent, or when a
  firing alert was last sent ``repeat_interval`` ago. A silenced rule is evaluated but not sent;
  a notifier that was told an alert fires is told when it resolves (if it sends resolved
  notices), silenced or not, so no receiver is left with an open incident.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from jobtui.alerting.config import Hold, NotifierConfig
from jobtui.alerting.message import AlertStatus, Item, Level
from jobtui.alerting.observe import RuleResult

Phase = Literal["pending", "firing", "resolved"]
RANK = {"warning": 1, "critical": 2}


@dataclass(slots=True)
class Sent:
    """What one notifier was last told about one alert."""

    status: AlertStatus
    level: Level
    at: datetime


@dataclass(slots=True)
class Alert:
    rule: str
    phase: Phase = "pending"
    level: Level = "warning"  # the level it fires at (while firing) or fired at
    bad: int = 0  # polls in a row at warning or worse
    critical: int = 0  # polls in a row at critical
    calm: int = 0  # polls in a row below critical
    good: int = 0  # healthy polls in a row
    started_at: datetime | None = None  # when it (last) started firing
    resolved_at: datetime | None = None
    text: str = ""  # the latest finding
    now_text: str = ""  # the latest figure, once healthy again
    recommendation: str = ""
    value: float | None = None
    threshold: float | None = None
    notified: dict[str, Sent] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transition:
    """A change worth logging: fired, escalated, de-escalated, resolved."""

    rule: str
    event: str
    level: Level
    text: str


@dataclass
class Engine:
    for_polls: int = 2  # the warning hold
    for_critical: int = 1  # the critical hold
    per_rule: Mapping[str, Hold] = field(default_factory=dict)
    resolve_after: int = 2
    repeat_interval: timedelta = timedelta(hours=4)
    send_resolved: bool = True
    alerts: dict[str, Alert] = field(default_factory=dict)

    # ------------------------------------------------------------------ evaluation

    def hold(self, rule: str) -> Hold:
        return self.per_rule.get(rule) or Hold(self.for_polls, self.for_critical)

    def step(
        self, results: Iterable[RuleResult], now: datetime, enabled: Collection[str] | None = None
    ) -> list[Transition]:
        """Feed one poll's results; return what changed."""
        changes: list[Transition] = []
        seen: set[str] = set()
        for r in results:
            if r.status == "unknown" or (enabled is not None and r.rule not in enabled):
                continue
            seen.add(r.rule)
            if r.tripped:
                self._bad(r, now, changes)
            else:
                self._good(r, now, changes)
        if enabled is not None:  # rules switched off in the config since: close them
            for rule in [a for a in self.alerts if a not in enabled]:
                self._resolve(self.alerts[rule], now, changes, "")
        return changes

    def _bad(self, r: RuleResult, now: datetime, changes: list[Transition]) -> None:
        a = self.alerts.get(r.rule)
        if a is None:
            a = self.alerts[r.rule] = Alert(r.rule)
        if a.phase == "resolved":
            a.phase = "pending"
        a.bad += 1
        a.good = 0
        a.critical = a.critical + 1 if r.status == "critical" else 0
        a.calm = 0 if r.status == "critical" else a.calm + 1
        a.text, a.recommendation, a.value = r.text, r.recommendation, r.value
        a.threshold = r.critical if r.status == "critical" else r.warning
        hold = self.hold(a.rule)
        if a.phase == "pending":
            level: Level | None = None
            if a.critical >= hold.critical:
                level = "critical"
            elif a.bad >= hold.warning:
                level = "warning"
            if level:
                a.phase, a.level, a.started_at, a.resolved_at = "firing", level, now, None
                changes.append(Transition(a.rule, "firing", level, a.text))
        elif a.level == "warning" and a.critical >= hold.critical:
            a.level = "critical"
            changes.append(Transition(a.rule, "escalated", "critical", a.text))
        elif a.level == "critical" and a.calm >= self.resolve_after:
            a.level = "warning"
            changes.append(Transition(a.rule, "de-escalated", "warning", a.text))

    def _good(self, r: RuleResult, now: datetime, changes: list[Transition]) -> None:
        a = self.alerts.get(r.rule)
        if a is None:
            return
        a.bad = a.critical = 0
        a.calm += 1
        a.good += 1
        a.now_text = r.text
        if a.phase == "pending":
            if a.started_at is None:
                del self.alerts[r.rule]  # never fired: forget it
            else:
                a.phase = "resolved"  # it had resolved; the relapse did not last
        elif a.phase == "firing" and a.good >= self.resolve_after:
            self._resolve(a, now, changes, r.text)

    def _resolve(self, a: Alert, now: datetime, changes: list[Transition], now_text: str) -> None:
        if a.phase == "firing":
            changes.append(Transition(a.rule, "resolved", a.level, now_text or a.text))
        if a.started_at is None:
            self.alerts.pop(a.rule, None)
            return
        if a.phase != "resolved":
            a.phase, a.resolved_at = "resolved", now
        a.now_text = now_text or a.now_text

    # ------------------------------------------------------------------ notification

    def firing(self) -> list[Alert]:
        return [a for a in self.alerts.values() if a.phase == "firing"]

    def wants_resolved(self, n: NotifierConfig) -> bool:
        return self.send_resolved if n.send_resolved is None else n.send_resolved

    @staticmethod
    def accepts(n: NotifierConfig, rule: str, level: Level) -> bool:
        return (n.rules is None or rule in n.rules) and RANK[level] >= RANK[n.min_level]

    def due(
        self,
        n: NotifierConfig,
        now: datetime,
        silenced: Collection[str] = (),
        busy: Collection[str] = (),
    ) -> list[Item]:
        """What ``n`` should be sent now (``busy``: rules already on their way to it)."""
        items: list[Item] = []
        for a in self.alerts.values():
            if a.rule in busy or a.started_at is None:
                continue
            sent = a.notified.get(n.name)
            told_firing = sent is not None and sent.status == "firing"
            if a.phase == "firing" and self.accepts(n, a.rule, a.level):
                if a.rule in silenced:
                    continue
                if sent is None or sent.status != "firing" or sent.level != a.level:
                    items.append(self._item(a, "firing", now))
                elif now - sent.at >= self.repeat_interval:
                    items.append(self._item(a, "firing", now, repeat=True))
            elif a.phase != "pending" and told_firing and self.wants_resolved(n):
                # resolved, or fell below what this notifier takes (critical → warning)
                items.append(self._item(a, "resolved", now))
        return items

    def _item(self, a: Alert, status: AlertStatus, now: datetime, repeat: bool = False) -> Item:
        assert a.started_at is not None
        if status == "resolved":
            if a.phase == "firing":  # still firing, but below what this notifier takes
                text = f"{a.text} (now {a.level})"
            elif a.now_text:
                text = f"{a.now_text} (was: {a.text})"
            else:
                text = a.text
            ended = a.resolved_at or now
            return Item(a.rule, "resolved", a.level, text, a.started_at, ended, "", a.value)
        return Item(
            a.rule,
            "firing",
            a.level,
            a.text,
            a.started_at,
            None,
            a.recommendation,
            a.value,
            a.threshold,
            repeat,
        )

    def mark_sent(self, notifier: str, items: Iterable[Item], now: datetime) -> None:
        """Record a delivery, so the same news is not sent again."""
        for i in items:
            a = self.alerts.get(i.rule)
            if a is not None:
                a.notified[notifier] = Sent(i.status, i.level, now)

    def prune(self, notifiers: Iterable[NotifierConfig], now: datetime) -> list[str]:
        """Forget resolved alerts once every notifier that was told they fire was told they
        resolved (or after ``repeat_interval``, if one never could be)."""
        wanting = [n.name for n in notifiers if self.wants_resolved(n)]
        gone = []
        for rule, a in list(self.alerts.items()):
            if a.phase != "resolved":
                continue
            open_ = [n for n in wanting if (s := a.notified.get(n)) and s.status == "firing"]
            expired = a.resolved_at is not None and now - a.resolved_at >= self.repeat_interval
            if not open_ or expired:
                del self.alerts[rule]
                gone.append(rule)
        return gone
