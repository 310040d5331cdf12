"""The log view (key ``l``): the agent's log file, its last lines and then new ones as they come.

The file is read in a thread (:func:`jobtui.logs.view.tail`, then a
:class:`~jobtui.logs.view.Follower` checked every second while the screen is open); the
widget keeps at most :data:`LOG_LINES` lines, so memory stays flat however long it runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, RichLog

from jobtui.dashboard import keys
from jobtui.dashboard.lists import LogLines
from jobtui.dashboard.widgets import Text1, literal
from jobtui.logs.view import Follower, StyledLine, styled, tail

LOG_LINES = 2000  # kept in the view; older ones scroll away
TAIL_LINES = 500  # read from the end of the file when the view opens
POLL_SECONDS = 1.0
HOW_TO = "set logging.agent_log (the agent's all.log) or logging.dir in the config file"


def rich_line(line: StyledLine) -> Text:
    """A log line in its level's colour, the seed's patterns highlighted."""
    text = Text(line.text, style=line.style)
    for start, end, style in line.spans:
        text.stylize(style, start, end)
    return text


def read_new(follower: Follower, limit: int = LOG_LINES) -> list[Text]:
    """The follower's new lines, styled (at most the last ``limit``)."""
    return [rich_line(styled(raw)) for raw in follower.poll()[-limit:] if raw]


class LogViewScreen(ModalScreen[None]):
    """Tails ``path``; says what to configure when there is no path or no file. Modal: the
    dashboard's keys wait until it is closed."""

    SCOPE = "logs"
    BINDINGS = keys.bindings(SCOPE)
    TOASTS = True  # a whole screen, not a question (see toasts.py)

    def __init__(self, path: Path | None, problem: str | None = None):
        """``problem``: why the path is unknown (a bad ``logging:`` section)."""
        super().__init__()
        self.path = path
        self._problem = problem
        self._follower: Follower | None = None
        self._timer: Timer | None = None
        self._polling = False
        self._stopped = False
        self.following = False
        self.lines_read = 0

    def compose(self) -> ComposeResult:
        yield Text1(id="log-head")
        yield Text1(id="log-note")
        yield LogLines(id="log", max_lines=LOG_LINES, wrap=True, markup=False, auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#log", LogLines).focus()  # the arrows and list keys scroll it at once
        head = Text("Agent log ", style="bold")
        if self.path is None:
            self._note(literal(f"No agent log configured: {self._problem or HOW_TO}.", "yellow"))
            self.query_one("#log-head", Text1).set(head)
            return
        head.append(literal(str(self.path)))
        head.append(
            f" · following, checked every {POLL_SECONDS:g} s · last {LOG_LINES:,} lines kept",
            style="dim",
        )
        self.query_one("#log-head", Text1).set(head)
        self._note(Text("reading…", style="dim"))
        self.start()

    def on_unmount(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop following (the screen is closing)."""
        self._stopped = True
        self.following = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _note(self, text: Text | None) -> None:
        note = self.query_one("#log-note", Text1)
        note.display = text is not None
        note.set(text or "")

    @work(exclusive=True, group="log", exit_on_error=False)
    async def start(self) -> None:
        """The file's last lines, then a check for new ones every second."""
        assert self.path is not None
        path = self.path
        follower, lines, problem = await asyncio.to_thread(self._open, path)
        if self._stopped:
            return  # closed while the file was read: start no timer
        self._follower = follower
        if problem is not None:
            self._note(literal(f"{problem} (checked every second); {HOW_TO}.", "yellow"))
        else:
            self._note(None if lines else Text("The log is empty so far.", style="dim"))
            self._write(lines)
        self.following = True
        self._timer = self.set_interval(POLL_SECONDS, self._poll)

    @staticmethod
    def _open(path: Path) -> tuple[Follower, list[Text], str | None]:
        """In a thread: a follower from the end and the last lines; or, when there is no file
        yet or it cannot be read, a follower from its start and why."""
        try:
            if path.is_file():
                follower = Follower(path)
                lines = [rich_line(styled(line)) for line in tail(path, TAIL_LINES)]
                return follower, lines, None
            problem = f"No log file at {path} yet"
        except OSError as exc:  # is_file() too: a name too long, a directory not searchable
            problem = f"Cannot read {path}: {exc.strerror or exc}"
        return Follower(path, from_end=False), [], problem

    def _poll(self) -> None:
        if self._polling or self._follower is None or not self.following:
            return
        self._polling = True  # a slow disk: never two reads at once
        self._read(self._follower)

    @work(group="log-read", exit_on_error=False)
    async def _read(self, follower: Follower) -> None:
        try:
            lines = await asyncio.to_thread(read_new, follower)
        finally:
            self._polling = False
        if lines and self.following:
            self._note(None)
            self._write(lines)

    def _write(self, lines: list[Text]) -> None:
        log = self.query_one("#log", RichLog)
        at_end = log.is_vertical_scroll_end or not log.lines  # reading further up: stay there
        width = log.scrollable_content_region.width or None  # long lines wrap at the screen
        for line in lines:
            log.write(line, width=width, scroll_end=at_end)
        self.lines_read += len(lines)

    def action_close(self) -> None:
        self.stop()
        self.dismiss(None)
