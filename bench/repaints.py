"""Which widgets of the idle dashboard repaint, and how often: the cause of its idle cost.

Starts ``jobtui serve`` on an empty SQLite file (steady figures, as ``idle_ratio.py`` does),
runs the dashboard headless at one size with every poll at 2 s, and counts the calls of
``Widget.refresh`` (a repaint of that widget) and of layout passes per widget over a window,
after a warm-up. The floor app repaints one Static (and a table's cells) per poll.

Usage: ``.venv/bin/python bench/repaints.py [--size 200x50] [--window 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from idle_ratio import start_agent


def name_of(widget: Any) -> str:
    return f"#{widget.id}" if widget.id else type(widget).__name__


async def count(url: str, size: tuple[int, int], warm: float, window: float) -> None:
    from textual.widget import Widget

    from jobtui.config import DashboardConfig, Target
    from jobtui.dashboard.app import DashboardApp

    counts: collections.Counter[str] = collections.Counter()
    layouts: collections.Counter[str] = collections.Counter()
    counting = False
    original = Widget.refresh

    def refresh(self: Widget, *args: Any, **kwargs: Any) -> Widget:
        if counting and self.is_mounted:
            counts[name_of(self)] += 1
            if kwargs.get("layout"):
                layouts[name_of(self)] += 1
        return original(self, *args, **kwargs)

    Widget.refresh = refresh  # type: ignore[method-assign]
    settings = DashboardConfig(health_interval=2.0, metrics_interval=2.0)
    app = DashboardApp(Target("idle", url, None), settings=settings)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(warm)
        counting = True
        await asyncio.sleep(window)
        counting = False
    polls = window / settings.health_interval
    print(f"{size[0]}x{size[1]}, {window:g} s ({polls:g} polls): refreshes per widget")
    for name, n in counts.most_common():
        print(f"  {name:<28} {n:4}  ({n / polls:.1f}/poll, layout {layouts[name]})")
    print(f"  {'total':<28} {sum(counts.values()):4}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="200x50")
    ap.add_argument("--warm", type=float, default=6.0)
    ap.add_argument("--window", type=float, default=20.0)
    args = ap.parse_args()
    cols, rows = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="jobtui-repaints-") as tmp:
        agent, url = start_agent(Path(tmp))
        try:
            asyncio.run(count(url, (cols, rows), args.warm, args.window))
        finally:
            agent.terminate()
            agent.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
