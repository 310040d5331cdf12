"""Small text formatters shared by the views (durations, ages, local times, excerpts).

Ages are whole seconds (they move with the clock tick); durations go below a second, in ms."""

from __future__ import annotations

import re
from datetime import datetime

from jobtui.config import Target
from jobtui.rules import human_ms


def span(seconds: float, *, long: bool = False) -> str:
    """``42s``, ``3m 5s``, ``2h 10m``, ``3d 4h``: a compact duration; with ``long``, an age a
    person reads at once in a sentence: ``42 s``, ``1 min 18 s``, ``2 h 10 min``."""
    s = max(0, int(seconds))
    sec, mins, hours, days = (" s", " min", " h", " d") if long else ("s", "m", "h", "d")
    if s < 60:
        return f"{s}{sec}"
    if s < 3600:
        return f"{s // 60}{mins} {s % 60}{sec}" if s < 600 or long else f"{s // 60}{mins}"
    if s < 86400:
        return f"{s // 3600}{hours} {s % 3600 // 60}{mins}"
    return f"{s // 86400}{days} {s % 86400 // 3600}{hours}"


def since(seconds: float | None) -> str:
    """An age in a sentence, as every sentence says it: ``1 min 14 s ago``."""
    return span(seconds or 0, long=True) + " ago"


def stale_note(seconds: float | None) -> str:
    """The mark of figures that are not current, the same on every tab."""
    return f"STALE: data from {since(seconds)}"


def took(seconds: float) -> str:
    """How long something took or waited: ``850 ms`` under a second, else as :func:`span`."""
    return human_ms(max(0.0, seconds) * 1000) if seconds < 1 else span(seconds)


def ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "—"
    return span((now - then).total_seconds()) + " ago"


def local(dt: datetime, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A timestamp in the local time zone, with its abbreviation."""
    dt = dt.astimezone()
    return f"{dt.strftime(fmt)} {dt.tzname() or ''}".rstrip()


def ms(value: float | None) -> str:
    return "—" if value is None else human_ms(value)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def excerpt(text: str | None, width: int) -> str:
    """The first line of ``text``, cut to ``width`` characters."""
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def short_id(job_id: str, width: int = 8) -> str:
    """A job id in ``width`` cells: a UUID by its first eight digits (as git shortens a hash,
    unique enough on one screen); any other id cut in the middle with "…", its end kept
    (``import-batch-17`` → ``imp…h-17``): ids that differ by a counter still differ."""
    if len(job_id) <= width:
        return job_id
    if width >= 8 and _UUID.fullmatch(job_id):
        return job_id[:8]
    head = max(1, (width - 1) // 2)
    return job_id[:head] + "…" + job_id[len(job_id) - max(1, width - 1 - head) :]


def size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def shown_name(target: Target) -> str:
    """The target's name, or "" when it only says where the URL came from."""
    return "" if target.name in ("--url", "JOBTUI_URL") else target.name
