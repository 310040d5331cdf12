"""A log generator with known counts, for the log analyzer's tests and its benchmark.

It writes what an agent running the demo workload at level ``http`` writes (our text format,
some lines as JSON), mixed with Winston's coloured format and plain lines without a level.
Each kind of line says by hand what the seed's analysis must count for it, so the expected
figures never come from the analyzer's own logic.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Kind:
    weight: float
    level: str  # our level word ("" for a plain line, "winston" for Winston's format)
    message: str  # {id} {n} {type} {rid} are filled in
    critical: str | None = None  # the seed pattern it counts for, if any
    warning: str | None = None
    success: str | None = None
    error: str | None = None  # its entry in "most common errors", if an error line
    created: bool = False
    completed: bool = False
    failed: bool = False


ERR = "Job failed: <id> - "
KINDS: tuple[Kind, ...] = (
    Kind(40, "HTTP", "[{rid}] GET /api/jobs/health 200 {n}.4ms"),
    Kind(
        8, "HTTP", "[{rid}] GET /api/monitoring/errors?hours=24 200 {n}.1ms"
    ),  # "err", not an error
    Kind(14, "INFO", "Created {type} job: {id}", created=True),
    Kind(
        12,
        "INFO",
        "Job completed: {id} - Job completed successfully",  # the demo workload's line
        success="Job completed successfully",
        completed=True,
    ),
    Kind(
        1.5,
        "ERROR",
        "Job failed: {id} - Out of memory: worker heap limit of {n} MB reached",
        critical="Out of memory",
        error=ERR + "Out of memory: worker heap limit of <n> MB reached",
        failed=True,
    ),
    Kind(
        1.0,
        "ERROR",
        "Job failed: {id} - OpenAI API Error: Rate limit exceeded (429 Too Many Requests)",
        critical="OpenAI API error",
        error=ERR + "OpenAI API Error: Rate limit exceeded (<n> Too Many Requests)",
        failed=True,
    ),
    Kind(
        0.7,
        "ERROR",
        "Job failed: {id} - Invalid input: story prompt is empty",
        error=ERR + "Invalid input: story prompt is empty",
        failed=True,
    ),
    Kind(
        0.5,
        "ERROR",
        "Job failed: {id} - Maximum retries exceeded after {n} attempts",
        critical="Maximum retries exceeded",
        error=ERR + "Maximum retries exceeded after <n> attempts",
        failed=True,
    ),
    Kind(
        2.0,
        "WARN",
        "Job retry attempt {n}: {id} - Network request failed: ECONNRESET",
        warning="Job retry attempt",
    ),
    Kind(0.6, "WARN", "High queue depth: {n} pending jobs", warning="High queue depth"),
    Kind(1.0, "INFO", "Processing completed for batch {n}", success="Processing completed"),
    Kind(0.5, "INFO", "Job completed successfully: {id}", success="Job completed successfully"),
    Kind(0.4, "INFO", "Worker recovered after Out of memory"),  # a critical phrase, info level
    Kind(
        0.6,
        "winston-error",
        "Database connection failed: timeout after {n}ms",
        critical="Database connection failed",
        error="Database connection failed: timeout after <n>",
    ),
    # In a levelled log a line without a level is a continuation (a traceback): it counts for
    # nothing, whatever it says. (Plain logs, where patterns count on any line, are tested apart.)
    Kind(0.3, "", "Slow database query took {n} ms on 10.0.0.{n}"),
    Kind(0.4, "DEBUG", "Polled {n} rows; no error"),
    Kind(
        0.5,
        "json-error",
        "Job failed: {id} - Job exceeded maximum processing time ({n} ms)",
        critical="Job exceeded maximum processing time",
        error=ERR + "Job exceeded maximum processing time (<n> ms)",
        failed=True,
    ),
    Kind(0.5, "json-info", "Created story_generation job: {id}", created=True),
)
TYPES = ("story_generation", "image_generation", "audio_narration", "pdf_export")


@dataclass
class Expected:
    lines: int = 0
    bytes: int = 0
    critical: Counter[str] = field(default_factory=Counter)
    warning: Counter[str] = field(default_factory=Counter)
    success: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    created: int = 0
    completed: int = 0
    failed: int = 0


def render(kind: Kind, rng: random.Random, second: int) -> str:
    job_id = f"{rng.getrandbits(128):032x}"
    job_id = f"{job_id[:8]}-{job_id[8:12]}-{job_id[12:16]}-{job_id[16:20]}-{job_id[20:]}"
    message = kind.message.format(
        id=job_id, n=rng.randint(1, 250), type=rng.choice(TYPES), rid=f"{rng.getrandbits(64):016x}"
    )
    hh, mm, ss = second // 3600 % 24, second // 60 % 60, second % 60
    ts = f"2026-11-29 {hh:02d}:{mm:02d}:{ss:02d}"
    if kind.level == "":
        return f"{ts} {message}"
    if kind.level == "winston-error":  # the seed's format, coloured
        return f"\x1b[31m{ts}:123 error: {message}\x1b[39m"
    if kind.level.startswith("json-"):
        level = kind.level[5:]
        return json.dumps(
            {"timestamp": f"{ts}.123Z", "level": level, "logger": "jobtui.demo", "message": message}
        )
    logger = "jobtui.http" if kind.level == "HTTP" else "jobtui.demo"
    return f"{ts}.123 {kind.level} {logger}: {message}"


def generate(path: Path, *, lines: int = 0, size: int = 0, seed: int = 7) -> Expected:
    """Write ``lines`` lines (or about ``size`` bytes); what the analysis must find."""
    rng = random.Random(seed)
    exp = Expected()
    weights = [k.weight for k in KINDS]
    with path.open("w", encoding="utf-8") as f:
        batch: list[str] = []
        while (lines and exp.lines < lines) or (size and exp.bytes < size):
            for kind in rng.choices(KINDS, weights, k=1000):
                line = render(kind, rng, exp.lines // 50)
                batch.append(line)
                exp.lines += 1
                exp.bytes += len(line.encode()) + 1
                for name in ("critical", "warning", "success"):
                    if getattr(kind, name):
                        getattr(exp, name)[getattr(kind, name)] += 1
                if kind.error:
                    exp.errors[kind.error] += 1
                exp.created += kind.created
                exp.completed += kind.completed
                exp.failed += kind.failed
                if lines and exp.lines >= lines:
                    break
            f.write("\n".join(batch) + "\n")
            batch.clear()
    return exp
