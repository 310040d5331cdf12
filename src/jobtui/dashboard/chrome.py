"""The top and status bars, and the terminal's title: what they say, built from what the app
knows (the target, the state, the standing, read-only). The app decides when to show them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal

from jobtui.config import Target
from jobtui.dashboard.format import shown_name, since
from jobtui.dashboard.overview import LEVEL_STYLE
from jobtui.dashboard.standing import Standing
from jobtui.dashboard.state import State
from jobtui.dashboard.widgets import Text1, literal
from jobtui.literal import printable

if TYPE_CHECKING:
    from textual.driver import Driver


class TopBar(Horizontal):
    """``jobtui``, where (#where) and the badge (#pill)."""

    def compose(self) -> ComposeResult:
        yield Text1(Text("jobtui", style="bold"), id="brand")
        yield Text1(id="where")
        yield Text1(id="pill")


class StatusBar(Horizontal):
    """The status line (#status) and why the keys that change the server are off (#readonly)."""

    def compose(self) -> ComposeResult:
        yield Text1(id="status")
        yield Text1(id="readonly")


def where(target: Target) -> Text:
    """The target's name and address, for the top bar."""
    text = Text()
    text.append(literal(f"  {shown_name(target)} ", "bold"))
    text.append(literal(target.shown_url, "dim"))
    return text


def pill(now: Standing, read_only: str | None) -> Text:
    """The badge: the word of the top line, in its colour (after READ-ONLY, when it is)."""
    text = Text()
    if read_only:
        text.append(" READ-ONLY ", style="bold reverse yellow")
        text.append(" ")
    text.append(f" {now.icon} {now.word} ", style=f"bold reverse {LEVEL_STYLE[now.level]}")
    return text


def read_only_note(read_only: str | None) -> Text | str:
    return literal(f"read-only: {read_only}", "yellow") if read_only else ""


def status_line(
    st: State, now: datetime, *, display_error: str | None, paused: bool, every: float
) -> Text:
    """One line: what went wrong and when we try again, or that all is well (polling
    ``every`` seconds)."""
    text = Text()
    if display_error:
        text.append(literal(f"✖ {display_error}", "bold red"))
        return text
    if paused:
        text.append("⏸ paused", style="bold")
        text.append(" — press p to resume", style="dim")
        age = st.health.age(now)
        if age is not None:
            text.append(f" · data from {since(age)}", style="dim")
        return text
    for name in ("health", "metrics", "jobs", "errors"):
        feed = st.feed(name)
        if feed.error and not feed.not_provided:
            text.append("✖ ", style="bold red")
            if name != "health":
                text.append(f"{name}: ", style="red")
            text.append(literal(feed.error, "red"))
            if feed.value is not None:
                text.append(f" · showing data from {since(feed.age(now))}", style="yellow")
            if feed.retry_in is not None and feed.failed is not None:
                left = feed.retry_in - (now - feed.failed).total_seconds()
                text.append(f" · retry in {max(0, round(left))}s", style="dim")
            return text
    if st.health.value is None:
        text.append("connecting…", style="dim")
        return text
    text.append("● ", style="green")
    text.append(f"live · polling every {every:g}s", style="dim")
    return text


class TerminalTitle:
    """What a terminal tab or tmux shows: written only when it changes, the terminal's own
    restored at the end. Without a terminal (``driver`` None) it is only remembered."""

    def __init__(self) -> None:
        self.shown: str | None = None

    def set(self, title: str, driver: Driver | None) -> None:
        if title == self.shown:
            return
        first = self.shown is None
        self.shown = title
        if driver is None:
            return
        if first:
            driver.write("\x1b[22;0t")  # keep the terminal's own title, to restore it
        driver.write(f"\x1b]2;{printable(title)}\x07")
        driver.flush()

    def restore(self, driver: Driver | None) -> None:
        if self.shown is not None and driver is not None:
            driver.write("\x1b[23;0t")
            driver.flush()
