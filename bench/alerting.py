"""Alerting latency: from a threshold breach at the agent to the notification received.

Starts the real agent on a fresh SQLite file, a local webhook receiver, and several real
``jobtui watch`` daemons at the default poll interval, each started at a random moment so
their polls fall at random phases. Then, for each round: a breach (pending jobs above the
agent's queue-depth threshold) is written to the jobs table, and the time until each watcher's
notification reaches the receiver is measured; the breach is cleared and the watchers resolve.

Half the watchers use ``for: 1`` (fire on the first poll that sees the breach), half the
default ``for: 2`` (the rule must hold for two polls, i.e. one more interval, by design).
Each notification's ``startsAt`` is the moment of the poll that fired it, which splits the
latency into *detection* (waiting for polls) and *delivery* (poll → HTTP → received).

    .venv/bin/python bench/alerting.py                   # default interval (30 s), ~6 min
    .venv/bin/python bench/alerting.py --interval 2 --rounds 5   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from agent import start_agent as serve  # noqa: E402
from jobtui.agent.store import JobStore  # noqa: E402
from jobtui.alerting.config import WatchConfig  # noqa: E402
from jobtui.contract import parse_time  # noqa: E402


class Receiver:
    """A webhook receiver recording (path, wall time, payload) for every POST."""

    def __init__(self) -> None:
        self.got: list[tuple[str, float, dict[str, Any]]] = []
        self.lock = threading.Lock()
        me = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                now = time.time()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with me.lock:
                    me.got.append((self.path, now, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def count(self, status: str) -> dict[str, list[tuple[float, dict[str, Any]]]]:
        out: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        with self.lock:
            for path, at, body in self.got:
                if body["status"] == status:
                    out.setdefault(path, []).append((at, body))
        return out


def start_agent(tmp: Path) -> tuple[subprocess.Popen[str], str, JobStore]:
    """The agent, with a queue-depth warning at 2 (the rounds add and drain jobs)."""
    db = f"sqlite:///{tmp / 'jobs.db'}"
    proc, url = serve(
        db,
        tmp,
        "thresholds:\n"
        "  warning: {queue_depth: 2, resource_utilization: 100}\n"
        "  critical: {queue_depth: 1000, resource_utilization: 100}\n",
    )
    return proc, url, JobStore(db)


def start_watcher(
    tmp: Path,
    i: int,
    for_polls: int,
    interval: float | None,
    agent: str,
    hook: str,
    env: dict[str, str],
) -> subprocess.Popen[bytes]:
    watch = {"for": for_polls, "resolve_after": 1, "state_file": str(tmp / f"state-{i}.json")}
    if interval is not None:
        watch["interval"] = f"{interval}s"
    cfg = {
        "thresholds": {"warning": {"queue_depth": 2, "resource_utilization": 100},
                       "critical": {"queue_depth": 1000, "resource_utilization": 100}},
        "watch": watch,
        "notifiers": {"bench": {"type": "webhook", "url": f"{hook}/w{i}"}},
    }  # fmt: skip
    path = tmp / f"watch-{i}.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobtui",
            "watch",
            "--config",
            str(path),
            "--url",
            agent,
            "--log-level",
            "warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def set_queue(store: JobStore, depth: int) -> None:
    from sqlalchemy import text

    from jobtui.contract import utcnow

    with store.write() as conn:
        conn.execute(text("DELETE FROM background_jobs WHERE status = 'pending'"))
        ts = store.d.ts(utcnow())
        for n in range(depth):
            conn.execute(
                text(
                    "INSERT INTO background_jobs (id, type, status, progress, attempts, max_attempts, "
                    "created_at, updated_at) VALUES (:id, 'story_generation', 'pending', 0, 0, 3, :ts, :ts)"
                ),
                {"id": f"bench-{time.time_ns()}-{n}", "ts": ts},
            )


def wait_all(
    rcv: Receiver, status: str, paths: set[str], counts: dict[str, int], timeout: float
) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = rcv.count(status)
        if all(len(got.get(p, [])) > counts.get(p, 0) for p in paths):
            return
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {status} notifications")


def summary(values: list[float]) -> str:
    v = sorted(values)
    p90 = v[min(len(v) - 1, round(0.9 * (len(v) - 1)))]
    return f"{v[0]:.2f} / {statistics.median(v):.2f} / {p90:.2f} / {v[-1]:.2f}"


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--interval",
        type=float,
        default=None,
        help="poll interval in seconds (default: watch's default)",
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--watchers", type=int, default=4, help="watchers per `for` setting")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    interval = args.interval if args.interval is not None else WatchConfig().interval
    rng = random.Random(args.seed)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    env["PYTHONPATH"] = str(ROOT / "src")

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rcv = Receiver()
        agent, url, store = start_agent(tmp)
        watchers: list[subprocess.Popen[bytes]] = []
        groups: dict[int, list[str]] = {1: [], 2: []}
        try:
            print(
                f"interval {interval:g} s; starting {2 * args.watchers} watchers at random phases …",
                flush=True,
            )
            offsets = sorted(rng.uniform(0, interval) for _ in range(2 * args.watchers))
            t0 = time.time()
            for i, off in enumerate(offsets):
                time.sleep(max(0.0, t0 + off - time.time()))
                for_polls = 1 if i % 2 == 0 else 2
                ivl = args.interval  # None: the daemon's own default
                watchers.append(start_watcher(tmp, i, for_polls, ivl, url, rcv.url, env))
                groups[for_polls].append(f"/w{i}")
            time.sleep(interval + 1)  # every watcher has polled the healthy agent
            paths = set(groups[1] + groups[2])
            latency: dict[int, list[float]] = {1: [], 2: []}
            detection: dict[int, list[float]] = {1: [], 2: []}
            delivery: list[float] = []
            for rnd in range(args.rounds):
                before_f = {p: len(v) for p, v in rcv.count("firing").items()}
                before_r = {p: len(v) for p, v in rcv.count("resolved").items()}
                time.sleep(rng.uniform(0, interval))
                breach = time.time()
                set_queue(store, 3)
                wait_all(rcv, "firing", paths, before_f, 2 * interval + 30)
                got = rcv.count("firing")
                for k, ps in groups.items():
                    for p in ps:
                        at, body = got[p][before_f.get(p, 0)]
                        started = parse_time(body["alerts"][0]["startsAt"]).timestamp()
                        latency[k].append(at - breach)
                        detection[k].append(started - breach)
                        delivery.append(at - started)
                print(f"round {rnd + 1}: for=1 {summary(latency[1][-len(groups[1]):])}  "
                      f"for=2 {summary(latency[2][-len(groups[2]):])}", flush=True)  # fmt: skip
                set_queue(store, 0)
                wait_all(rcv, "resolved", paths, before_r, interval + 30)
        finally:
            for w in watchers:
                w.terminate()
            for w in watchers:
                w.wait(15)
            agent.terminate()
            agent.wait(15)
            store.close()

    print()
    print(f"machine: {machine()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"poll interval {interval:g} s, {args.rounds} breaches × {args.watchers} watchers per row; "
          "seconds, min / median / p90 / max")  # fmt: skip
    print()
    print(
        "| watchers | breach → notification received | of which: waiting for polls "
        "| minus the `for` hold ((for − 1) × interval) | target: ≤ interval + 1 s |"
    )
    print("|---|---|---|---|---|")
    for k in (1, 2):
        hold = (k - 1) * interval
        net = [v - hold for v in latency[k]]
        verdict = "met" if max(net) <= interval + 1 else "MISSED"
        label = "`for: 1`" if k == 1 else "`for: 2` (default)"
        print(
            f"| {label} | {summary(latency[k])} | {summary(detection[k])} | {summary(net)} "
            f"| {verdict} (max {max(net):.2f} s) |"
        )
    print(f"\ndelivery (the firing poll's start → received): {summary(delivery)} s "
          f"(n={len(delivery)}, {datetime.now(UTC):%Y-%m-%d})")  # fmt: skip


if __name__ == "__main__":
    main()
