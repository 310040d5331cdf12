"""``jobtui check``: one health check for cron, CI and Nagios/Icinga.

Prints a monitoring-plugin line (``JOBTUI WARNING - … | perfdata``) and exits 0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN (bad arguments or config only: a server that is down is CRITICAL).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from jobtui.literal import printable

EXIT = {"healthy": 0, "warning": 1, "critical": 2}
STATE = {"healthy": "OK", "warning": "WARNING", "critical": "CRITICAL"}
UNKNOWN = 3


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    from jobtui.commands.argtypes import seconds

    p.add_argument(
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        help="give up after this long: CRITICAL (default: check.timeout in the config, else 10)",
    )
    p.epilog = "Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad arguments or config)."
    _usage_errors_are_unknown(p)


def _usage_errors_are_unknown(p: argparse.ArgumentParser) -> None:
    """A monitoring plugin exits 3 on bad arguments (argparse would exit 2, i.e. CRITICAL),
    unknown options included, and says so on stdout, where Nagios reads it."""

    def error(message: str) -> NoReturn:
        p.print_usage(sys.stderr)
        _emit(f"JOBTUI UNKNOWN - {message}")
        p.exit(UNKNOWN)

    parse_known = p.parse_known_args

    def strict(args: Any = None, namespace: Any = None) -> Any:
        ns, extras = parse_known(args, namespace)
        if extras:
            error("unrecognized arguments: " + " ".join(extras))
        return ns, extras

    p.error = error  # type: ignore[method-assign]  # on purpose: this parser only
    p.parse_known_args = strict  # type: ignore[method-assign]  # the same


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except Exception as exc:  # a bug: still one line and UNKNOWN, never a traceback
        _emit(f"JOBTUI UNKNOWN - internal error: {type(exc).__name__}: {exc}")
        return UNKNOWN


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from jobtui.client import Client
    from jobtui.config import ConfigError, load_config, resolve_target
    from jobtui.errors import InvalidURL

    try:
        config = load_config(args.config)
        target = resolve_target(config, url=args.url, target=args.target)
    except ConfigError as exc:
        return _unknown(args, str(exc))
    timeout = config.check.timeout if args.timeout is None else args.timeout
    if timeout <= 0:
        return _unknown(args, f"check.timeout must be above zero, got {timeout:g}")
    try:
        client = Client(target.url, target.token, timeout=timeout, token_from=target.token_from)
    except InvalidURL as exc:
        return _unknown(args, str(exc))
    obs = asyncio.run(_poll(client, target, config))
    if args.format == "json":
        import json

        _emit(json.dumps(as_json(obs), indent=2))
    else:
        _emit(printable(as_text(obs), lines=True))  # the server's message and alerts
    return EXIT[obs.status]


def _emit(text: str) -> None:
    """Print; a reader that left early (``jobtui check | head -1``) does not change the exit
    status or cause a traceback."""
    import os

    try:
        print(text, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


async def _poll(client: Any, target: Any, config: Any) -> Any:
    from jobtui.alerting import progress
    from jobtui.alerting.observe import observe
    from jobtui.alerting.progress import EMPTY
    from jobtui.contract import utcnow
    from jobtui.errors import ClientError

    at = utcnow()
    run = None
    try:
        async with client:
            answer = await client.health()
            if answer.status == 200:  # a server without lastProcessedAt: its metrics history
                stalled_after = config.thresholds.stalled_after
                run = await progress.look(client, answer.value, at, EMPTY, stalled_after)
    except ClientError as exc:
        answer = exc
    return observe(
        answer,
        at=at,
        target=target,
        thresholds=config.thresholds,
        check=config.check,
        progress=run,
    )


def _unknown(args: argparse.Namespace, message: str) -> int:
    if getattr(args, "format", "text") == "json":
        import json

        body = {"status": "unknown", "state": "UNKNOWN", "exitCode": UNKNOWN, "error": message}
        _emit(json.dumps(body, indent=2))
    else:
        _emit(f"JOBTUI UNKNOWN - {message}")
    return UNKNOWN


# --------------------------------------------------------------------------- output


def as_text(obs: Any) -> str:
    """The monitoring-plugin format: status line with perfdata, then one line per problem."""
    problems = obs.problems
    if problems:
        summary = ", ".join(_lower_first(r.text) for r in problems)
    elif obs.health is not None:
        shown = ("queue_depth", "error_rate", "stuck_jobs", "response_time")
        parts = [obs.result(r).text for r in shown if obs.result(r).status != "unknown"]
        summary = ", ".join(_lower_first(p) for p in parts)
    else:  # pragma: no cover - an observation without an answer always has a problem
        summary = obs.error or "no answer"
    line = f"JOBTUI {STATE[obs.status]} - {summary}"
    perf = perfdata(obs)
    if perf:
        line += " | " + " ".join(perf)
    lines = [line]
    for r in problems:
        lines.append(f"{r.status.upper()}: {r.text}")
        if r.recommendation:
            lines.append(f"  → {r.recommendation}")
    if obs.health is not None:  # what the server says that we did not already say
        from jobtui.rules import parse_alert

        ours = {(r.status, r.text) for r in problems}
        extra = [
            a
            for a in obs.health.health.alerts
            if (p := parse_alert(a)).level is None or (p.level, p.text) not in ours
        ]
        if extra:
            lines.append("Server alerts: " + "; ".join(map(printable, extra)))  # one line each
    lines.append(f"Target: {obs.target} ({obs.url})")
    return "\n".join(lines)


def perfdata(obs: Any) -> list[str]:
    """``label=value[UOM];warn;crit;min;max`` for every figure the server gave."""
    h = obs.health
    if h is None or obs.result("system_down").status != "healthy":
        return []
    m = h.metrics
    r = obs.result

    def limits(rule: str) -> tuple[float | None, float | None]:
        res = r(rule)
        return res.warning, res.critical

    apt = m.average_processing_time
    out = [
        _perf("queue_depth", m.queue_depth, "", *limits("queue_depth")),
        _perf("processing_capacity", m.processing_capacity, "", None, None),
        _perf("success_rate", m.success_rate, "%", None, None, 0, 100),
        _perf("error_rate", m.error_rate, "%", *limits("error_rate"), 0, 100),
        _perf("average_processing_time", apt, "ms", *limits("processing_time")),
        _perf("jobs_per_hour", m.jobs_per_hour, "", None, None),
        _perf("stuck_jobs", h.health.stuck_jobs_count, "", *limits("stuck_jobs")),
    ]
    if m.wait_time is not None:
        out.append(_perf("wait_time", m.wait_time, "ms", *limits("wait_time")))
    if m.resource_utilization is not None:
        util = m.resource_utilization
        out.append(
            _perf("resource_utilization", util, "%", *limits("resource_utilization"), 0, 100)
        )
    if m.last_processed_at is not None:
        idle = max(0.0, (obs.at - m.last_processed_at).total_seconds())
        out.append(_perf("last_processed_age", idle, "s", None, None))
    warn, crit = (None if v is None else v / 1000 for v in limits("response_time"))
    out.append(_perf("response_time", obs.seconds, "s", warn, crit))
    return out


def _perf(
    label: str,
    value: float,
    uom: str,
    warn: float | None,
    crit: float | None,
    lo: float | None = 0,
    hi: float | None = None,
) -> str:
    fields = [_num(value) + uom, _num(warn), _num(crit), _num(lo), _num(hi)]
    while fields and fields[-1] == "":
        fields.pop()
    return f"{label}=" + ";".join(fields)


def _num(v: float | None) -> str:
    """A plain decimal (no exponent, at most 3 decimals), as perfdata parsers expect."""
    if v is None:
        return ""
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _lower_first(text: str) -> str:
    """``Queue depth 37 > 20`` → ``queue depth 37 > 20``; acronyms (``GET …``) stay."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def as_json(obs: Any) -> dict[str, Any]:
    from jobtui.alerting.observe import figures_of
    from jobtui.contract import iso

    h = obs.health
    figures = figures_of(obs)
    return {
        "status": obs.status,
        "state": STATE[obs.status],
        "exitCode": EXIT[obs.status],
        "summary": as_text(obs).splitlines()[0].split(" | ")[0],
        "target": obs.target,
        "url": obs.url,
        "checkedAt": iso(obs.at),
        "error": obs.error,
        "server": None
        if h is None
        else {"status": h.status, "message": h.message, "alerts": list(h.health.alerts)},
        "rules": [
            {
                "rule": r.rule,
                "label": r.label,
                "status": r.status,
                "text": r.text,
                "value": r.value,
                "warning": r.warning,
                "critical": r.critical,
                "recommendation": r.recommendation or None,
            }
            for r in obs.results
        ],
        "figures": figures,
    }
