"""What ``jobtui logs analyze`` does with a report besides printing it, as the seed's
``analyze-logs.sh`` does: write it to ``analysis_YYYYMMDD.txt`` beside the log, and send it
(the seed mails it) through the configured notifiers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobtui.config import Config
    from jobtui.logs.analyze import Report


def default_log(config: Config) -> Path:
    """The agent's ``all.log``: ``logging.agent_log``, else ``<logging.dir>/all.log``, else
    ``logs/all.log`` (``jobtui serve``'s default folder, as the seed's script reads it).
    Raises ConfigError for a bad ``logging:`` section."""
    from jobtui.logs import load_logging_config

    cfg = load_logging_config(config)
    return cfg.agent_log_path() or Path("logs") / "all.log"


def report_path(log: Path, when: datetime) -> Path:
    """The seed's ``logs/analysis_$(date +%Y%m%d).txt``, beside the log (the date in UTC)."""
    return log.parent / f"analysis_{when:%Y%m%d}.txt"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: a 0600 temporary beside it, fsynced,
    renamed over it (a link at ``path`` is replaced, never written through). Raises OSError."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp makes it 0600
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def summary(report: Report, log: Path) -> str:
    """One line for a subject: the report's three counts and the file."""
    t = report.totals
    return (
        f"Log analysis of {log.name}: {t['critical']:,} critical errors, "
        f"{t['warning']:,} warnings, {t['success']:,} successful operations"
    )


def send(config: Config, report: Report, log: Path, text: str) -> list[tuple[str, str | None]]:
    """Send the report through every configured notifier, once each: (name, error or None).
    Raises ConfigError for a bad ``notifiers:`` section, ValueError when there is none."""
    from jobtui.alerting.config import load_watch_config
    from jobtui.alerting.dispatch import send_each
    from jobtui.alerting.message import Batch, Item
    from jobtui.contract import utcnow

    watch = load_watch_config(config)
    if not watch.notifiers:
        raise ValueError("no notifiers configured (see notifiers: in config.example.yaml)")
    now = utcnow()
    critical = bool(report.totals["critical"])  # else a notice, as the seed mails it: [INFO]
    item = Item("log_analysis", "firing", "critical", summary(report, log), now,
                recommendation=text, notice=not critical)  # fmt: skip
    batch = Batch(
        (item,),
        socket.gethostname(),
        str(log),
        now,
        watch.environment,
        watch.dashboard_url,
        dict(watch.labels),
    )

    return asyncio.run(send_each(watch.notifiers, batch))
