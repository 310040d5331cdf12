"""The agent's connections under hostile clients: how many, how big, how slow.

uvicorn's httptools protocol (kept for its latency: see docs/benchmarks.md) bounds none of
this by itself: a connection that sends nothing, or its headers one byte at a time, stays open
forever (any byte restarts the keep-alive timer); a header of any size is buffered whole; and
connections are accepted until the process runs out of files, after which asyncio logs a
traceback for every failed ``accept()``. :func:`protocol_class` is that protocol with bounds:

- **connections**: at most ``max_connections`` (by default as many as the open-file limit
  leaves room for, up to 1,000). A new connection beyond it closes the one that has waited
  longest without a request under way (idle, or still sending its head); when every connection
  is busy with a request, the new one is answered 503 and closed.
- **idle**: a connection with no request under way — a new one, or one kept alive after a
  response — is closed after ``idle_timeout``.
- **a request's time**: its line, headers and body must arrive within ``request_timeout`` of
  its first byte (408, then closed), however slowly they trickle in.
- **a request's head**: request line and headers over ``max_header_size`` bytes are answered
  431 and the connection closed; no more than that is ever buffered.
- **a request's body**: one over ``max_body_size`` bytes is answered 413 as soon as its
  ``Content-Length`` says so (a chunked one once it passes the limit), and none of it reaches
  the app. What the client still sends is read and dropped, never buffered, for up to
  ``request_timeout``, then the connection is closed: a client that sends its whole body
  before it reads gets the 413, not a reset connection.

Each of these is logged as one line at most once a minute, with how many times it happened
(:class:`Throttle`), as is a failed ``accept()`` (:func:`accept_errors`), never a traceback.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import resource
import time
from collections.abc import Callable
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from jobtui.config import HttpLimits

log = logging.getLogger("jobtui.http")

BACKLOG = 64  # connections asyncio accepts in one go (and the kernel queues): each takes a file
RESERVED_FILES = 64  # for the database, logs, backups and the loop itself
MAX_CONNECTIONS = 1000


def open_file_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def connection_room(configured: int, files: int | None = None) -> int:
    """How many connections the agent may hold open: ``configured`` (0: the default), never
    more than the open-file limit leaves room for once the accept batch and the agent's own
    files are counted."""
    files = open_file_limit() if files is None else files
    room = max(8, files - BACKLOG - RESERVED_FILES)
    return min(configured or MAX_CONNECTIONS, room)


class Throttle:
    """A recurring condition logged as one line at most every ``every`` seconds, saying how
    many times it happened since the last line."""

    def __init__(self, logger: logging.Logger, every: float = 60.0):
        self.logger = logger
        self.every = every
        self.last: dict[str, float] = {}
        self.count: dict[str, int] = {}

    def log(self, level: int, key: str, message: str) -> None:
        now = time.monotonic()
        self.count[key] = self.count.get(key, 0) + 1
        last = self.last.get(key)
        if last is not None and now - last < self.every:
            return
        n = self.count.pop(key)
        self.last[key] = now
        if last is not None:
            message += f" ({n} times in the last {now - last:.0f} s)"
        self.logger.log(level, "%s", message)


ExceptionHandler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]


def accept_errors(throttle: Throttle) -> ExceptionHandler:
    """A loop exception handler: a failed ``accept()`` (out of files or memory) becomes one
    line a minute instead of a traceback for every attempt; anything else goes to asyncio's
    default handler."""
    exhausted = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in exhausted:
            throttle.log(
                logging.WARNING,
                "accept",
                f"cannot accept connections: {exc.strerror} (open-file limit "
                f"{open_file_limit()}); retrying",
            )
            return
        loop.default_exception_handler(context)

    return handler


_STATUS = {
    408: b"Request Timeout",
    413: b"Content Too Large",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


class _Shared:
    """What the connections of one server share."""

    def __init__(self, limits: HttpLimits):
        self.limits = limits
        # Connections without a request under way (idle, or its head still arriving), in the
        # order they began to wait: the first is closed when a new one finds no room.
        self.waiting: dict[GuardedProtocol, None] = {}
        self.throttle = Throttle(log)


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds of this module."""

    shared: ClassVar[_Shared]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.limits = self.shared.limits
        self.timeout_keep_alive = self.limits.idle_timeout  # type: ignore[assignment]  # typed int; used as a float
        self.in_head = True  # no request's headers are complete (idle, or a head arriving)
        self.head_bytes = 0
        self.body_bytes = 0
        self.discarding = False  # a body was refused: the rest is read and dropped
        self.deadline: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ connection count

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn's
        super().connection_made(transport)
        shared = self.shared
        if len(self.connections) > shared.limits.max_connections:
            victim = next(iter(shared.waiting), None)
            if victim is None:
                shared.throttle.log(
                    logging.WARNING,
                    "busy",
                    f"connection limit reached ({shared.limits.max_connections} open, all "
                    "busy): new connections are answered 503",
                )
                self.refuse(503, "too many connections: try again shortly")
                return
            shared.throttle.log(
                logging.WARNING,
                "evict",
                f"connection limit reached ({shared.limits.max_connections} open): closing "
                "the connections that waited longest without a request",
            )
            victim.drop()
        self.wait()

    def connection_lost(self, exc: Exception | None) -> None:
        self.shared.waiting.pop(self, None)
        self._cancel_deadline()
        super().connection_lost(exc)

    def wait(self) -> None:
        """No request under way: count as idle, closed after ``idle_timeout``."""
        self.shared.waiting.pop(self, None)
        self.shared.waiting[self] = None
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.limits.idle_timeout, self.timeout_keep_alive_handler
            )

    def drop(self) -> None:
        self.shared.waiting.pop(self, None)
        if not self.transport.is_closing():
            self.transport.close()

    # ------------------------------------------------------------------ a request's bounds

    def data_received(self, data: bytes) -> None:
        if self.discarding or self.transport.is_closing():
            return
        if self.in_head:
            self._arm_deadline()
            room = self.limits.max_header_size - self.head_bytes
            if len(data) > room:
                # Parse what fits: the head must end in it, else it is too large.
                fits, data = data[: room + 1], data[room + 1 :]
                self.head_bytes += len(fits)
                super().data_received(fits)
                if self.transport.is_closing():
                    return
                if self.in_head:
                    size = self.limits.max_header_size
                    self.refuse_logged(
                        431,
                        f"refused a request whose headers exceed {size} bytes",
                        f"request headers over {size} bytes",
                    )
                    return
                if data:
                    self.data_received(data)
                return
            self.head_bytes += len(data)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = True
        self._arm_deadline()

    def on_headers_complete(self) -> None:
        self.shared.waiting.pop(self, None)  # a request is under way: not evicted
        self.in_head = False
        self.head_bytes = 0
        self.body_bytes = 0
        length = next((v for k, v in self.headers if k == b"content-length"), b"")
        if length.isdigit() and int(length) > self.limits.max_body_size:
            previous = self.cycle  # a pipelined request still being answered, or None
            self.refuse_body(answer=previous is None or previous.response_complete)
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self.discarding:
            return
        self.body_bytes += len(body)
        if self.body_bytes > self.limits.max_body_size:  # chunked: no Content-Length said so
            cycle = self.cycle  # this request's, its app waiting for the body
            if not cycle.response_started:
                cycle.disconnected = True  # the app reads no more, and its answer is not sent
                cycle.message_event.set()
            self.refuse_body(answer=not cycle.response_started)
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self.discarding:
            return
        super().on_message_complete()
        self.in_head = True
        self.head_bytes = 0
        self._cancel_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle again unless a pipelined request is being answered or has begun arriving.
        idle = self.cycle is None or self.cycle.response_complete
        if idle and self.deadline is None and not self.transport.is_closing():
            self.wait()

    def _arm_deadline(self) -> None:
        if self.deadline is None:
            self.deadline = self.loop.call_later(self.limits.request_timeout, self._too_slow)

    def _cancel_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _too_slow(self) -> None:
        self.deadline = None
        if self.transport.is_closing():
            return
        took = f"{self.limits.request_timeout:g} s"
        self.refuse_logged(
            408,
            f"closed a connection whose request took over {took} to arrive",
            f"the request took over {took} to arrive",
        )

    def _unsupported_upgrade_warning(self) -> None:
        """An ``Upgrade`` request is answered as plain HTTP (the agent has no WebSocket
        endpoint); uvicorn's warning for each would let any client fill the log."""

    # ------------------------------------------------------------------ refusing

    def refuse_logged(self, status: int, line: str, message: str) -> None:
        """:meth:`refuse`, logged as ``line`` at most once a minute per status."""
        self.shared.throttle.log(logging.INFO, str(status), line)
        self.refuse(status, message)

    def refuse(self, status: int, message: str) -> None:
        """Answer ``status`` with the contract's error body, unless a response is already
        under way on this connection, and close it."""
        self.shared.waiting.pop(self, None)
        self._cancel_deadline()
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(self._answer(status, message))
        self.transport.close()

    def refuse_body(self, *, answer: bool) -> None:
        """A body over ``max_body_size``: 413 (when ``answer``: no other response is under
        way), then the rest of what the client sends is dropped as it arrives, for up to
        ``request_timeout``."""
        size = self.limits.max_body_size
        self.shared.throttle.log(
            logging.INFO, "413", f"refused a request whose body exceeds {size} bytes"
        )
        self.shared.waiting.pop(self, None)
        self._cancel_deadline()
        if not answer:
            self.transport.close()
            return
        self.transport.write(self._answer(413, f"request body over {size} bytes"))
        self.discarding = True
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the answer is whole: the client may read it
        self.deadline = self.loop.call_later(self.limits.request_timeout, self.drop)

    def _answer(self, status: int, message: str) -> bytes:
        body = json.dumps({"error": message}).encode()
        head = [b"HTTP/1.1 %d %s\r\n" % (status, _STATUS[status])]
        for name, value in self.server_state.default_headers:
            head.append(b"%s: %s\r\n" % (name, value))
        head.append(
            b"content-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n" % len(body)
        )
        return b"".join(head) + body


def protocol_class(limits: HttpLimits) -> type[asyncio.Protocol]:
    """The protocol class for uvicorn's ``http=``, sharing one set of bounds
    (``max_connections`` already resolved by :func:`connection_room`)."""
    return type("GuardedProtocol", (GuardedProtocol,), {"shared": _Shared(limits)})
