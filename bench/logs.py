"""Benchmark ``jobtui logs analyze``: throughput (MB/s) and peak RSS on a generated log.

Generates a log of the given size (default 1 GB) in a temporary directory with
``tests/log_support.py`` (an agent running the demo workload at level http: our text format,
some JSON, Winston's coloured lines), runs ``jobtui logs analyze FILE --format json`` in a
subprocess, checks its counts against what was generated, reports the wall time, MB/s and the
subprocess's peak RSS, and deletes the file. For scale, it also times one pass of the seed's
own ``grep -E`` for the critical patterns over the same file.

    .venv/bin/python bench/logs.py [--size-mb 1024] [--runs 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.log_support import generate  # noqa: E402

SEED_CRITICAL = (
    "error.*Database connection failed|error.*OpenAI API error|error.*Job exceeded maximum|"
    "error.*Out of memory|error.*Maximum retries"
)


def run_measured(cmd: list[str]) -> tuple[float, int, int, str]:
    """Wall seconds, peak RSS of the largest process, peak RSS of the whole process tree
    (the command and its workers, sampled every 20 ms), and stdout of one subprocess."""
    import threading

    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tree_peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal tree_peak
        try:
            p = psutil.Process(proc.pid)
            while not done.is_set():
                total = 0
                for q in [p, *p.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += q.memory_info().rss
                tree_peak = max(tree_peak, total)
                done.wait(0.02)
        except psutil.Error:
            pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read() if proc.stdout else b""
    done.set()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{cmd[:4]} failed: {err}")
    return seconds, usage.ru_maxrss * 1024, tree_peak, out.decode()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024, help="log size in MiB (default 1024)")
    ap.add_argument("--runs", type=int, default=2, help="analyze runs (default 2)")
    ap.add_argument(
        "--workers", default="1,2", help="comma-separated --workers values to try (default 1,2)"
    )
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jobtui-bench-logs-"))
    try:
        path = tmp / "all.log"
        t = time.perf_counter()
        exp = generate(path, size=args.size_mb * 1024 * 1024, seed=11)
        print(
            f"generated {exp.bytes / 1e6:,.0f} MB, {exp.lines:,} lines in "
            f"{time.perf_counter() - t:.0f} s",
            flush=True,
        )
        base = [sys.executable, "-m", "jobtui", "logs", "analyze", str(path), "--format", "json"]
        results = []
        for i, workers in [(i, w) for w in args.workers.split(",") for i in range(args.runs)]:
            cmd = [*base, "--workers", workers]
            seconds, rss, tree, out = run_measured(cmd)
            got = json.loads(out)
            ok = (
                got["lines"] == exp.lines
                and got["critical"]["total"] == sum(exp.critical.values())
                and got["warnings"]["total"] == sum(exp.warning.values())
                and got["jobs"]["failed"] == exp.failed
            )
            results.append((seconds, tree, workers))
            print(
                f"--workers {workers} run {i + 1}: {seconds:.1f} s, {exp.bytes / 1e6 / seconds:.1f} MB/s, "
                f"peak RSS {rss / 1e6:.0f} MB per process, {tree / 1e6:.0f} MB all processes, "
                f"counts {'match' if ok else 'DIFFER'}",
                flush=True,
            )
            if not ok:
                return 1
        if shutil.which("grep"):
            t = time.perf_counter()
            subprocess.run(["grep", "-cE", SEED_CRITICAL, str(path)], capture_output=True)
            g = time.perf_counter() - t
            print(f"for scale: one `grep -cE` of the seed's critical patterns: {g:.1f} s")
        for workers in args.workers.split(","):
            mine = [(s, r) for s, r, w in results if w == workers]
            best = min(s for s, _ in mine)
            print(
                f"--workers {workers}: best {exp.bytes / 1e6 / best:.1f} MB/s, peak RSS of all "
                f"processes {max(r for _, r in mine) / 1e6:.0f} MB"
            )
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.2f}, Python {platform.python_version()}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
