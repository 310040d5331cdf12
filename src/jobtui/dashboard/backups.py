"""The Backups screen (key ``B``): the server's backups, and back up, restore and prune.

Every action asks first; a restore runs as a dry run (what would be inserted and updated),
then waits for the backup's name to be typed. All three change the server, so read-only
disables them. One runs at a time, and says how it ended even when the screen was closed
meanwhile. A server without ``/api/admin/backups`` gets a note, not an error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Input, Static

from jobtui.contract import BackupInfo, BackupList, BackupResult, RestoreResult
from jobtui.dashboard import keys
from jobtui.dashboard.actions import Gated
from jobtui.dashboard.columns import Column, fit, row, set_columns
from jobtui.dashboard.confirm import ConfirmScreen, Dialog
from jobtui.dashboard.format import ago, excerpt, local, size, span
from jobtui.dashboard.lists import Table, retime
from jobtui.dashboard.widgets import Text1, literal
from jobtui.errors import NotProvided, describe

if TYPE_CHECKING:
    from jobtui.client import Client

T = TypeVar("T")
Request = Callable[[Callable[["Client"], Awaitable[T]]], Awaitable[T]]
KEEP_DAYS = 7.0  # prune's default, as ``jobtui prune``
MAX_DAYS = 3650.0  # the contract's upper bound for olderThanDays
BOX = 116  # the screen's width at most (styles: #backups)
# Widths sized for what the cells hold (a backup's name is 41-44 characters), fitted to the
# table (columns.fit): a DataTable's automatic widths are measured on idle, and a refill
# racing that left them at the headers' widths ("jobs" for every name). At 80 columns the
# name is shortened and Created left out (the line under the table has both in full).
COLUMNS = (
    Column("Name", "name", 44, least=20, rest=True),
    Column("Created", "created", 17, optional=True),
    Column("Age", "age", 7, least=6),
    Column("Size", "size", 9, least=8),
    Column("Jobs", "jobs", 10, least=7),
    Column("Checksum", "checksum", 11),
)


def checksum_cell(b: BackupInfo) -> Text:
    """✓ ok, ✗ corrupt, or ? when the server does not say."""
    if b.verified is None:
        return Text("? unchecked", style="dim")
    if b.verified:
        return Text("✓ ok", style="green")
    return Text("✗ corrupt", style="bold red")


def older_than(backups: tuple[BackupInfo, ...], days: float, now: datetime) -> int:
    """How many backups of a listing (newest first) a prune of ``days`` would delete: the
    newest is always kept."""
    cutoff = now - timedelta(days=days)
    return sum(1 for b in backups[1:] if b.created_at < cutoff)


def parse_days(text: str) -> float | None:
    """Days typed into the prune dialog, or None when it is not a number from 0 to 3650."""
    try:
        days = float(text.strip())
    except ValueError:
        return None
    return days if 0 <= days <= MAX_DAYS else None


def backup_age(b: BackupInfo, now: datetime) -> str:
    return span((now - b.created_at).total_seconds())


def backup_question(target: str, backups: tuple[BackupInfo, ...], now: datetime) -> ConfirmScreen:
    """The question before a backup (``b`` here and on the dashboard), with the latest one."""
    body = literal(f"Back up the jobs table on {target}?")
    body.append("\n\n")
    if backups:
        last = backups[0]
        body.append(
            literal(
                f"Latest backup: {last.name}, {ago(last.created_at, now)}, {size(last.size)}",
                "dim",
            )
        )
    else:
        body.append("There is no backup yet.", style="dim")
    return ConfirmScreen("Backup", body, "Back up", danger=False)


def backed_up(r: BackupResult) -> str:
    """What a backup made, in one line."""
    return f"Backup {r.name}: {r.jobs:,} jobs, {size(r.size)}."


class BackupsTable(Table, inherit_bindings=False):
    """A table that leaves Enter to the screen (restore), so the footer shows it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        b
        for b in (*DataTable.BINDINGS, *Table.BINDINGS)
        if isinstance(b, Binding) and b.key != "enter"
    ]


class BackupsScreen(Gated, ModalScreen[None]):
    """``GET /api/admin/backups`` as a table; ``b``, Enter and ``x`` act on it."""

    SCOPE = "backups"
    BINDINGS = keys.bindings(SCOPE)
    TOASTS = True  # the outcome of its actions shows over it (see toasts.py)

    def __init__(
        self,
        target: str,
        request: Request[Any],
        clock: Callable[[], datetime],
        changed: Callable[[], None] = lambda: None,
    ):
        """``request`` runs a client call off the UI thread; ``changed`` is called after a
        restore (the dashboard polls again)."""
        super().__init__(classes="dialog")
        self.target = target
        self._request = request
        self._clock = clock
        self._changed = changed
        self.listing: BackupList | None = None
        self.problem: str | None = None
        self.not_provided = False
        self.reading = False
        self.busy: str | None = None  # the action running: "Backup", "Restore NAME", "Prune"
        self._widths: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="backups") as box:
            box.border_title = literal(f"Backups on {self.target}")
            yield Text1(id="backups-head")
            yield Text1(id="backups-note")
            yield BackupsTable(id="backups-table", cursor_type="row", zebra_stripes=True)
            yield Text1(id="backups-selected")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#backups-note", Text1).display = False
        self.query_one("#backups-table", DataTable).focus()
        self._size_columns(min(BOX, self.app.size.width) - 6)  # borders, padding, scrollbar
        self._paint()
        self.reload()

    def on_resize(self, event: events.Resize) -> None:
        table = self.query_one("#backups-table", DataTable)
        self._size_columns(table.scrollable_content_region.width)

    def _size_columns(self, room: int) -> None:
        """The columns fitted to ``room`` cells, and the list drawn again in them (only when
        the widths change)."""
        widths = fit(COLUMNS, room)
        if widths != self._widths:
            self._widths = widths
            self._fill(self.query_one("#backups-table", DataTable), self._clock(), columns=True)

    # ------------------------------------------------------------------ reading

    @work(exclusive=True, group="backups-list", exit_on_error=False)
    async def reload(self) -> None:
        """Read the listing again (on open, after every action, and on ``r``)."""
        self.reading = True
        self._paint()
        try:
            listing = await self._request(lambda c: c.backups())
        except Exception as exc:
            self.not_provided = isinstance(exc, NotProvided)
            self.problem = describe(exc)
        else:
            self.listing, self.problem, self.not_provided = listing, None, False
        self.reading = False
        if self.is_attached:
            self._paint()

    def selected(self) -> BackupInfo | None:
        table = self.query_one("#backups-table", DataTable)
        if self.listing is None or not table.row_count or self.not_provided:
            return None
        row = table.cursor_row
        backups = self.listing.backups
        return backups[row] if 0 <= row < len(backups) else None

    # ------------------------------------------------------------------ painting

    def _paint(self) -> None:
        now = self._clock()
        head = self.query_one("#backups-head", Text1)
        note = self.query_one("#backups-note", Text1)
        table = self.query_one("#backups-table", DataTable)
        if self.not_provided:
            head.set(Text("Backups", style="bold"))
            note.set(
                Text(
                    "Backups are not provided by this server (it has no /api/admin/backups); "
                    "`jobtui serve` provides them.",
                    style="yellow",
                )
            )
            note.display = True
            table.display = False
            self.query_one("#backups-selected", Text1).set("")
            return
        table.display = True
        head.set(self._head(now))
        if self.listing is not None and self.listing.directory:
            self.query_one("#backups", Vertical).border_subtitle = literal(self.listing.directory)
        if self.problem is not None:
            note.set(literal(f"✖ {self.problem}", "red"))
        elif self.listing is not None and not self.listing.backups:
            note.set(Text("There is no backup yet: press b to take one.", style="dim"))
        note.display = self.problem is not None or (
            self.listing is not None and not self.listing.backups
        )
        self._fill(table, now)
        self._show_selected()

    def _head(self, now: datetime) -> Text:
        text = Text()
        if self.listing is None:
            text.append("reading the list of backups…" if self.reading else "no list", "dim")
            return text
        backups = self.listing.backups
        n = len(backups)
        text.append(f"{n} backup{'s' if n != 1 else ''}", style="bold")
        if backups:
            text.append(f" · newest {ago(backups[0].created_at, now)}", style="dim")
            total = sum(b.size for b in backups)
            text.append(f" · {size(total)} in all", style="dim")
        corrupt = sum(1 for b in backups if b.verified is False)
        if corrupt:
            text.append(f" · {corrupt} corrupt", style="bold red")
        if self.reading:
            text.append(" · reading…", style="dim")
        return text

    def _fill(self, table: DataTable[str | Text], now: datetime, columns: bool = False) -> None:
        """The listing in the table, the selected backup kept; with ``columns``, the columns
        at their new widths first."""
        backups = self.listing.backups if self.listing is not None else ()
        keep = None  # the row under the cursor, by name (the listing may have changed)
        if table.row_count:
            keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if columns:
            set_columns(table, COLUMNS, self._widths)
        else:
            table.clear()
        for b in backups:
            cells = {
                "name": literal(excerpt(b.name, self._widths.get("name", 44))),
                "created": local(b.created_at, "%m-%d %H:%M"),  # the age gives the year away
                "age": backup_age(b, now),
                "size": Text(size(b.size), justify="right"),
                "jobs": Text("—" if b.jobs is None else f"{b.jobs:,}", justify="right"),
                "checksum": checksum_cell(b),
            }
            table.add_row(*row(cells, self._widths), key=b.name)
        if keep is not None and any(b.name == keep for b in backups):
            table.move_cursor(row=table.get_row_index(keep), animate=False)

    def tick(self, now: datetime) -> None:
        """Every second: the ages (the head's newest, the Age column), each cell only where
        its text changed."""
        if self.listing is None or self.not_provided:
            return
        self.query_one("#backups-head", Text1).set(self._head(now))
        table = self.query_one("#backups-table", DataTable)
        retime(table, {b.name: b for b in self.listing.backups}, {"age": backup_age}, now)

    @on(DataTable.RowHighlighted, "#backups-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        widget = self.query_one("#backups-selected", Text1)
        b = self.selected()
        if b is None:
            widget.set("")
            return
        if b.verified is False:
            text = literal(f"✗ {b.name} does not verify", "bold red")
            if b.problem:  # the server's reason, without the name said again
                text.append(literal(f": {b.problem.removeprefix(f'{b.name}: ')}", "red"))
            text.append(" — a restore would be refused", style="dim")
        else:
            text = literal(b.name, "bold")
            text.append(f" · created {local(b.created_at)}", style="dim")
            text.append(" · enter: dry run, then restore", style="dim")
        widget.set(text)

    # ------------------------------------------------------------------ actions

    def _run(self, what: str, action: Callable[[], Awaitable[bool]]) -> None:
        """Run ``action`` unless another one is running: a second key neither starts a second
        request nor drops the first. It is the app's worker, not this screen's, so a request
        already sent still says how it ended after the screen is closed. ``action`` answers
        whether it changed anything (the list is read again); any failure is one line."""
        if self.busy is not None:
            self.app.notify(f"{self.busy} is still running.", timeout=3)
            return
        self.busy = what

        async def run() -> None:
            try:
                if await action() and self.is_attached:
                    self.reload()
            except Exception as exc:
                severity = "warning" if isinstance(exc, NotProvided) else "error"
                self.app.notify(f"{what}: {describe(exc)}", severity=severity, timeout=8)
            finally:
                self.busy = None

        self.app.run_worker(run(), group="backups-action", exit_on_error=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.reload()

    def action_backup(self) -> None:
        self._run("Backup", self._backup)

    def action_restore(self) -> None:
        b = self.selected()
        if b is None:
            self.app.notify("No backup selected.", timeout=3)
            return
        self._run(f"Restore {b.name}", partial(self._restore, b.name))

    def action_prune(self) -> None:
        self._run("Prune", self._prune)

    async def _backup(self) -> bool:
        backups = self.listing.backups if self.listing is not None else ()
        if not await self.app.push_screen_wait(
            backup_question(self.target, backups, self._clock())
        ):
            return False
        r = await self._request(lambda c: c.create_backup())
        self.app.notify(backed_up(r), title="Backup", timeout=8)
        return True

    async def _restore(self, name: str) -> bool:
        dry_run = partial(self._request, lambda c: c.restore_backup(name, dry_run=True))
        if not await self.app.push_screen_wait(RestoreScreen(name, self.target, dry_run)):
            return False
        r = await self._request(lambda c: c.restore_backup(name))
        self.app.notify(
            f"Restored {r.name}: {r.inserted:,} inserted, {r.updated:,} updated ({r.jobs:,} jobs).",
            title="Restore",
            timeout=10,
        )
        self._changed()
        return True

    async def _prune(self) -> bool:
        backups = self.listing.backups if self.listing is not None else ()
        days = await self.app.push_screen_wait(PruneScreen(self.target, backups, self._clock()))
        if days is None:
            return False
        r = await self._request(lambda c: c.prune_backups(days))
        n = len(r.deleted)
        self.app.notify(
            f"Pruned {n} backup{'s' if n != 1 else ''} older than {days:g} days; kept {r.kept}.",
            title="Prune",
            timeout=8,
        )
        return True


class RestoreScreen(Dialog[bool]):
    """What a restore would do (its dry run), then the backup's name typed to confirm it.
    Answers True only for the exact name after a dry run that succeeded."""

    CHANGES = True
    REFUSED = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, name: str, target: str, dry_run: Callable[[], Awaitable[RestoreResult]]):
        super().__init__(classes="dialog")
        self.backup = name
        self._target = target
        self._dry_run = dry_run
        self.result: RestoreResult | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="-wide") as box:
            box.border_title = "Restore a backup"
            body = literal(f"Restore {self.backup} into the jobs table on {self._target}?")
            body.append("\n\n")
            body.append(
                "Jobs in the backup replace the rows with the same id; other jobs stay.",
                style="dim",
            )
            yield Static(body, id="dialog-body")
            yield Static(Text("Dry run: checking what it would do…", style="dim"), id="dry-run")
            yield Static(Text("Type the backup's name to restore it:"), id="restore-prompt")
            yield Input(placeholder="the name above, exactly", id="restore-name")
            with Horizontal(id="dialog-buttons"):
                yield Button("Restore", id="yes", variant="error", disabled=True)
                yield Button("Cancel (esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#restore-name", Input).focus()
        self.check()

    @work(exit_on_error=False)
    async def check(self) -> None:
        """The dry run; Restore stays disabled until it has succeeded."""
        widget = self.query_one("#dry-run", Static)
        try:
            r = await self._dry_run()
        except Exception as exc:
            text = Text("✖ The dry run failed: ", style="bold red")
            text.append(literal(describe(exc), "red"))
            text.append("\nNothing can be restored from it.", style="dim")
            widget.update(text)
            return
        if not r.dry_run:  # a server that ignores ?dryRun=true: it has just restored it
            text = Text("✖ The server restored it instead of a dry run: ", style="bold red")
            text.append(f"{r.inserted:,} inserted, {r.updated:,} updated.", style="red")
            widget.update(text)
            return
        self.result = r
        text = Text("Dry run: ", style="bold")
        text.append(f"it would insert {r.inserted:,} and update {r.updated:,}")
        text.append(f" of {r.jobs:,} jobs; nothing was written.", style="dim")
        widget.update(text)
        self._typed(self.query_one("#restore-name", Input).value)

    def _typed(self, value: str) -> None:
        for button in self.query("#yes").results(Button):  # none yet while composing
            button.disabled = not self.accepts(value)

    def accepts(self, value: str) -> bool:
        return self.result is not None and value.strip() == self.backup

    @on(Input.Changed, "#restore-name")
    def _changed(self, event: Input.Changed) -> None:
        self._typed(event.value)

    @on(Input.Submitted, "#restore-name")
    def _submitted(self, event: Input.Submitted) -> None:
        if self.accepts(event.value):
            self.answer(True)
        else:  # said in the dialog: no toast covers a dialog (see toasts.py)
            why = (
                "Wait for the dry run to succeed first."
                if self.result is None
                else f"Type {self.backup} exactly to restore it."
            )
            self.query_one("#restore-prompt", Static).update(Text(why, style="bold yellow"))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "yes" and self.accepts(self.query_one("#restore-name", Input).value):
            self.answer(True)
        elif event.button.id == "no":
            self.answer(False)

    def action_cancel(self) -> None:
        self.answer(False)


class PruneScreen(Dialog[float | None]):
    """How many days of backups to keep (7 unless changed); answers the days, or None."""

    CHANGES = True
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, target: str, backups: tuple[BackupInfo, ...], now: datetime):
        super().__init__(classes="dialog")
        self._target = target
        self._backups = backups
        self._now = now

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as box:
            box.border_title = "Prune backups"
            body = literal(f"Delete the backups on {self._target} older than how many days?")
            body.append("\n\n")
            body.append("The newest backup is always kept.", style="dim")
            yield Static(body, id="dialog-body")
            yield Input(f"{KEEP_DAYS:g}", id="prune-days", restrict=r"[0-9.]*", max_length=7)
            yield Static(id="prune-preview")
            with Horizontal(id="dialog-buttons"):
                yield Button("Prune", id="yes", variant="error")
                yield Button("Cancel (esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#prune-days", Input).focus()
        self._preview(self.query_one("#prune-days", Input).value)

    def _preview(self, value: str) -> None:
        days = parse_days(value)
        widget = self.query_one("#prune-preview", Static)
        for button in self.query("#yes").results(Button):  # none yet while composing
            button.disabled = days is None
        if days is None:
            widget.update(Text("Days: a number from 0 to 3650.", style="red"))
            return
        n = older_than(self._backups, days, self._now)
        widget.update(
            Text(
                f"By the list: {n} of {len(self._backups)} backup(s) are older than {days:g} days.",
                style="dim",
            )
        )

    @on(Input.Changed, "#prune-days")
    def _changed(self, event: Input.Changed) -> None:
        self._preview(event.value)

    @on(Input.Submitted, "#prune-days")
    def _submitted(self, event: Input.Submitted) -> None:
        days = parse_days(event.value)
        if days is not None:
            self.answer(days)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "yes":
            days = parse_days(self.query_one("#prune-days", Input).value)
            if days is not None:
                self.answer(days)
        else:
            self.answer(None)

    def action_cancel(self) -> None:
        self.answer(None)
