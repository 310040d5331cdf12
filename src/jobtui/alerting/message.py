"""What a notification says, whatever carries it: one :class:`Batch` per notifier per poll.

Subjects follow the seed: ``[CRITICAL] …``, ``[WARNING] …``, ``[INFO] …`` (a notice: a test
message, a recovery that worked) and ``[RESOLVED] …``; colours and emoji are the seed's
(#FF0000 :red_circle: critical, #FFA500 :warning: warning, #36C5F0 :information_source: info)
and green for resolved. The figures the alert judged travel as the seed's ``data``: pretty JSON,
in a code block on Slack and a ``<pre>`` block in email.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from jobtui.contract import iso
from jobtui.rules import Level

AlertStatus = Literal["firing", "resolved"]
Kind = Literal["critical", "warning", "info", "resolved"]
KINDS: tuple[Kind, ...] = ("critical", "warning", "info", "resolved")  # worst first
COLOURS = {"critical": "#FF0000", "warning": "#FFA500", "info": "#36C5F0", "resolved": "#2EB67D"}
EMOJI = {
    "critical": ":red_circle:",
    "warning": ":warning:",
    "info": ":information_source:",
    "resolved": ":white_check_mark:",
}


@dataclass(frozen=True, slots=True)
class Item:
    """One alert in one notification."""

    rule: str
    status: AlertStatus
    level: Level
    text: str  # firing: the finding; resolved: the figure now and what it was
    started_at: datetime
    ended_at: datetime | None = None
    recommendation: str = ""
    value: float | None = None
    threshold: float | None = None
    repeat: bool = False  # a still-firing alert sent again after repeat_interval
    notice: bool = False  # information, not an alert (a test message, a recovery that worked)

    @property
    def kind(self) -> Kind:
        """``critical``, ``warning``, ``info`` or ``resolved``: what the reader should feel."""
        if self.notice:
            return "info"
        return "resolved" if self.status == "resolved" else self.level

    @property
    def tag(self) -> str:
        """``CRITICAL``, ``WARNING``, ``INFO`` or ``RESOLVED``."""
        return self.kind.upper()


def notice(rule: str, text: str, at: datetime, detail: str = "") -> Item:
    """An informational notice (``[INFO]``): ``watch --test``, "recovery completed"."""
    return Item(rule, "firing", "warning", text, at, recommendation=detail, notice=True)


@dataclass(frozen=True, slots=True)
class Batch:
    """The alerts due for one notifier, with the context every message shows."""

    items: tuple[Item, ...]
    target: str
    url: str
    at: datetime
    environment: str | None = None
    dashboard_url: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    figures: Mapping[str, Any] | None = None  # the seed's ``data``: what the server reported

    @property
    def kind(self) -> Kind:
        """The worst firing level, else ``info`` for notices, else ``resolved``."""
        kinds = {i.kind for i in self.items}
        return next((k for k in KINDS if k in kinds), "resolved")

    @property
    def status(self) -> AlertStatus:
        return "resolved" if self.kind == "resolved" else "firing"

    def ordered(self) -> list[Item]:
        """The items, critical first, then warning, then resolved."""
        return sorted(self.items, key=_order)

    @property
    def subject(self) -> str:
        """``[CRITICAL] jobtui prod: Queue depth 60 > 50 (+1 more)``."""
        lead = self.ordered()[0]
        more = f" (+{len(self.items) - 1} more)" if len(self.items) > 1 else ""
        return f"[{self.kind.upper()}] jobtui {self.target}: {lead.text}{more}"

    def lines(self) -> list[str]:
        """One line per alert, worst first."""
        out = []
        for i in self.ordered():
            again = " (still firing)" if i.repeat else ""
            out.append(f"[{i.tag}] {i.text}{again}")
        return out

    def data(self) -> str | None:
        """The figures as the seed's ``JSON.stringify(data, null, 2)``; None without any."""
        if not self.figures:
            return None
        # JSON has no backtick of its own: escaping any in a string keeps a code block closed
        return json.dumps(dict(self.figures), indent=2).replace("`", "\\u0060")

    def text(self) -> str:
        """The plain-text body (email, logs)."""
        out = [self.subject, ""]
        for i in self.ordered():
            out.append(f"[{i.tag}] {i.text}{' (still firing)' if i.repeat else ''}")
            out.append(f"    {'at' if i.notice else 'since'} {iso(i.started_at)}")
            if i.ended_at:
                out.append(f"    resolved {iso(i.ended_at)}")
            if i.status == "firing" and i.recommendation:
                out.append(f"    {'' if i.notice else '→ '}{i.recommendation}")
        data = self.data()
        if data:
            out += ["", "Figures:", data]
        out += ["", *self.context()]
        return "\n".join(out) + "\n"

    def context(self) -> list[str]:
        out = [f"Target: {self.target} ({self.url})", f"Time: {iso(self.at)}"]
        if self.environment:
            out.append(f"Environment: {self.environment}")
        if self.dashboard_url:
            out.append(f"Dashboard: {self.dashboard_url}")
        return out

    def html(self) -> str:
        """The HTML body (email), as the seed's: a coloured heading, the alerts, a button."""
        e = html.escape
        colour = COLOURS[self.kind]
        rows = []
        for i in self.ordered():
            c = COLOURS[i.kind]
            hint = (
                f"<br><small>{e(i.recommendation)}</small>"
                if i.status == "firing" and i.recommendation
                else ""
            )
            rows.append(
                f'<li><b style="color:{c}">{i.tag}</b> {e(i.text)}'
                f"{' (still firing)' if i.repeat else ''}"
                f"<br><small>{'at' if i.notice else 'since'} {e(iso(i.started_at))}</small>"
                f"{hint}</li>"
            )
        data = self.data()
        pre = f"<pre>{e(data)}</pre>" if data else ""
        button = ""
        if self.dashboard_url:
            button = (
                f'<p><a href="{e(self.dashboard_url, quote=True)}" style="background-color:'
                "#4CAF50;color:white;padding:10px 20px;text-decoration:none;display:inline-block;"
                'border-radius:4px">View Dashboard</a></p>'
            )
        context = "".join(f"<p>{e(line)}</p>" for line in self.context())
        return (
            f'<html><body><h1 style="color:{colour}">{e(self.subject)}</h1>'
            f"<ul>{''.join(rows)}</ul>{pre}{button}{context}</body></html>"
        )


def _order(i: Item) -> tuple[int, str]:
    return KINDS.index(i.kind), i.rule
