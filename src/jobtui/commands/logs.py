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
    a.add_argument(
        "file", metavar="FILE", help="a log file, e.g. logs/all.log (.gz too; - reads stdin)"
    )
    a.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    from jobtui.commands.argtypes import at_least_one

    a.add_argument(
        "--workers",
        type=at_least_one,
        metavar="N",
        help="processes for a large file (default: one per CPU, at most 8; at most the CPUs)",
    )


def run(args: argparse.Namespace) -> int:
    import json
    import zlib
    from pathlib import Path

    from jobtui.contract import utcnow
    from jobtui.literal import printable
    from jobtui.logs.analyze import NotText, analyze, analyze_stream, cpus

    def fail(problem: str) -> int:  # every problem with the input: one line, exit 2
        print(printable(f"jobtui logs analyze: {problem}"), file=sys.stderr)
        return 2

    path = Path(args.file)
    shown = "standard input" if args.file == "-" else str(path)
    if args.file != "-" and path.is_dir():
        return fail(f"{path}: is a directory")
    try:
        if args.file == "-":
            report = analyze_stream(sys.stdin.buffer, "-")
        else:
            workers = None if args.workers is None else min(args.workers, cpus())
            report = analyze(path, workers=workers)
    except FileNotFoundError:
        return fail(f"{shown}: no such file")
    except NotText as exc:
        return fail(f"{shown}: {exc}")
    except (EOFError, zlib.error) as exc:  # a truncated or damaged .gz
        return fail(f"{shown}: not a readable .gz file ({exc or type(exc).__name__})")
    except OSError as exc:  # unreadable; a file that is not gzip at all (BadGzipFile)
        reason = exc.strerror or str(exc) or type(exc).__name__
        return fail(f"{shown}: cannot read: {reason}")
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        text = report.text(utcnow().strftime("%Y-%m-%d %H:%M:%S UTC"))
        sys.stdout.write(printable(text, lines=True))  # the log's own lines are quoted in it
    return 0
