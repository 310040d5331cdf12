"""Argument types that check a value's range at parse time: a bad value is argparse's one
usage line (``argument --port: …``, exit 2), never an error deep inside a command."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from datetime import timedelta

MAX_TIMEOUT = 86_400.0  # seconds: a day
MAX_DAYS = 36_500.0  # a hundred years
MAX_SILENCE = timedelta(days=3650)


def url(text: str) -> str:
    """A server URL; an empty one is refused (it would silently mean the local agent)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "empty URL: give the server's URL, e.g. http://127.0.0.1:8787"
        )
    return text


def port(text: str) -> int:
    """A TCP port, 0 (any free one) to 65535."""
    n = _whole(text, "a port number")
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {n}")
    return n


def _whole(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A timeout in seconds: above zero, at most a day."""
    value = _number(text, "a number of seconds")
    if not 0 < value <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(
            f"must be above 0 and at most {MAX_TIMEOUT:g} seconds, got {text}"
        )
    return value


def days(text: str) -> float:
    """A number of days: 0 to a hundred years."""
    value = _number(text, "a number of days")
    if not 0 <= value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be 0 to {MAX_DAYS:g} days, got {text}")
    return value


def at_least_one(text: str) -> int:
    n = _whole(text, "a whole number")
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {n}")
    return n


def duration(longest: timedelta) -> Callable[[str], timedelta]:
    """A duration like 30m, 2h or 1d: above zero, at most ``longest``."""

    def parse(text: str) -> timedelta:
        from jobtui.config import parse_duration

        try:
            value = parse_duration(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if value <= timedelta(0):
            raise argparse.ArgumentTypeError(f"must be above zero, got {text!r}")
        if value > longest:
            raise argparse.ArgumentTypeError(f"at most {longest.days}d, got {text!r}")
        return value

    parse.__name__ = "duration"  # argparse names the type in its messages
    return parse
