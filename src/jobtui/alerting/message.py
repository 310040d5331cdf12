"""What a notification says, whatever carries it: one :class:`Batch` per notifier per poll.

Subjects follow the seed: ``[CRITICAL] …``, ``[WARNING] …``, ``[RESOLVED] …``; colours are the
seed's (#FF0000 critical, #FFA500 warning) and green for resolved.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from jobtui.contract import iso

Level = Literal["warning", "critical"]
AlertStatus = Literal["firing", "resolved"]
COLOURS = {"critical": "#FF0000", "warning": "#FFA500", "resolved": "#2EB67D"}
EMOJI = {"critical": ":red_circle:", "warning": ":warning:", "resolved": ":white_check_mark:"}


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

    @property
    def kind(self) -> str:
        """``critical``, ``warning`` or ``resolved``: what the reader should feel."""
        return "resolved" if self.status == "resolved" else self.level


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

    @property
    def kind(self) -> str:
        """The worst firing level, or ``resolved`` when every item is resolved."""
        firing = [i.level for i in self.items if i.status == "firing"]
        if "critical" in firing:
            return "critical"
        return "warning" if firing else "resolved"

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
            tag = "RESOLVED" if i.status == "resolved" else i.level.upper()
            again = " (still firing)" if i.repeat else ""
            out.append(f"[{tag}] {i.text}{again}")
        return out

    def text(self) -> str:
        """The plain-text body (email, logs)."""
        out = [self.subject, ""]
        for i in self.ordered():
            tag = "RESOLVED" if i.status == "resolved" else i.level.upper()
            out.append(f"[{tag}] {i.text}{' (still firing)' if i.repeat else ''}")
            out.append(f"    since {iso(i.started_at)}")
            if i.ended_at:
                out.append(f"    resolved {iso(i.ended_at)}")
            if i.status == "firing" and i.recommendation:
                out.append(f"    → {i.recommendation}")
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
            tag = "RESOLVED" if i.status == "resolved" else i.level.upper()
            hint = (
                f"<br><small>{e(i.recommendation)}</small>"
                if i.status == "firing" and i.recommendation
                else ""
            )
            rows.append(
                f'<li><b style="color:{c}">{tag}</b> {e(i.text)}'
                f"{' (still firing)' if i.repeat else ''}"
                f"<br><small>since {e(iso(i.started_at))}</small>{hint}</li>"
            )
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
            f"<ul>{''.join(rows)}</ul>{button}{context}</body></html>"
        )


def _order(i: Item) -> tuple[int, str]:
    rank = {"critical": 0, "warning": 1, "resolved": 2}[i.kind]
    return rank, i.rule
