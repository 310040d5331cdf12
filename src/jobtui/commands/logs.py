"""``jobtui logs analyze [FILE]``: the seed's log analysis report, as text or JSON; written
beside the log (``--report``) and sent through the notifiers (``--notify``) as the seed's
``analyze-logs.sh`` does."""

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
        "file",
        metavar="FILE",
        nargs="?",
        help="a log file (.gz too; - reads stdin); default: the agent's all.log in logging.dir, "
        "else logs/all.log",
    )
    a.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    a.add_argument(
        "--report",
        action="store_true",
        help="also write the report to analysis_YYYYMMDD.txt beside the log (0600)",
    )
    a.add_argument(
        "--notify",
        action="store_true",
        help="also send the report through the configured notifiers (the seed mails it)",
    )
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

    from jobtui.config import ConfigError, load_config
    from jobtui.logs.report import default_log, report_path, send, write_private

    config = None
    if args.file is None or args.notify:
        try:
            config = load_config(args.config)
            path = Path(args.file) if args.file is not None else default_log(config)
        except ConfigError as exc:
            return fail(str(exc))
    else:
        path = Path(args.file)
    if args.file == "-" and args.report:
        return fail("--report writes beside the log file: give a FILE, not standard input")
    if args.report and args.read_only:
        return fail("--report writes a file, which --read-only forbids")
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
    now = utcnow()
    text = printable(report.text(now.strftime("%Y-%m-%d %H:%M:%S UTC")), lines=True)
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        sys.stdout.write(text)  # printable: the log's own lines are quoted in it
    status = 0
    if args.report:
        out = report_path(path, now)
        try:
            write_private(out, text)
        except OSError as exc:
            return fail(f"cannot write {out}: {exc.strerror or exc}")
        print(printable(f"Report written to {out}"), file=sys.stderr)
    if args.notify:
        assert config is not None
        try:
            results = send(config, report, path, text)
        except (ConfigError, ValueError) as exc:
            return fail(f"--notify: {exc}")
        for name, problem in results:
            said = f"Report not sent to {name}: {problem}" if problem else f"Report sent to {name}"
            print(printable(said), file=sys.stderr)
            status = status or (1 if problem else 0)
    return status
