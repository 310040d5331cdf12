"""A terminal driver whose input thread sleeps until there is input.

Textual's Linux driver reads keys in a thread that wakes ten times a second, only to see
whether it should stop: about 0.1 % of a core on an idle dashboard, the largest cost of a
bare Textual app. This one waits for the terminal or for a byte on its own wake-up pipe,
written when input is disabled (quit, suspend). After input it keeps a short timeout, the
escape delay, so a lone Escape is still delivered once no sequence follows it.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
from codecs import getincrementaldecoder

from textual import constants
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

# Long enough for the parser's escape timeout to have passed when the select comes back empty.
PENDING = max(0.1, constants.ESCAPE_DELAY) + 0.01


class QuietDriver(LinuxDriver):
    """:class:`LinuxDriver` without the idle wake-ups of its input thread."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self.exit_event = _WakingEvent(self._wake_write)

    def close(self) -> None:
        super().close()
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def run_input_thread(self) -> None:
        """Wait for input (no timeout while nothing is pending) and dispatch the events."""
        fileno = self.fileno
        selector = selectors.SelectSelector()
        selector.register(fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        watching = True  # the terminal, until it reaches its end

        def dispatch(ready: list[int], final: bool = False) -> bool:
            """Parse what is ready; True when something was read."""
            nonlocal watching
            got = False
            if self._wake_read in ready:
                with contextlib.suppress(OSError):
                    os.read(self._wake_read, 64)
            if fileno in ready:
                data = decode(os.read(fileno, 1024 * 4), final=final)
                if data:
                    got = True
                    for event in parser.feed(data):
                        self.process_message(event)
                elif watching:  # end of input (a pipe, a dead terminal): stop polling it
                    selector.unregister(fileno)
                    watching = False
            for event in parser.tick():
                self.process_message(event)
            return got

        def ready(timeout: float | None) -> list[int]:
            return [key.fd for key, mask in selector.select(timeout) if mask & selectors.EVENT_READ]

        try:
            timeout: float | None = None
            while not self.exit_event.is_set():
                timeout = PENDING if dispatch(ready(timeout)) else None
            if watching:
                selector.unregister(fileno)
                watching = False
                dispatch(ready(0.1), final=True)  # what the terminal sent before it stopped
        finally:
            selector.close()
            with contextlib.suppress(Exception):
                for _ in parser.feed(""):
                    pass


class _WakingEvent(threading.Event):
    """The driver's stop flag: setting it also wakes the input thread (Textual's
    ``disable_input`` sets it, then waits for the thread)."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        with contextlib.suppress(OSError):  # a full pipe is already a wake-up
            os.write(self._wake_fd, b"x")
