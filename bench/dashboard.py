"""Benchmark of the dashboard in a real terminal (tmux) against the demo agent.

Prints, for ``jobtui --url <demo agent>`` in a 120×40 tmux pane:

- time to first data: from launching the process to the first health figures on screen
  (read back with ``tmux capture-pane`` every 10 ms), several runs;
- CPU % of one core over 60 s idle (nobody typing) at the default polling (health 5 s,
  metrics 30 s) and with every poll at 2 s;
- RSS at start and after 10,000 polls, with the polling interval shortened to get there
  (``JOBTUI_POLL_SECONDS``), sampled along the way to show whether it grows.

With ``--against DIR`` (another checkout, e.g. ``git worktree add /tmp/base <commit>``), the
launches alternate between this checkout and DIR's ``src`` against the same agent, and the
first-data figures are printed side by side with their ratio (absolute times here vary with
the machine's load; a ratio measured in one run does not).

Usage: ``.venv/bin/python bench/dashboard.py [--runs 5] [--idle 60] [--polls 10000]
[--against DIR]``.
Needs tmux. The demo agent runs with ``--log-level http``; its request log counts the polls.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PY = sys.executable
SIZE = (120, 40)
DATA_MARK = "free worker slots"  # on screen only once the first health answer is drawn
TICK = os.sysconf("SC_CLK_TCK")


class Agent:
    """``jobtui serve --demo`` on a temporary SQLite file, logging every request."""

    def __init__(self, tmp: Path):
        self.log = tmp / "agent.log"
        (tmp / "agent.yaml").write_text("{}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
        self.proc = subprocess.Popen(
            [PY, "-m", "jobtui", "serve", "--demo", "--database", f"sqlite:///{tmp / 'demo.db'}",
             "--port", "0", "--config", str(tmp / "agent.yaml"), "--log-level", "http"],
            stdout=subprocess.PIPE, stderr=self.log.open("w"), text=True, env=env, cwd=tmp,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise SystemExit(f"the demo agent did not start: {self.log.read_text()[-2000:]}")
        self.url = line.strip().rsplit(" ", 1)[-1]

    def polls(self) -> int:
        """Requests answered so far (the dashboard is the only client)."""
        with self.log.open(errors="replace") as fh:
            return sum(1 for line in fh if " HTTP jobtui.http: " in line and " GET /api/" in line)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Pane:
    """One private tmux server with one pane running the dashboard."""

    def __init__(self, url: str, env: dict[str, str] | None = None):
        self.socket = f"jobtui-bench-{uuid.uuid4().hex[:8]}"
        unset = ["COLUMNS", "LINES", *(k for k in os.environ if k.startswith("JOBTUI_"))]
        sets = [f"{k}={v}" for k, v in (env or {}).items()]
        cmd = shlex.join(["env", *(a for k in unset for a in ("-u", k)), *sets,
                          PY, "-m", "jobtui", "--url", url])  # fmt: skip
        self.started = time.perf_counter()
        self.tmux("new-session", "-d", "-s", "b", "-x", str(SIZE[0]), "-y", str(SIZE[1]),
                  f"exec {cmd}")  # fmt: skip
        self.pid = int(self.tmux("display", "-p", "-t", "b", "#{pane_pid}").strip())

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True, text=True, timeout=10,
        ).stdout  # fmt: skip

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "b")

    def wait_for(self, text: str, timeout: float = 30.0, every: float = 0.01) -> float:
        """Seconds from launch until ``text`` is on screen."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if text in self.screen():
                return time.perf_counter() - self.started
            time.sleep(every)
        raise SystemExit(f"{text!r} never appeared; the screen:\n{self.screen()}")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.tmux("send-keys", "-t", "b", "q")
        time.sleep(0.5)
        self.tmux("kill-server")


def first_data(agent: Agent, runs: int, env: dict[str, str] | None = None) -> list[float]:
    """Seconds from launch to the first health figures on screen, ``runs`` launches."""
    firsts = []
    for _ in range(runs):
        pane = Pane(agent.url, env)
        firsts.append(pane.wait_for(DATA_MARK))
        pane.close()
    return firsts


def compare(agent: Agent, other: Path, runs: int) -> int:
    """First data of this checkout and of ``other``, launches alternating, with the ratio."""
    if not (other / "src" / "jobtui").is_dir():
        print(
            f"bench/dashboard.py: {other} is not a jobtui checkout (no src/jobtui)", file=sys.stderr
        )
        return 2
    here: list[float] = []
    there: list[float] = []
    for _ in range(runs):
        here += first_data(agent, 1)
        there += first_data(agent, 1, {"PYTHONPATH": str((other / "src").resolve())})
    a, b = statistics.median(here), statistics.median(there)
    print(f"time to first data, this checkout: median {a:.2f} s  "
          f"(runs: {', '.join(f'{s:.2f}' for s in here)})")  # fmt: skip
    print(f"time to first data, {other}: median {b:.2f} s  "
          f"(runs: {', '.join(f'{s:.2f}' for s in there)})")  # fmt: skip
    print(f"ratio this / other: {a / b:.2f}")
    return 0


def cpu_percent(pane: Pane, seconds: float) -> float:
    c0, t0 = pane.cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    return 100 * (pane.cpu_seconds() - c0) / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="launches timed for first data")
    ap.add_argument("--idle", type=float, default=60.0, help="seconds of each CPU measurement")
    ap.add_argument("--polls", type=int, default=10_000, help="polls before the last RSS")
    ap.add_argument("--fast", type=float, default=0.02, help="poll interval (s) for the RSS run")
    ap.add_argument("--against", type=Path, help="another checkout: first data side by side")
    args = ap.parse_args()
    if shutil.which("tmux") is None:
        print("bench/dashboard.py needs tmux", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="jobtui-bench-") as tmp:
        agent = Agent(Path(tmp))
        try:
            return run(agent, args)
        finally:
            agent.stop()


def run(agent: Agent, args: argparse.Namespace) -> int:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}")  # fmt: skip
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"demo agent: {agent.url}; terminal {SIZE[0]}x{SIZE[1]} (tmux)\n")

    if args.against:
        return compare(agent, args.against, args.runs)
    firsts = first_data(agent, args.runs)
    shown = ", ".join(f"{s:.2f}" for s in firsts)
    print(f"time to first data: median {statistics.median(firsts):.2f} s  (runs: {shown})")

    results = {}
    for label, env in (
        ("default polling (5 s / 30 s)", {}),
        ("every poll at 2 s", {"JOBTUI_POLL_SECONDS": "2"}),
    ):
        pane = Pane(agent.url, env)
        pane.wait_for(DATA_MARK)
        time.sleep(5)  # past start-up
        results[label] = cpu_percent(pane, args.idle)
        print(f"CPU, idle {args.idle:.0f} s, {label}: {results[label]:.2f} % of one core")
        pane.close()

    pane = Pane(agent.url, {"JOBTUI_POLL_SECONDS": str(args.fast)})
    pane.wait_for(DATA_MARK)
    base = agent.polls()
    time.sleep(1)
    samples = [(0, pane.rss_mb())]
    step = args.polls // 4
    started = time.perf_counter()
    for target in range(step, args.polls + 1, step):
        while agent.polls() - base < target:
            time.sleep(0.5)
        samples.append((agent.polls() - base, pane.rss_mb()))
    elapsed = time.perf_counter() - started
    pane.close()
    line = ", ".join(f"{n:,} polls: {mb:.1f} MB" for n, mb in samples)
    print(f"RSS (polls every {args.fast:g} s, {elapsed:.0f} s): {line}")
    print(f"RSS growth over {samples[-1][0]:,} polls: {samples[-1][1] - samples[0][1]:+.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
