"""Data is text: any string from a server, a job, a log file or a config, made safe to show.

(And a URL made safe to show: :func:`safe_url` and :func:`address` leave out its password.)

A job's error message is written by whoever made the job fail. Shown as it is, ``ESC [ 2 J``
clears the screen, an OSC 52 sequence writes the clipboard, U+202E turns the rest of a line
around. :func:`printable` keeps every printable character as it is (CJK, emoji, combining
marks, joiners) and writes each control character visibly as its Python escape (``\\x1b``,
``\\u202e``). It imports nothing heavy: the commands use it as well as the dashboard, whose
:func:`jobtui.dashboard.widgets.literal` wraps it in a Rich ``Text`` (never parsed as markup).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

# C0, DEL and C1 controls; soft hyphen; Arabic letter mark; Mongolian vowel separator; zero-width
# space; left-to-right/right-to-left marks; line and paragraph separators; bidi embeddings,
# overrides and isolates; invisible operators; byte-order mark; interlinear annotation;
# lone surrogates (a JSON ``"\ud800"`` decodes to one and cannot be encoded for the terminal).
# Kept: zero-width (non-)joiners and variation selectors, which emoji and scripts need.
_OTHER = (
    "\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff"
)
_ONE_LINE = re.compile(f"[\x00-\x1f{_OTHER}]")
_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHER}]")  # keeps tab and newline


def _escaped(match: re.Match[str]) -> str:
    c = match.group()
    n = ord(c)
    if c == "\n":
        return "\\n"
    if c == "\r":
        return "\\r"
    if c == "\t":
        return "\\t"
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` with every control character written as its escape.

    With ``lines``, newlines and tabs are kept (a job's traceback in its detail view); without,
    the text stays on one line (a table cell, a toast's title, the terminal title).
    """
    if text.isprintable():  # the common case, and no copy
        return text
    pattern = _LINES if lines else _ONE_LINE
    return pattern.sub(_escaped, text)


def address(url: str) -> str:
    """``host:port`` of a URL: what labels and titles show (never a user or password)."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:  # whatever precedes the last @ may be a password, even one with a / in it
        url = f"{scheme}{sep}{rest.rsplit('@', 1)[1]}"
    authority = url.partition("://")[2] or url
    authority = re.split(r"[/?#]", authority, maxsplit=1)[0]
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket
        return authority
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if not host:
        return authority
    return f"{host}:{port}" if port is not None else host


def safe_url(url: str) -> str:
    """The URL without its user:password part, query and fragment, for messages and the
    screen. A password with ``/``, ``?`` or ``#`` in it (not percent-encoded) makes the URL
    parse otherwise: an ``@`` anywhere after the scheme hides all before it."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.split(r"[?#]", _without_userinfo(url), maxsplit=1)[0]
    if "@" in parts.netloc:
        parts = parts._replace(netloc=address(url))
    elif "@" in url.partition("://")[2]:
        return re.split(r"[?#]", _without_userinfo(url), maxsplit=1)[0]
    return urlunsplit(parts._replace(query="", fragment=""))


def _without_userinfo(url: str) -> str:
    """``scheme://…@rest`` for whatever precedes the last ``@`` after the scheme."""
    if "@" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "…@" + url.rsplit("@", 1)[1]
    return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"


def escapes(text: str, *, lines: bool = False) -> Iterator[tuple[int, str]]:
    """The offset and escape of each control character in ``text``, in order (for text that
    carries styles by offset: the dashboard's :func:`~jobtui.dashboard.widgets.literal`)."""
    if text.isprintable():
        return
    for match in (_LINES if lines else _ONE_LINE).finditer(text):
        yield match.start(), _escaped(match)
