"""``jobtui capacity``: scale up, hold or scale down, with every reason.

The job figures, their trends and the sampling agent's CPU, memory and load come from the
server's metrics history (the last 30 min of samples); this machine's reading is shown, and
stands in for the host figures only when the samples carry none (the seed's app).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from jobtui.commands.common import run_with_client

if TYPE_CHECKING:
    from jobtui.capacity import Recommendation
    from jobtui.client import Client
    from jobtui.config import Config

MARK = {"up": "▲", "down": "▼", "hold": "=", "unknown": "?"}


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-host",
        action="store_true",
        help="leave out this machine's CPU, memory and load (when it is not the job server)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    p.epilog = (
        "Exit status: 0 hold or scale down, 1 scale up (or the server failed), 2 bad arguments "
        "or config. Thresholds: the capacity: section of the config."
    )


def run(args: argparse.Namespace) -> int:
    async def act(client: Client, config: Config) -> int:
        import asyncio
        import math

        from jobtui.capacity import load_capacity_config, recommend
        from jobtui.commands.common import UsageError
        from jobtui.config import ConfigError
        from jobtui.host import read_host

        try:
            cfg = load_capacity_config(config)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        hours = max(1, math.ceil(cfg.trend_window.total_seconds() / 3600))
        host_task = None if args.no_host else asyncio.create_task(asyncio.to_thread(read_host, 1.0))
        history = await client.metrics_history(hours)
        host = await host_task if host_task else None
        rec = recommend(history.metrics, host, cfg)
        print(to_json(rec) if args.format == "json" else render(rec, client.shown_url), end="")
        return 1 if rec.action == "scale up" else 0

    return run_with_client(args, act)


def _uptime(seconds: float) -> str:
    d, rest = divmod(int(seconds), 86400)
    h, rest = divmod(rest, 3600)
    return f"{d} d {h} h" if d else f"{h} h {rest // 60} min"


def render(rec: Recommendation, url: str) -> str:
    from jobtui.rules import human_ms

    out = [f"{rec.action.upper()}{' (urgent)' if rec.urgent else ''} — {rec.summary}", ""]
    h = rec.host
    if h is not None:
        cpu = f"{h.cpu_percent:.1f}%" if h.cpu_percent is not None else "?"
        judged = (
            ", one reading: the server's samples carry no host figures"
            if rec.host_from == "this machine"
            else ""
        )
        out.append(
            f"Host {h.hostname} (this machine{judged}): CPU {cpu} of {h.cores} cores, memory "
            f"{h.memory_percent:.1f}%, load {h.load[0]:.2f} / {h.load[1]:.2f} / {h.load[2]:.2f}, "
            f"up {_uptime(h.uptime)}"
        )
    s = rec.latest
    if s is not None and s.cpu_percent is not None:
        load = f"{s.load_average:.2f}" if s.load_average is not None else "?"
        out.append(
            f"Agent's host (its samples): CPU {s.cpu_percent:.1f}% of {s.cpu_count or '?'} "
            f"cores, memory {s.memory_percent or 0:.1f}%, load (5 min) {load}"
        )
    m = rec.latest
    if m is not None:
        out.append(
            f"Jobs ({url}, {rec.samples} samples): queue depth {m.queue_depth:g}, processing "
            f"time {human_ms(m.average_processing_time)}, error rate {m.error_rate:.1f}%, "
            f"{m.jobs_per_hour:g} jobs/h"
        )
    out.append("")
    for r in rec.reasons:
        out.append(f"  {MARK[r.verdict]} {r.text}")
    return "\n".join(out) + "\n"


def to_json(rec: Recommendation) -> str:
    from jobtui.contract import encode

    h = rec.host
    body = {
        "action": rec.action,
        "urgent": rec.urgent,
        "summary": rec.summary,
        "reasons": [
            {"rule": r.rule, "verdict": r.verdict, "critical": r.critical, "text": r.text}
            for r in rec.reasons
        ],
        "host": None
        if h is None
        else {
            "hostname": h.hostname,
            "cpuPercent": h.cpu_percent,
            "memoryPercent": h.memory_percent,
            "cores": h.cores,
            "loadAverage": list(h.load),
            "uptime": round(h.uptime),
        },
        "hostFrom": rec.host_from,
        "latest": encode(rec.latest) if rec.latest else None,
        "samples": rec.samples,
    }
    return json.dumps(body, indent=2) + "\n"
