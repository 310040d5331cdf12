"""Strings from outside are shown literally: control characters escaped, printable text kept."""

from __future__ import annotations

import pytest
from rich.text import Text

from jobtui.dashboard.widgets import literal
from jobtui.literal import escapes, printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J cleared", "\\x1b[2J cleared"),
        ("\x1b]52;c;aGk=\x07", "\\x1b]52;c;aGk=\\x07"),  # OSC 52: a clipboard write
        ("\x1b]8;;http://x\x1b\\link", "\\x1b]8;;http://x\\x1b\\link"),  # OSC 8: a link
        ("NUL\x00 DEL\x7f C1\x9b", "NUL\\x00 DEL\\x7f C1\\x9b"),
        ("abc\u202edcba", "abc\\u202edcba"),  # a right-to-left override
        ("a\u2066b\u2069", "a\\u2066b\\u2069"),  # bidi isolates
        ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
        ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
        ("two\nlines\ttab\r", "two\\nlines\\ttab\\r"),
    ],
)
def test_control_characters_are_shown_escaped(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert str(literal(raw)) == shown


@pytest.mark.parametrize(
    "text",
    [
        "wrote s3://bucket/[/]tmp",
        "[bold]not bold[/bold]",
        "中文の仕事",
        "🎉 👨‍👩‍👧 ok",
        "é",
        "\u00a0nbsp",
    ],
)
def test_printable_text_stays_itself(text: str) -> None:
    assert printable(text) == text
    assert literal(text).plain == text
    assert not literal(text).spans  # no markup was parsed into styles


def test_lines_keeps_newlines_and_tabs_but_not_escapes() -> None:
    assert printable("Traceback:\n\tline 1\x1b[31m", lines=True) == "Traceback:\n\tline 1\\x1b[31m"


def test_a_long_line_is_escaped_in_linear_time() -> None:
    line = "x" * 100_000 + "\x1b"
    assert printable(line).endswith("x\\x1b")


def test_a_styled_text_keeps_its_styles_and_its_escapes_take_theirs() -> None:
    text = Text("ok ")
    text.append("bad\x1b[2J", style="red")
    text.append("\nnext", style="bold")
    shown = literal(text, lines=True)
    assert shown.plain == "ok bad\\x1b[2J\nnext"
    styles = {shown.plain[s.start : s.end]: str(s.style) for s in shown.spans}
    assert styles == {"bad\\x1b[2J": "red", "\nnext": "bold"}
    assert literal(shown, lines=True) is shown  # nothing left to escape: the same object
    assert literal(text).plain == "ok bad\\x1b[2J\\nnext"  # one line


def test_escapes_says_where_each_control_character_is() -> None:
    assert list(escapes("a\x1bb\u202e")) == [(1, "\\x1b"), (3, "\\u202e")]
    assert list(escapes("two\nlines", lines=True)) == []
    assert list(escapes("plain")) == []


def test_a_styled_text_full_of_control_characters_is_escaped_in_linear_time() -> None:
    text = Text("\x00" * 100_000, style="dim")
    text.stylize("red", 10, 20)
    shown = literal(text)
    assert shown.plain == "\\x00" * 100_000
    assert [(s.start, s.end, str(s.style)) for s in shown.spans] == [(40, 80, "red")]
