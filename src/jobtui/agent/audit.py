"""Who did what: one line per admin action on the ``jobtui.audit`` logger, and reading them back.

Every admin route (:mod:`jobtui.agent.api`) calls :func:`record` once the action is done; the
line goes wherever the agent logs (``all.log``, syslog) at ``info``::

    bulk-retry status=failed hours=24 -> matched=3 changed=3 skipped=0 (token=admin from=127.0.0.1 request=4f1c…)

The action, its parameters (the filter), the counts of its result, which token class allowed
it (``admin``, or ``none`` on an agent without tokens), the remote address and the request id
(the ``X-Request-ID`` of the answer); never the token. Values have their control characters
escaped and are quoted when they hold a space, a quote or ``=``, so a line stays one line and
reads back as it was written. :func:`read` finds them in the agent's log files, for the
timeline of ``jobtui incident``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobtui.literal import printable

log = logging.getLogger("jobtui.audit")

Scope = Mapping[str, Any]


def record(scope: Scope, action: str, params: Mapping[str, Any], result: Mapping[str, Any]) -> None:
    """Log ``action`` done for the request of ``scope`` (its ASGI scope): ``params`` as it
    was asked, ``result`` its counts. ``None`` values are left out."""
    client = scope.get("client")
    who = {
        "token": scope.get("token_class") or "none",
        "from": client[0] if client else "unknown",
        "request": scope.get("request_id") or "none",
    }
    asked = pairs(params)
    log.info(
        "%s%s -> %s (%s)", action, f" {asked}" if asked else "", pairs(result) or "done", pairs(who)
    )


def pairs(values: Mapping[str, Any]) -> str:
    """``key=value`` pairs, values escaped and quoted where needed (see the module)."""
    return " ".join(f"{k}={_value(v)}" for k, v in values.items() if v is not None)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    text = str(v)
    if not text or any(c.isspace() or c in '"=' for c in text):
        text = json.dumps(text, ensure_ascii=False)
    return printable(text)


# --------------------------------------------------------------------------- reading back


def log_files(all_log: Path) -> list[Path]:
    """``all.log`` and, before it, the file it last rotated into (``all.log.1``)."""
    return [p for p in (all_log.with_name(all_log.name + ".1"), all_log) if p.is_file()]


def read(all_log: Path, since: datetime, most: int = 40) -> list[tuple[datetime, str]]:
    """The admin actions logged in ``all_log`` (text or JSON lines) at ``since`` or later,
    oldest first, at most the ``most`` newest. Raises OSError when the log cannot be read."""
    found: list[tuple[datetime, str]] = []
    for path in log_files(all_log):
        with path.open(encoding="utf-8", errors="replace") as f:
            found += [e for e in map(_entry, f) if e is not None and e[0] >= since]
    found.sort(key=lambda e: e[0])
    return found[-most:]


def _entry(line: str) -> tuple[datetime, str] | None:
    if log.name not in line:  # the fast path: nearly every line
        return None
    line = line.rstrip("\r\n")
    if line.startswith("{"):
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or obj.get("logger") != log.name:
                return None
            at = datetime.fromisoformat(str(obj["timestamp"]).replace("Z", "+00:00"))
            return at.astimezone(UTC), printable(str(obj["message"]))
        except (ValueError, KeyError):
            return None
    # TEXT_FORMAT: "<date> <time>.<ms> LEVEL <logger>: <message>", local time
    parts = line.split(" ", 4)
    if len(parts) < 5 or parts[3] != f"{log.name}:":
        return None
    try:
        at = datetime.strptime(f"{parts[0]} {parts[1]}", "%Y-%m-%d %H:%M:%S.%f")
    except ValueError:
        return None
    return at.astimezone(UTC), parts[4]
