"""One poll of a server, judged: the shared core of ``jobtui check`` and ``jobtui watch``.

:func:`observe` turns the client's answer (or its error) into one :class:`RuleResult` per rule:
the seed's thresholds (via :func:`jobtui.rules.evaluate`), processing stalled, the response
time, what the server itself reports, and whether it answered at all. A rule whose figure the
server did not give is ``unknown``; the overall status is the worst of the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jobtui import rules
from jobtui.alerting.progress import Run, reported_stall
from jobtui.client import Timed
from jobtui.config import CheckConfig, Target
from jobtui.contract import Health, Status
from jobtui.errors import ClientError
from jobtui.literal import address, safe_url
from jobtui.rules import (
    FIGURE_OF,
    RANK,
    RESPONSE_TIME,
    RULE_NAMES,
    RULES,
    STALLED,
    Figures,
    Finding,
    Thresholds,
    evaluate,
    judge_response_time,
    label_of,
    worst,
)

SERVER_STATUS = rules.SERVER_STATUS.name
SYSTEM_DOWN = rules.SYSTEM_DOWN.name
# Every rule check and watch evaluate, in the order they are shown.
ALL_RULES: tuple[str, ...] = (
    *(n for n in RULE_NAMES if n != SYSTEM_DOWN),
    RESPONSE_TIME.name,
    SERVER_STATUS,
    SYSTEM_DOWN,
)


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule on one poll: ``status`` is healthy, warning, critical or unknown (no figure)."""

    rule: str
    status: str
    text: str  # the finding when it trips, else the current figure
    value: float | None = None
    warning: float | None = None
    critical: float | None = None
    recommendation: str = ""

    @property
    def label(self) -> str:
        return label_of(self.rule)

    @property
    def tripped(self) -> bool:
        return self.status in ("warning", "critical")


@dataclass(frozen=True, slots=True)
class Observation:
    at: datetime
    target: str  # a name for people: the config's target, else host:port
    url: str  # without credentials
    status: Status
    results: tuple[RuleResult, ...]
    health: Health | None = None
    seconds: float | None = None
    error: str | None = None

    def result(self, rule: str) -> RuleResult | None:
        return next((r for r in self.results if r.rule == rule), None)

    @property
    def problems(self) -> list[RuleResult]:
        """The rules that tripped, critical first."""
        tripped = [r for r in self.results if r.tripped]
        return sorted(tripped, key=lambda r: -RANK[r.status])


def figures_of(obs: Observation) -> dict[str, Any]:
    """What the server reported, in the contract's words (camelCase, absent fields left out),
    with the response time: the ``figures`` of ``check --format json`` and of every alert."""
    from jobtui.contract import encode

    h = obs.health
    figures: dict[str, Any] = {}
    down = obs.result(SYSTEM_DOWN)
    if h is not None and down is not None and down.status == "healthy":
        figures = {k: v for k, v in encode(h.metrics).items() if v is not None}
        figures["stuckJobsCount"] = h.health.stuck_jobs_count
    if obs.seconds is not None:
        figures["responseTimeMs"] = round(obs.seconds * 1000, 1)
    return figures


def target_label(target: Target) -> str:
    """The config's target name, or host:port when the URL came from --url or the environment."""
    if target.name in ("--url", "JOBTUI_URL", "local"):
        return target.address
    return target.name


def state_file_for(base: Path, target: Target) -> Path:
    """The target's own state file beside ``base`` (``watch.state_file``):
    ``watch-state.json`` → ``watch-state.prod.json``, ``watch-state.10.0.0.5_8787.json``.
    Two targets never share alerts or silences; the same target always finds its own."""
    if target.name in ("--url", "JOBTUI_URL", "local"):
        try:
            path = urlsplit(target.url).path.strip("/")
        except ValueError:
            path = ""
        key = address(target.url) + (f"/{path}" if path else "")
    else:
        key = target.name
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", key).strip("._-")[:80] or "target"
    return base.with_name(f"{base.stem}.{slug}{base.suffix}")


def observe(
    answer: Timed[Health] | ClientError,
    *,
    at: datetime,
    target: Target,
    thresholds: Thresholds,
    check: CheckConfig,
    progress: Run | None = None,
) -> Observation:
    """Judge one poll: every rule's result and the overall status. ``progress``: what the
    client has seen of processing (for a server that does not send ``lastProcessedAt``)."""
    label, url = target_label(target), safe_url(target.url)
    if isinstance(answer, ClientError):
        results = [RuleResult(SYSTEM_DOWN, "critical", str(answer), recommendation=_DOWN_HINT)]
        results += [RuleResult(r, "unknown", f"{label_of(r)}: no answer") for r in _others()]
        return Observation(at, label, url, "critical", _ordered(results), error=str(answer))
    health, seconds = answer.value, answer.seconds
    if answer.status != 200:  # the contract's 503: the job store is unreachable
        text = f"Server answered {answer.status}: {health.message}"
        results = [RuleResult(SYSTEM_DOWN, "critical", text, recommendation=_DOWN_HINT)]
        results += [RuleResult(r, "unknown", f"{label_of(r)}: no figures") for r in _others()]
        return Observation(at, label, url, "critical", _ordered(results), health, seconds, text)

    since = progress.since if progress is not None else None
    figures = Figures.from_health(health, at, thresholds.stalled_after, since)
    found: dict[str, Finding] = {f.rule: f for f in evaluate(figures, thresholds)}
    results = []
    for rule in RULES:
        value = getattr(figures, FIGURE_OF[rule.name])
        warn = getattr(thresholds.warning, rule.name)
        crit = getattr(thresholds.critical, rule.name)
        f = found.get(rule.name)
        if value is None:
            results.append(RuleResult(rule.name, "unknown", f"{rule.label}: not reported"))
        elif f is not None:
            results.append(
                RuleResult(rule.name, f.level, f.text, value, warn, crit, f.recommendation)
            )
        else:
            text = f"{rule.label} {rule.show(value)}"
            results.append(RuleResult(rule.name, "healthy", text, value, warn, crit))
    results.append(_stalled(health, figures, found.get(STALLED.name), at, thresholds, progress))
    rt = check
    f = judge_response_time(seconds, rt.response_time_warning, rt.response_time_critical)
    warn_ms, crit_ms = rt.response_time_warning * 1000, rt.response_time_critical * 1000
    if f is not None:
        results.append(
            RuleResult(f.rule, f.level, f.text, f.value, warn_ms, crit_ms, f.recommendation)
        )
    else:
        text = f"{RESPONSE_TIME.label} {RESPONSE_TIME.show(seconds * 1000)}"
        results.append(
            RuleResult(RESPONSE_TIME.name, "healthy", text, seconds * 1000, warn_ms, crit_ms)
        )
    ours = worst(r.status for r in results)
    if RANK[health.status] > RANK[ours]:  # the server's own thresholds are stricter than ours
        text = f"Server reports {health.status}: {_lead(health)}"
        hint = "; ".join(health.health.recommendations) or "See the server's alerts."
        results.append(RuleResult(SERVER_STATUS, health.status, text, recommendation=hint))
    else:
        results.append(RuleResult(SERVER_STATUS, "healthy", f"Server reports {health.status}"))
    text = f"Server answered in {RESPONSE_TIME.show(seconds * 1000)}"
    results.append(RuleResult(SYSTEM_DOWN, "healthy", text))
    status = worst(r.status for r in results)
    return Observation(at, label, url, status, _ordered(results), health, seconds)


_DOWN_HINT = rules.SYSTEM_DOWN.recommendation


def _ordered(results: list[RuleResult]) -> tuple[RuleResult, ...]:
    return tuple(sorted(results, key=lambda r: ALL_RULES.index(r.rule)))


def _others() -> list[str]:
    return [r for r in ALL_RULES if r != SYSTEM_DOWN]


_MORE = re.compile(r"\s*\(\+\d+ more\)$")


def _lead(health: Health) -> str:
    """The server's message without its own "(+N more)": that counts the server's alerts, and
    a notification's subject adds its own count of ours ("(+2 more) (+2 more)" otherwise)."""
    return _MORE.sub("", health.message) or health.message


def _stalled(
    health: Health,
    fig: Figures,
    f: Finding | None,
    at: datetime,
    th: Thresholds,
    progress: Run | None,
) -> RuleResult:
    limit = th.stalled_after.total_seconds() / 60
    rec = STALLED.recommendation
    if f is not None:
        return RuleResult(STALLED.name, "critical", f.text, f.value, None, limit, rec)
    told = reported_stall(health.health.alerts)
    if told is not None:  # the server judged it (our agent knows when pending jobs arrived)
        return RuleResult(STALLED.name, "critical", told, None, None, limit, rec)
    last = health.metrics.last_processed_at
    if fig.queue_depth == 0:
        return RuleResult(STALLED.name, "healthy", "Processing: nothing pending", 0.0, None, limit)
    if last is not None:
        idle = max(0.0, (at - last).total_seconds() / 60)
        text = f"Processing: last job finished {idle:.0f} min ago"
        return RuleResult(STALLED.name, "healthy", text, idle, None, limit)
    if progress is None or progress.since is None or progress.looks < 2:
        text = "Processing: last finish not reported (judged from the next polls)"
        return RuleResult(STALLED.name, "unknown", text)
    idle = max(0.0, (at - progress.since).total_seconds() / 60)
    if idle == 0:
        text = "Processing: no stall seen since the last look"
    else:
        text = f"Processing: no job seen finishing for {idle:.0f} min while jobs are pending"
    return RuleResult(STALLED.name, "healthy", text, idle, None, limit)
