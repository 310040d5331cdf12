"""SVG snapshots of the Backups screen, its restore and prune dialogs, and the log view at
80×24, 120×40 and 200×50, on fixed data with a frozen clock (the fixture of
``test_snapshots``), each with assertions on what it must show.

Regenerate after an intended change of the look with ``--snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.screen import Screen

from jobtui.config import Config
from jobtui.dashboard.backups import BackupsScreen, PruneScreen, RestoreScreen
from jobtui.dashboard.logview import LogViewScreen
from tests.dashboard.conftest import screen
from tests.dashboard.test_snapshots import SIZES, fixed, settle, showing, started  # noqa: F401
from tests.support import Canned

OK = "jobs_backup_2026-11-29T02-00-00.000Z.json"
CORRUPT = "jobs_backup_2026-11-28T02-00-00.000Z.json"
OLD = "jobs_backup_2026-11-20T02-00-00.000Z.json"
BACKUPS = {
    "directory": "/var/lib/jobtui/backups",
    "backups": [
        {"name": OK, "createdAt": "2026-11-29T02:00:00.000Z", "size": 5_432_100,
         "jobs": 18_240, "verified": True},
        {"name": CORRUPT, "createdAt": "2026-11-28T02:00:00.000Z", "size": 5_301_000,
         "jobs": 17_904, "verified": False,
         "problem": f"{CORRUPT}: checksum mismatch (corrupt or changed)"},
        {"name": OLD, "createdAt": "2026-11-20T02:00:00.000Z", "size": 4_980_000,
         "jobs": 16_013, "verified": True},
    ],
}  # fmt: skip
LOG = """\
2026-11-29 02:59:50.120 INFO jobtui.agent: jobtui agent listening on http://127.0.0.1:8787
2026-11-29 02:59:51.004 HTTP jobtui.http: [4f2a9c1e] GET /api/jobs/health 200 3.1 ms
2026-11-29 02:59:55.310 WARN jobtui.agent: Queue depth 27 > 20
2026-11-29 02:59:58.871 ERROR jobtui.agent: Job 0000000c failed: Database connection failed: \
could not connect to server on port 5432
2026-11-29 03:00:01.442 INFO jobtui.agent: Job 00000008 completed successfully in 42.0 s
2026-11-29 03:00:02.015 DEBUG jobtui.agent: metrics sample stored (queue 27, 120 jobs/h)
"""


@pytest.fixture
def backups_server(seed_server: Any) -> Any:
    seed_server.set("GET", "/api/admin/backups", Canned(body=BACKUPS))
    seed_server.set(
        "POST",
        f"/api/admin/backups/{OK}/restore",
        Canned(body={"name": OK, "jobs": 18_240, "inserted": 312, "updated": 17_928,
                     "dryRun": True}),
    )  # fmt: skip
    return seed_server


async def open_backups(pilot: Any, app: Any) -> None:
    await settle(pilot, lambda: started(app))
    await pilot.press("B")
    await settle(pilot, lambda: isinstance(app.screen, BackupsScreen) and "16,013" in screen(app))


async def open_dialog(pilot: Any, app: Any, key: str, dialog: type[Screen[Any]], text: str) -> None:
    """From the Backups screen, the dialog of ``key`` once it shows ``text``."""
    await open_backups(pilot, app)
    await pilot.press(key)
    await settle(pilot, lambda: isinstance(app.screen, dialog) and text in screen(app))


@SIZES
def test_backups_screen(snap_compare, fixed, backups_server, size):  # noqa: F811
    async def run_before(pilot: Any) -> None:
        await open_backups(pilot, fixed)
        await pilot.press("down")
        await settle(pilot, lambda: "does not verify" in screen(fixed))
        await showing(pilot, "Name", "Age", "Size", "Jobs", "Checksum", "18,240", "✗ corrupt")
        await showing(pilot, "5.2 MB", "✓ ok", "b Back up", "esc Close")

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)


@SIZES
def test_restore_dialog(snap_compare, fixed, backups_server, size):  # noqa: F811
    async def run_before(pilot: Any) -> None:
        await open_dialog(pilot, fixed, "enter", RestoreScreen, "it would insert 312")
        await pilot.press(*"jobs_backup_2026")
        await settle(pilot, lambda: "jobs_backup_2026" in screen(fixed))
        await showing(pilot, "Restore a backup", "update 17,928", "Type the backup's name")

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)


@SIZES
def test_prune_dialog(snap_compare, fixed, backups_server, size):  # noqa: F811
    async def run_before(pilot: Any) -> None:
        await open_dialog(pilot, fixed, "x", PruneScreen, "By the list: 1 of 3")
        await showing(pilot, "Prune backups", "older than how many days", "Cancel (esc)")

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)


@SIZES
def test_log_view(snap_compare, fixed, tmp_path, monkeypatch, size):  # noqa: F811
    monkeypatch.chdir(tmp_path)  # the path on screen is the configured, relative one
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "all.log").write_text(LOG)
    fixed.config = Config(raw={"logging": {"agent_log": "logs/all.log"}})

    async def run_before(pilot: Any) -> None:
        await settle(pilot, lambda: started(fixed))
        await pilot.press("l")
        await settle(pilot, lambda: isinstance(fixed.screen, LogViewScreen))
        await settle(pilot, lambda: "metrics sample stored" in screen(fixed))
        await showing(pilot, "logs/all.log", "Queue depth 27 > 20", "esc Close")

    assert snap_compare(fixed, terminal_size=size, run_before=run_before)
