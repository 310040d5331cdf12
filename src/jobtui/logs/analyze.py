"""``jobtui logs analyze``: the seed's log analysis report (its ``analyze-logs.sh``), streamed.

Counts the critical, warning and success patterns (:mod:`.patterns`), the ten most common
errors (error lines with ids, numbers and addresses replaced by placeholders, so one kind of
error is one entry, which ``sort | uniq -c`` on timestamped lines never gives), and the jobs
created, completed and failed (the seed's ``Created .* job:``, ``Job completed:``, ``Job
failed:``).

The file is read in blocks of a few MB, so memory stays flat whatever its size. Only lines
that contain a word that could make them count (a level word such as "err" or "warn", a
pattern, a job phrase) are looked at one by one; the others are skipped by C-speed substring
search, which makes most of a log nearly free. ``.gz`` files are read as they are.
"""

from __future__ import annotations

import gzip
import io
import multiprocessing
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from jobtui.logs.patterns import PATTERNS, Kind, Line, kinds, read_line

BLOCK = 4 * 1024 * 1024
MAX_LINE = 64 * 1024  # a longer line is judged by its first 64 KB
MAX_DISTINCT = 20_000  # distinct error messages kept; past it the rarest are dropped
TOP = 10

# Job statistics: the demo workload's (and the seed's) phrases, case as written.
_CREATED = re.compile(rb"Created [^\n]* job:")
_COMPLETED_TWICE = re.compile(rb"Job completed:[^\n]*Job completed:")
_FAILED_TWICE = re.compile(rb"Job failed:[^\n]*Job failed:")
# A line that contains none of these (lower case) cannot count for anything.
_CANDIDATES: tuple[bytes, ...] = tuple(
    sorted(
        {b"err", b"fatal", b"crit", b"severe", b"warn"}
        | {p.lower().encode() for ps in PATTERNS.values() for p in ps}
    )
)
_PLACEHOLDER = re.compile(
    r"(?<![\w-])(?:"
    r"(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|(?P<ip>\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?)"
    r"|(?P<n>\d+(?:\.\d+)?(?:ms|s|MB|KB|GB|%)?)"
    r"|(?P<hex>(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{12,}))"
    r"(?![\w-])"
)
_NAMES = {"id": "<id>", "hex": "<id>", "ip": "<ip>", "n": "<n>"}


def normalise(message: str) -> str:
    """One kind of error, one text: ids, addresses and numbers become placeholders."""
    return _PLACEHOLDER.sub(lambda m: _NAMES[m.lastgroup or "n"], message).strip()[:300]


@dataclass
class Report:
    path: str
    bytes: int = 0
    lines: int = 0
    error_lines: int = 0
    counts: dict[Kind, Counter[str]] = field(
        default_factory=lambda: {k: Counter() for k in PATTERNS}
    )
    totals: Counter[str] = field(default_factory=Counter)  # lines per kind
    errors: Counter[str] = field(default_factory=Counter)
    jobs_created: int = 0
    jobs_completed: int = 0
    jobs_failed: int = 0
    seconds: float = 0.0
    processes: int = 1  # how many read it
    approximate: bool = False  # too many distinct errors: the rarest were dropped

    def add(self, other: Report) -> None:
        """Add up the report of another part of the file."""
        self.bytes += other.bytes
        self.lines += other.lines
        self.error_lines += other.error_lines
        for kind in PATTERNS:
            self.counts[kind].update(other.counts[kind])
        self.totals.update(other.totals)
        self.errors.update(other.errors)
        if len(self.errors) > MAX_DISTINCT:
            self.errors = Counter(dict(self.errors.most_common(MAX_DISTINCT // 2)))
            self.approximate = True
        self.approximate |= other.approximate
        self.jobs_created += other.jobs_created
        self.jobs_completed += other.jobs_completed
        self.jobs_failed += other.jobs_failed

    @property
    def top_errors(self) -> list[tuple[int, str]]:
        return [(n, m) for m, n in self.errors.most_common(TOP)]

    def to_json(self) -> dict[str, Any]:
        def section(kind: Kind) -> dict[str, Any]:
            return {
                "total": self.totals[kind],
                "patterns": {p: self.counts[kind][p] for p in PATTERNS[kind]},
            }

        return {
            "file": self.path,
            "bytes": self.bytes,
            "lines": self.lines,
            "critical": section("critical"),
            "warnings": section("warning"),
            "successes": section("success"),
            "errorLines": self.error_lines,
            "topErrors": [{"count": n, "message": m} for n, m in self.top_errors],
            "topErrorsApproximate": self.approximate,
            "jobs": {
                "created": self.jobs_created,
                "completed": self.jobs_completed,
                "failed": self.jobs_failed,
            },
            "seconds": round(self.seconds, 3),
            "processes": self.processes,
        }

    def text(self, when: str) -> str:
        """The seed's report layout."""
        out = [f"Log Analysis Report - {when}", "=" * 33]
        by = f" by {self.processes} processes" if self.processes > 1 else ""
        out.append(
            f"File: {self.path} ({_size(self.bytes)}, {self.lines:,} lines, read in "
            f"{self.seconds:.1f} s{by})"
        )
        sections: tuple[tuple[str, Kind], ...] = (
            ("Critical Errors", "critical"),
            ("Warnings", "warning"),
            ("Successful Operations", "success"),
        )
        for title, kind in sections:
            out.append(f"{title}: {self.totals[kind]:,}")
            for p in PATTERNS[kind]:
                if self.counts[kind][p]:
                    out.append(f"  {self.counts[kind][p]:>9,}  {p}")
        out.append(f"Most Common Errors ({self.error_lines:,} error lines):")
        if not self.errors:
            out.append("  none")
        for n, message in self.top_errors:
            out.append(f"  {n:>9,}  {message}")
        if self.approximate:
            out.append("  (approximate: more than 20,000 kinds of error)")
        out += [
            "Job Processing Statistics:",
            f"  Total jobs created: {self.jobs_created:,}",
            f"  Jobs completed: {self.jobs_completed:,}",
            f"  Jobs failed: {self.jobs_failed:,}",
        ]
        return "\n".join(out) + "\n"


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def open_log(path: Path) -> io.BufferedIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


class Reader(Protocol):
    """What :func:`blocks` reads from: a file, or a :class:`_Limited` part of one."""

    def read(self, size: int, /) -> bytes: ...


def blocks(f: Reader, size: int = BLOCK) -> Iterator[bytes]:
    """Whole lines, a few MB at a time; each ends with a newline. A line longer than
    ``MAX_LINE`` is cut to its first ``MAX_LINE`` bytes."""
    carry = b""
    skipping = False  # inside an over-long line, after its head was given
    while True:
        data = f.read(size)
        if not data:
            break
        if skipping:
            nl = data.find(b"\n")
            if nl == -1:
                continue
            data, skipping = data[nl + 1 :], False
        buf = carry + data if carry else data
        cut = buf.rfind(b"\n")
        if cut == -1:
            if len(buf) > MAX_LINE:
                yield buf[:MAX_LINE] + b"\n"
                carry, skipping = b"", True
            else:
                carry = buf
            continue
        carry = buf[cut + 1 :]
        if len(carry) > MAX_LINE:
            yield buf[: cut + 1] + carry[:MAX_LINE] + b"\n"
            carry, skipping = b"", True
        else:
            yield buf[: cut + 1]
    if carry:
        yield carry + b"\n"


PARALLEL_MIN = 64 * 1024 * 1024  # smaller files are read by one process


class NotText(ValueError):
    """The file is not a text log (a NUL byte among its first bytes: a binary file)."""


SNIFF = 8192  # bytes looked at for a NUL, as git and grep do


def _text_sample(chunk: bytes) -> bytes:
    if b"\0" in chunk[:SNIFF]:
        raise NotText("not a text log (binary data)")
    return chunk


def cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def analyze(
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
    block: int = BLOCK,
    workers: int | None = None,
) -> Report:
    """Read ``path`` once and build the report. Raises OSError when it cannot be read,
    :class:`NotText` for a binary file, EOFError or zlib.error for a damaged ``.gz``.

    A large uncompressed file is cut into line-aligned ranges read by ``workers`` processes
    (default: one per CPU, at most 8), each in blocks; their reports are added up."""
    start = time.perf_counter()
    size = path.stat().st_size if path.suffix != ".gz" else 0
    n = workers if workers is not None else min(8, cpus())
    if n > 1 and size >= PARALLEL_MIN and progress is None:
        with path.open("rb") as f:
            scan = Scan.for_sample(_text_sample(next(blocks(f, block), b"")))
        bounds = [size * i // n for i in range(n + 1)]
        ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        with ProcessPoolExecutor(n, mp_context=ctx) as pool:
            parts = list(
                pool.map(
                    _range, [(str(path), bounds[i], bounds[i + 1], scan, block) for i in range(n)]
                )
            )
        report = Report(str(path), processes=n)
        for part in parts:
            report.add(part)
    else:
        with open_log(path) as f:
            report = analyze_stream(f, str(path), progress=progress, block=block)
    report.seconds = time.perf_counter() - start
    return report


def analyze_stream(
    f: Reader,
    name: str,
    *,
    progress: Callable[[int], None] | None = None,
    block: int = BLOCK,
) -> Report:
    """The report of a stream read once, in one process (standard input, a ``.gz``)."""
    start = time.perf_counter()
    report = Report(name)
    scan = None
    for chunk in blocks(f, block):
        scan = scan or Scan.for_sample(_text_sample(chunk))
        scan.block(report, chunk)
        report.bytes += len(chunk)
        if progress:
            progress(report.bytes)
    report.seconds = time.perf_counter() - start
    return report


def _align(f: IO[bytes], offset: int) -> int:
    """The first line start at or after ``offset``."""
    if offset == 0:
        return 0
    f.seek(offset - 1)
    f.readline()
    return f.tell()


class _Limited:
    """A reader that stops after ``remaining`` bytes."""

    def __init__(self, f: IO[bytes], remaining: int):
        self.f, self.remaining = f, remaining

    def read(self, size: int) -> bytes:
        data = self.f.read(min(size, self.remaining)) if self.remaining > 0 else b""
        self.remaining -= len(data)
        return data


def _range(job: tuple[str, int, int, Scan, int]) -> Report:
    """One worker: the lines that start in [lo, hi)."""
    path, lo, hi, scan, block = job
    report = Report(path)
    with open(path, "rb") as f:
        end = _align(f, hi)
        start = _align(f, lo)
        f.seek(start)
        for chunk in blocks(_Limited(f, end - start), block):
            scan.block(report, chunk)
            report.bytes += len(chunk)
    return report


SAMPLE = 2000  # lines read to learn the file's kind
LEVELLED = 0.9  # this share of the sample with a level word: a levelled log


@dataclass(frozen=True)
class Scan:
    """How to find the lines that may count, learned from the file's first lines.

    In a levelled log (ours, Winston's, most apps'), a critical or warning pattern counts only
    on an error or warn line, so the lines to read are those with a level word (``err``,
    ``warn``, and ``fatal``/``crit``/``severe`` if the file uses them) or a success phrase;
    a line without a level there is a continuation (a traceback) and counts for nothing.
    In a plain log, every pattern is looked for on every line."""

    words: tuple[bytes, ...]
    levelled: bool

    @classmethod
    def for_sample(cls, chunk: bytes) -> Scan:
        lines = chunk[: 400 * SAMPLE].split(b"\n", SAMPLE)[:SAMPLE]
        read = [read_line(x.decode("utf-8", "replace")) for x in lines if x.strip()]
        with_level = [x for x in read if x.level is not None]
        if not read or len(with_level) < LEVELLED * len(read):
            return cls(_CANDIDATES, levelled=False)
        low = chunk[: 400 * SAMPLE].lower()
        words = {b"err", b"warn"} | {w for w in (b"fatal", b"crit", b"severe") if w in low}
        words |= {p.lower().encode() for p in PATTERNS["success"]}
        return cls(tuple(sorted(words)), levelled=True)

    def block(self, r: Report, chunk: bytes) -> None:
        r.lines += chunk.count(b"\n")
        # Job statistics: lines with each phrase (a phrase twice on a line counts once).
        r.jobs_completed += _lines_with(chunk, b"Job completed:", _COMPLETED_TWICE)
        r.jobs_failed += _lines_with(chunk, b"Job failed:", _FAILED_TWICE)
        r.jobs_created += len(_CREATED.findall(chunk))
        low = chunk.lower()
        starts: set[int] = set()
        for word in self.words:
            i = low.find(word)
            while i != -1:
                starts.add(low.rfind(b"\n", 0, i) + 1)
                end = low.find(b"\n", i)
                i = low.find(word, end) if end != -1 else -1
        for s in sorted(starts):
            raw = chunk[s : chunk.find(b"\n", s)]
            parts = raw.split(b" ", 3)
            if len(parts) == 4 and _QUIET.get(parts[2]) and not _SUCCESS.search(raw):
                continue  # ours or Winston's http/debug/info line: "err" was in its text only
            line = read_line(raw.decode("utf-8", errors="replace"))
            if line.level is None and self.levelled:
                continue
            _count(r, line)


# Level words (ours, Winston's) of lines that count for nothing unless they hold a success phrase.
_QUIET = {
    w: True
    for name in ("info", "http", "debug", "notice", "trace")
    for w in (name.encode(), name.upper().encode(), name.encode() + b":")
}
_SUCCESS = re.compile(b"|".join(re.escape(p.encode()) for p in PATTERNS["success"]), re.I)


def _lines_with(chunk: bytes, phrase: bytes, twice: re.Pattern[bytes]) -> int:
    """Lines containing ``phrase`` (``twice`` finds the rare line that has it more than once)."""
    n = chunk.count(phrase)
    if n > 1:
        for m in twice.finditer(chunk):
            n -= m.group().count(phrase) - 1
    return n


def _count(r: Report, line: Line) -> None:
    for kind, pattern in kinds(line):
        r.totals[kind] += 1
        r.counts[kind][pattern] += 1
    if line.level == "error":
        r.error_lines += 1
        r.errors[normalise(line.message)] += 1
        if len(r.errors) > MAX_DISTINCT:
            r.errors = Counter(dict(r.errors.most_common(MAX_DISTINCT // 2)))
            r.approximate = True
