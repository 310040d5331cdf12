"""Hostile text: strings a server, a job, a log file or a config may hold, and a server that
answers them in every field the dashboard shows.

A job's error is written by whoever made the job fail, so each string here is something a
real job system can carry: markup-like brackets, terminal escape sequences (a screen clear, a
clipboard write, a link, a window title), C0 and C1 controls, bidi overrides, a lone
surrogate (JSON can encode one), a line of 100,000 characters, wide and zero-width text.
``SHOWN`` says how each must appear on screen: control escaped, printable text unchanged.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote

from tests.support import Canned, SeedServer, seed_health, seed_metrics

MARKUP = "wrote s3://bucket/[/]tmp"
BOLD = "[bold]not bold[/bold]"
LINK = "[link=https://evil.example]click[/link]"
CLEAR = "\x1b[2J cleared"
CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07 copied"  # OSC 52: writes the terminal's clipboard
HYPERLINK = "\x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\"  # OSC 8: a hidden link
TITLE = "\x1b]2;pwned\x07 titled"  # OSC 2: sets the window (or tmux pane) title
C0_C1 = "nul\x00 bel\x07 bs\x08 del\x7f csi\x9b"
BIDI = "abc\u202edcba"
SURROGATE = "lone \ud800 half"
CJK = "中文の仕事"
EMOJI = "🎉 👨\u200d👩\u200d👧 done"  # a ZWJ sequence: joiners kept
ZERO_WIDTH = "zero\u200bwidth\ufeffmark"
LONG = "L" * 99_990 + " long tail"  # one line of 100,000 characters

HOSTILE: dict[str, str] = {
    "markup": MARKUP,
    "bold": BOLD,
    "link": LINK,
    "clear": CLEAR,
    "clipboard": CLIPBOARD,
    "hyperlink": HYPERLINK,
    "title": TITLE,
    "c0c1": C0_C1,
    "bidi": BIDI,
    "surrogate": SURROGATE,
    "cjk": CJK,
    "emoji": EMOJI,
    "zero_width": ZERO_WIDTH,
    "long": LONG,
}

# How each string must look on screen (the long line is cut by every view that shows it).
SHOWN: dict[str, str] = {
    "markup": MARKUP,
    "bold": BOLD,
    "link": LINK,
    "clear": "\\x1b[2J cleared",
    "clipboard": "\\x1b]52;c;cHduZWQ=\\x07 copied",
    "hyperlink": "\\x1b]8;;https://evil.example\\x1b\\here",
    "title": "\\x1b]2;pwned\\x07 titled",
    "c0c1": "nul\\x00 bel\\x07 bs\\x08 del\\x7f csi\\x9b",
    "bidi": "abc\\u202edcba",
    "surrogate": "lone \\ud800 half",
    "cjk": CJK,
    "emoji": "🎉",
    "zero_width": "zero\\u200bwidth\\ufeffmark",
    "long": "LLLLLLLLLL",
}

# Kept on screen as they are: what emoji and scripts need.
KEPT = {"\u200c", "\u200d"}


def raw_controls(text: str) -> set[str]:
    """The characters of ``text`` that must never reach a terminal: control characters
    (C0, DEL, C1), format characters (bidi overrides, zero-width spaces; joiners aside) and
    surrogates. This is the tests' own definition, independent of :mod:`jobtui.literal`."""
    return {c for c in text if c not in KEPT and unicodedata.category(c) in ("Cc", "Cf", "Cs")} - {
        "\n"
    }


# --------------------------------------------------------------------------- jobs


def job(job_id: str, type: str, message: str, error: str, status: str = "failed") -> dict[str, Any]:
    return {
        "id": job_id,
        "type": type,
        "status": status,
        "progress": 40,
        "message": message,
        "error": error,
        "attempts": 3,
        "maxAttempts": 3,
        "createdAt": "2026-11-29T02:50:00.000Z",
        "updatedAt": "2026-11-29T02:55:00.000Z",
        "startedAt": "2026-11-29T02:51:00.000Z",
        "completedAt": "2026-11-29T02:55:00.000Z" if status == "failed" else None,
    }


# Every hostile string is in some job's id, type, message and error (ids are cut to 8 in the
# tables, so each id's hostile part comes first). The first is the job of the observation:
# ``[/]`` in its id, type and message ended the dashboard with a MarkupError. The CJK one is
# processing (it can be cancelled), the others failed (they can be retried).
JOBS: list[dict[str, Any]] = [
    job("job[/]1", "story[/]gen", MARKUP, f"{BOLD} {LINK}"),
    job("\x1b[2Jjob", "\x1b[2Jclear", TITLE, f"{CLEAR}\nTraceback (most recent call last):"),
    job("\x1b]52;c;", "clip\x1b]52;c;", HYPERLINK, CLIPBOARD),
    job("\x00\x9b\u202ejob", "nul\x00\x9b", C0_C1, BIDI),
    job(CJK, EMOJI, ZERO_WIDTH, SURROGATE, status="processing"),
    job("long-job", "long_type", LONG, LONG),
]
IDS = [j["id"] for j in JOBS]


def job_path(job_id: str, action: str = "") -> str:
    """The path the client asks for one job (its id percent-encoded, as the client does)."""
    return f"/api/jobs/{quote(job_id, safe='')}" + (f"/{action}" if action else "")


# --------------------------------------------------------------------------- the rest

CATEGORY = "database[/]\x1b[2J"
CATEGORIES: list[dict[str, Any]] = [
    {
        "category": CATEGORY,
        "priority": "critical",
        "count": len(JOBS),
        "recommendation": f"check {MARKUP} {CLIPBOARD}",
        "firstSeen": "2026-11-29T02:00:00.000Z",
        "lastSeen": "2026-11-29T02:55:00.000Z",
        "sample": f"{CLEAR} {BIDI}",
        "jobIds": IDS,
    },
    {
        "category": CJK,
        "priority": "low",
        "count": 1,
        "recommendation": EMOJI,
        "sample": LONG,
        "jobIds": [],
    },
]

BACKUP = "jobs_backup_[/]\x1b[2J.json"
CORRUPT = "jobs_backup_\x1b]52;c;bad.json"
BACKUPS: dict[str, Any] = {
    "backups": [
        {"name": BACKUP, "createdAt": "2026-11-29T02:00:00.000Z", "size": 10, "jobs": 6,
         "verified": True},
        {"name": CORRUPT, "createdAt": "2026-11-29T01:00:00.000Z", "size": 10, "jobs": 6,
         "verified": False, "problem": f"checksum mismatch {TITLE}"},
    ],
    "directory": f"/srv/backups/{MARKUP}\x1b[2J",
}  # fmt: skip

ALERTS = [f"Queue depth high: {MARKUP}", f"stuck {CLEAR}", f"{BIDI} {C0_C1}"]
RECOMMENDATIONS = [f"{BOLD} scale up", f"{CJK} {EMOJI}", f"{ZERO_WIDTH} {HYPERLINK}"]
REFUSED = f"refused {TITLE} {MARKUP}"  # an HTTP error body: {"error": …}


def hostile_health() -> dict[str, Any]:
    return seed_health(
        status="warning",
        message=f"Degraded: {MARKUP} {CLEAR}",
        health={"alerts": ALERTS, "recommendations": RECOMMENDATIONS, "stuckJobsCount": 2},
    )


class HostileServer(SeedServer):
    """The seed's endpoints and ours, every string field hostile; retry answers 500 with a
    hostile ``{"error": …}`` body, cancel answers the job cancelled."""

    def __init__(self) -> None:
        super().__init__()
        history = {"count": 10, "timespan": f"24 hours {MARKUP}\x1b[2J", "metrics": seed_metrics()}
        routes = {
            ("GET", "/api/jobs/health"): Canned(body=hostile_health()),
            ("GET", "/api/monitoring/metrics"): Canned(body=history),
            ("GET", "/api/jobs"): Canned(body={"jobs": JOBS, "nextCursor": None}),
            ("GET", "/api/monitoring/errors"): Canned(
                body={"hours": 24, "total": len(JOBS), "analysed": len(JOBS),
                      "categories": CATEGORIES}
            ),
            ("POST", "/api/admin/recover-stuck"): Canned(status=404, body={}),
            ("POST", "/api/admin/recovery"): Canned(
                body={"success": True, "recovered": 2, "message": f"Recovered {MARKUP} {CLEAR}"}
            ),
            ("GET", "/api/admin/backups"): Canned(body=BACKUPS),
            ("POST", "/api/admin/backups"): Canned(
                body={"name": BACKUP, "jobs": 6, "size": 10}
            ),
            ("POST", f"/api/admin/backups/{quote(BACKUP, safe='')}/restore"): Canned(
                body={"name": BACKUP, "jobs": 6, "inserted": 1, "updated": 5, "dryRun": True}
            ),
            ("DELETE", "/api/admin/backups"): Canned(body={"deleted": [CORRUPT], "kept": 1}),
        }  # fmt: skip
        for j in JOBS:
            routes[("GET", job_path(j["id"]))] = Canned(body=j)
            routes[("POST", job_path(j["id"], "retry"))] = Canned(
                status=500, body={"error": REFUSED}
            )
            routes[("POST", job_path(j["id"], "cancel"))] = Canned(
                body={**j, "status": "cancelled"}
            )
        self.routes.update(routes)
