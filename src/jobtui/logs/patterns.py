"""The seed's log patterns ("Log Patterns to Monitor") and how to read one log line.

A line's level is the first level word on it (``ERROR``, ``warn``, ``[info]``, Winston's
``error:``; ANSI colours ignored) or, for a JSON line, its ``level`` field. The seed's
analysis counts a critical pattern on an error line, a warning pattern on a warn line and a
success pattern on an info line (its ``grep -E "error.*Database connection failed|…"``); on a
line without any level word, a pattern counts whatever the level.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["critical", "warning", "success"]

# The seed's three lists, as its analyze-logs.sh matches them (case-insensitive here).
CRITICAL_PATTERNS: tuple[str, ...] = (
    "Database connection failed",
    "OpenAI API error",
    "Job exceeded maximum processing time",
    "Out of memory",
    "Maximum retries exceeded",
)
WARNING_PATTERNS: tuple[str, ...] = (
    "Job retry attempt",
    "API rate limit approaching",
    "High queue depth",
    "Slow database query",
)
SUCCESS_PATTERNS: tuple[str, ...] = (
    "Job completed successfully",
    "Processing completed",
    "Queue processed successfully",
)
PATTERNS: dict[Kind, tuple[str, ...]] = {
    "critical": CRITICAL_PATTERNS,
    "warning": WARNING_PATTERNS,
    "success": SUCCESS_PATTERNS,
}
LEVEL_OF_KIND: dict[Kind, str] = {"critical": "error", "warning": "warn", "success": "info"}
# The seed's Winston colours, for views.
LEVEL_COLOURS = {"error": "red", "warn": "yellow", "info": "green", "http": "magenta",
                 "debug": "blue"}  # fmt: skip

_LEVEL_WORDS = {
    "fatal": "error", "crit": "error", "critical": "error", "severe": "error", "err": "error",
    "error": "error", "warn": "warn", "warning": "warn", "info": "info", "notice": "info",
    "http": "http", "debug": "debug", "trace": "debug",
}  # fmt: skip
_LEVEL = re.compile(
    r"(?<![\w-])(fatal|critical|crit|severe|error|err|warning|warn|info|notice|http(?!s?://)|"
    r"debug|trace)(?![\w-])",
    re.IGNORECASE,
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PATTERN = re.compile(
    "|".join(f"(?P<{k}>{'|'.join(re.escape(p) for p in ps)})" for k, ps in PATTERNS.items()),
    re.IGNORECASE,
)
_LOGGER = re.compile(r"^[A-Za-z_][\w-]*(?:\.[\w-]+)+:\s+")  # ours: "jobtui.agent: "


@dataclass(frozen=True, slots=True)
class Line:
    """One log line, read: its level (the seed's names, or None) and its message."""

    level: str | None
    message: str
    text: str  # the line for display (a JSON line as ``timestamp LEVEL logger: message``)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text) if "\x1b" in text else text


def read_line(raw: str) -> Line:
    """Level and message of one line, ours (text or JSON), Winston's, or any plain text."""
    text = strip_ansi(raw.rstrip("\r\n"))
    if text[:1] in ("{", " "):
        stripped = text.lstrip()
        if stripped.startswith("{"):
            obj = _json(stripped)
            if obj is not None:
                return _json_line(obj)
    # Fast path, ours and Winston's: "<date> <time> LEVEL logger: message", "<date> <time> level: message"
    parts = text.split(" ", 4)
    if len(parts) >= 4:
        level = _LEVEL_WORDS.get(parts[2].rstrip(":").lower())
        if level is not None:
            if len(parts) == 5 and parts[3].endswith(":") and "." in parts[3]:
                return Line(level, parts[4], text)
            return Line(level, text.split(" ", 3)[3], text)
    m = _LEVEL.search(text)
    if m is None:
        return Line(None, text.strip(), text)
    rest = text[m.end() :].lstrip(" \t:]|-")
    rest = _LOGGER.sub("", rest, count=1)
    return Line(_LEVEL_WORDS[m.group(1).lower()], rest, text)


def _json(text: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _json_line(obj: dict[str, Any]) -> Line:
    lvl = str(obj.get("level") or obj.get("severity") or "").lower()
    message = str(obj.get("message") or obj.get("msg") or "")
    level = _LEVEL_WORDS.get(lvl)
    ts = obj.get("timestamp") or obj.get("time") or ""
    logger = obj.get("logger") or obj.get("name") or ""
    shown = " ".join(
        x for x in (str(ts), (level or lvl).upper(), f"{logger}:" if logger else "") if x
    )
    return Line(level, message, f"{shown} {message}".strip())


def line_level(raw: str) -> str | None:
    return read_line(raw).level


def matches(text: str) -> list[tuple[int, int, Kind]]:
    """Where the seed's patterns occur in ``text``: (start, end, kind), for highlighting."""
    return [(m.start(), m.end(), m.lastgroup) for m in _PATTERN.finditer(text)]  # type: ignore[misc]  # groups are named by Kind


KIND_OF_LEVEL: dict[str, Kind] = {v: k for k, v in LEVEL_OF_KIND.items()}
_LOWER = {k: tuple(p.lower() for p in ps) for k, ps in PATTERNS.items()}


def kinds(line: Line) -> list[tuple[Kind, str]]:
    """The (kind, pattern) pairs this line counts for, by the seed's level rule."""
    if line.level is None:
        candidates: tuple[Kind, ...] = tuple(PATTERNS)
    elif line.level in KIND_OF_LEVEL:
        candidates = (KIND_OF_LEVEL[line.level],)
    else:
        return []
    low = line.text.lower()
    out: list[tuple[Kind, str]] = []
    for kind in candidates:
        for p, lp in zip(PATTERNS[kind], _LOWER[kind], strict=True):
            if lp in low:
                out.append((kind, p))
                break
    return out
