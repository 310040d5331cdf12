"""The dashboard's idle cost as a ratio to a floor app, measured side by side in one run.

Absolute CPU figures move from hour to hour on a shared machine; a ratio measured minutes
apart does not. Starts ``jobtui serve`` on an empty SQLite file (a server with steady
figures), then, at each terminal size, runs the reference meter (``idle_cost.py``, a private
tmux server per repetition) on the floor app (``textual_floor.py``: a minimal Textual app
polling the health URL every 2 s) and on ``jobtui`` with every poll at 2 s, alternating, and
prints each median and their ratio (target: at most 1.35).

Usage: ``.venv/bin/python bench/idle_ratio.py [--reps 3] [--window 60] [--sizes 200x50,80x24]
[--reference ../shared/reference]``. Needs tmux.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
TARGET = 1.35


def reference_dir() -> Path:
    """``../shared/reference`` beside the checkout; from a git worktree elsewhere, beside
    the main checkout (the repository's common git directory)."""
    here = ROOT.parent / "shared" / "reference"
    if here.exists():
        return here
    found = subprocess.run(
        ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    main = Path(found.stdout.strip()).parent if found.returncode == 0 else ROOT
    return main.parent / "shared" / "reference"


def start_agent(tmp: Path) -> tuple[subprocess.Popen[str], str]:
    """The agent on an empty store: every figure stays the same while nobody works. Its
    output goes to a file (a pipe nobody reads would block it)."""
    (tmp / "agent.yaml").write_text("{}\n")
    out = tmp / "agent.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBTUI_")}
    proc = subprocess.Popen(
        [PY, "-m", "jobtui", "serve", "--database", f"sqlite:///{tmp / 'idle.db'}",
         "--port", "0", "--config", str(tmp / "agent.yaml")],
        stdout=out.open("w"), stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        found = re.search(r"listening on (\S+)", out.read_text())
        if found:
            return proc, found.group(1)
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the agent did not start: {out.read_text()[-1500:]}")


def meter(reference: Path, name: str, size: str, reps: int, window: float, cmd: str) -> float:
    """The median CPU % of one core that ``idle_cost.py`` measures for ``cmd``."""
    out = subprocess.run(
        [PY, str(reference / "idle_cost.py"), "--name", name, "--size", size,
         "--reps", str(reps), "--window", str(window), "--", cmd],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    found = re.search(r"^RESULT name=\S+ cpu_pct_median=([0-9.]+)", out.stdout, re.M)
    if not found:
        raise SystemExit(f"{name}: no RESULT line\n{out.stdout[-1500:]}{out.stderr[-1500:]}")
    return float(found.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3, help="repetitions per measurement")
    ap.add_argument("--window", type=float, default=60.0, help="seconds per repetition")
    ap.add_argument("--rounds", type=int, default=2, help="floor/jobtui pairs per size")
    ap.add_argument("--sizes", default="200x50,80x24")
    ap.add_argument("--reference", type=Path, default=reference_dir())
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # each round as it ends
    if not (args.reference / "idle_cost.py").exists():
        raise SystemExit(f"no idle_cost.py in {args.reference} (--reference DIR)")
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"load before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with tempfile.TemporaryDirectory(prefix="jobtui-idle-") as tmp:
        agent, url = start_agent(Path(tmp))
        try:
            health = f"{url}/api/jobs/health"
            floor = f"{shlex.quote(PY)} {shlex.quote(str(args.reference / 'textual_floor.py'))} {health} 2"
            jobtui = f"env JOBTUI_POLL_SECONDS=2 {shlex.quote(str(Path(PY).parent / 'jobtui'))} --url {url}"
            worst = 0.0
            for size in args.sizes.split(","):
                for r in range(args.rounds):
                    f = meter(args.reference, "floor", size, args.reps, args.window, floor)
                    j = meter(args.reference, "jobtui", size, args.reps, args.window, jobtui)
                    ratio = j / f if f else float("inf")
                    worst = max(worst, ratio)
                    print(f"{size} round {r + 1}: floor {f:.2f} %, jobtui {j:.2f} % of one core"
                          f" → {ratio:.2f}×")  # fmt: skip
        finally:
            agent.terminate()
            agent.wait(10)
    load = os.getloadavg()
    print(f"load after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    verdict = "met" if worst <= TARGET else "missed"
    print(f"worst ratio {worst:.2f}× (target ≤ {TARGET}×: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
