"""Tail a log file and mark up its lines: what the dashboard's log view (key ``l``) shows.

No Textual here: :func:`tail` and :class:`Follower` read (call them off the UI thread), and
:func:`styled` says how to colour a line — its level in the seed's Winston colours, the seed's
critical / warning / success patterns highlighted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from jobtui.literal import printable
from jobtui.logs.patterns import LEVEL_COLOURS, Kind, matches, read_line

PATTERN_STYLES: dict[Kind, str] = {
    "critical": "bold white on red",
    "warning": "bold black on yellow",
    "success": "bold green",
}


@dataclass(frozen=True, slots=True)
class StyledLine:
    """One line to show: ``text`` (a JSON line rendered as text, control characters
    escaped), the style of the whole line from its level, and (start, end, style) spans of
    the seed's patterns in it."""

    text: str
    level: str | None
    style: str
    spans: tuple[tuple[int, int, str], ...]


def styled(raw: str) -> StyledLine:
    line = read_line(raw)
    text = printable(line.text)
    spans = tuple((s, e, PATTERN_STYLES[k]) for s, e, k in matches(text))
    style = LEVEL_COLOURS.get(line.level or "", "")
    return StyledLine(text, line.level, style, spans)


def tail(path: Path, lines: int = 500, max_bytes: int = 1024 * 1024) -> list[str]:
    """The last ``lines`` lines of ``path`` (read from at most its last ``max_bytes``)."""
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        start = max(0, size - max_bytes)
        f.seek(start)
        data = f.read()
    text = data.decode("utf-8", errors="replace").splitlines()
    if start > 0 and text:
        text = text[1:]  # the first line was cut
    return text[-lines:]


class Follower:
    """New complete lines of a growing log, across rotation (``all.log`` renamed to
    ``all.log.1`` and a new one started) and truncation. ``poll()`` never raises for a file
    that is missing for a moment: it returns nothing until it is back."""

    def __init__(self, path: Path, *, from_end: bool = True, max_bytes: int = 1024 * 1024):
        self.path = path
        self.max_bytes = max_bytes
        self._ino: int | None = None
        self._pos = 0
        self._partial = b""
        if from_end:
            try:
                st = path.stat()
                self._ino, self._pos = st.st_ino, st.st_size
            except OSError:
                pass

    def poll(self) -> list[str]:
        try:
            st = self.path.stat()
        except OSError:
            return []
        if st.st_ino != self._ino or st.st_size < self._pos:
            self._ino, self._pos, self._partial = st.st_ino, 0, b""  # rotated or truncated
        if st.st_size == self._pos:
            return []
        try:
            with self.path.open("rb") as f:
                f.seek(max(self._pos, st.st_size - self.max_bytes))
                data = f.read(self.max_bytes)
                self._pos = f.tell()
        except OSError:
            return []
        data = self._partial + data
        cut = data.rfind(b"\n")
        if cut == -1:
            if len(data) < self.max_bytes:
                self._partial = data
                return []
            self._partial = b""  # a line longer than max_bytes: shown in pieces, memory bounded
            return [data.decode("utf-8", errors="replace")]
        self._partial = data[cut + 1 :]
        return data[:cut].decode("utf-8", errors="replace").split("\n")
