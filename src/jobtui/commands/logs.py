"""``jobtui logs analyze FILE``: the seed's log analysis report, as text or JSON."""

from __future__ import annotations

import argparse
import sys


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="logs_command", metavar="ACTION", required=True)
    a = sub.add_parser(
        "analyze",
        help="the seed's log analysis report of a log file (ours, text or JSON, or any text log)",
        description=(
            "Count the seed's critical, warning and success patterns, the ten most common "
            "errors and the jobs created, completed and failed. Streams the file (.gz too)."
        ),
    )
    a.add_argument("file", metavar="FILE", help="a log file, e.g. logs/all.log")
    a.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    a.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes for a large file (default: one per CPU, at most 8)",
    )


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from jobtui.contract import utcnow
    from jobtui.literal import printable
    from jobtui.logs.analyze import analyze

    path = Path(args.file)
    if path.is_dir():
        print(f"jobtui logs analyze: {path}: is a directory", file=sys.stderr)
        return 2
    try:
        if args.workers is not None and args.workers < 1:
            print("jobtui logs analyze: --workers must be 1 or more", file=sys.stderr)
            return 2
        report = analyze(path, workers=args.workers)
    except FileNotFoundError:
        print(f"jobtui logs analyze: {path}: no such file", file=sys.stderr)
        return 2
    except (OSError, EOFError) as exc:  # unreadable, or a damaged .gz
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        print(f"jobtui logs analyze: {path}: cannot read: {reason}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        text = report.text(utcnow().strftime("%Y-%m-%d %H:%M:%S UTC"))
        sys.stdout.write(printable(text, lines=True))  # the log's own lines are quoted in it
    return 0
