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
from typing import Any

from textual import constants
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

# Long enough for the parser's escape timeout to have passed when the select comes back empty.
PENDING = max(0.1, constants.ESCAPE_DELAY) + 0.01


class QuietDriver(LinuxDriver):
    """:class:`LinuxDriver` without the idle wake-ups of its input thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read = self._wake_write = -1
        self._open_wake_pipe()
        self.exit_event = _WakingEvent(self)

    def _open_wake_pipe(self) -> None:
        if self._wake_read < 0:
            self._wake_read, self._wake_write = os.pipe()
            os.set_blocking(self._wake_read, False)
            os.set_blocking(self._wake_write, False)

    def start_application_mode(self) -> None:
        self._open_wake_pipe()  # again after a suspend, whose close() closed it
        super().start_application_mode()

    def close(self) -> None:
        """Textual's, and the wake-up pipe (called at exit and on suspend; safe twice)."""
        super().close()
        fds, (self._wake_read, self._wake_write) = (self._wake_read, self._wake_write), (-1, -1)
        for fd in fds:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def wake(self) -> None:
        """Wake every input thread; the byte stays in the pipe until the stop flag is cleared."""
        with contextlib.suppress(OSError):  # a full pipe is already a wake-up
            os.write(self._wake_write, b"x")

    def drain(self) -> None:
        with contextlib.suppress(OSError):  # empty (non-blocking) or closed
            while os.read(self._wake_read, 64):
                pass

    def run_input_thread(self) -> None:
        """Wait for input (no timeout while nothing is pending) and dispatch the events."""
        fileno, wake = self.fileno, self._wake_read
        selector = selectors.SelectSelector()
        selector.register(fileno, selectors.EVENT_READ)
        selector.register(wake, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        watching = True  # the terminal, until it reaches its end

        def dispatch(ready: list[int], final: bool = False) -> bool:
            """Parse what is ready; True when something was read."""
            nonlocal watching
            got = False
            if wake in ready and not self.exit_event.is_set():
                self.drain()  # a stray byte: never spin on it
            if fileno in ready:
                raw = os.read(fileno, 1024 * 4)
                if raw:
                    got = True  # even half a character: the rest follows
                    text = decode(raw, final=final)
                    for event in parser.feed(text) if text else ():  # "" would end the parser
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
    ``disable_input`` sets it, waits for the thread, then clears it)."""

    def __init__(self, driver: QuietDriver) -> None:
        super().__init__()
        self._driver = driver

    def set(self) -> None:
        super().set()
        self._driver.wake()

    def clear(self) -> None:
        super().clear()
        self._driver.drain()
