"""What can go wrong talking to a server: one type per kind of failure.

The client raises these; the dashboard, the checks and the commands tell the kinds apart by
type. This module imports nothing, so the dashboard can test an error's kind without loading
httpx on its UI thread. Every ``str()`` is one line a person can act on.
"""

from __future__ import annotations


class ClientError(Exception):
    """Anything that kept a call from giving a contract answer; ``str()`` is one line."""


class InvalidURL(ClientError):
    """The URL cannot be asked at all."""


class Unreachable(ClientError):
    """No connection: refused, reset, no route, DNS."""


class ReadOnly(ClientError):
    """A request that would change the server, refused because the command runs read-only."""


class TimedOut(ClientError):
    """No answer within the timeout."""


class HTTPError(ClientError):
    """An HTTP status that is not an answer."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class Unauthorized(HTTPError):
    """401 or 403."""


class NotProvided(HTTPError):
    """404 on an endpoint the server does not implement (the contract's optional parts)."""


class NotFound(HTTPError):
    """404 for a thing (a job) on an endpoint the server does implement."""


class NotJSON(ClientError):
    """The answer is not JSON (an HTML error page, a truncated body)."""


class WrongShape(ClientError):
    """JSON, but not the contract's shape."""


def describe(exc: BaseException) -> str:
    """One line for any exception: the client's own message, or the type and text."""
    if isinstance(exc, ClientError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"
