"""Exit when the terminal goes away (an SSH session drops), instead of spinning on a dead tty.

Two signs: SIGHUP (or SIGTERM) arrives, or the terminal reports a hang-up (POLLHUP), which a
daemon thread waits for without waking up in between. Either way the app is asked to exit;
if it cannot finish (writes to a dead terminal may block), the process ends a moment later.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import threading
from collections.abc import Callable

EXIT_CODE = 129  # 128 + SIGHUP
GRACE = 3.0  # seconds the app gets to exit cleanly


class Hangup:
    def __init__(self, exit_app: Callable[[], None], *, fd: int = 0, grace: float | None = GRACE):
        self._exit_app = exit_app
        self._fd = fd
        self._grace = grace  # None: never force the exit (tests)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.lost = threading.Event()

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Call from the app's loop (main thread): signal handlers and the tty watcher."""
        self._loop = loop
        for sig in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.trigger)
        if hasattr(select, "poll"):
            try:
                is_tty = os.isatty(self._fd)
            except OSError:
                is_tty = False
            if is_tty:
                threading.Thread(target=self._watch, name="jobtui-hangup", daemon=True).start()

    def _watch(self) -> None:
        poller = select.poll()
        poller.register(self._fd, 0)  # only POLLHUP / POLLERR / POLLNVAL are reported
        while True:
            try:
                events = poller.poll()
            except InterruptedError:
                continue
            except OSError:
                break
            if any(ev & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, ev in events):
                break
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.trigger)

    def trigger(self) -> None:
        """The terminal is gone (or we were told to stop): exit now."""
        if self.lost.is_set():
            return
        self.lost.set()
        if self._grace is not None:
            timer = threading.Timer(self._grace, os._exit, args=(EXIT_CODE,))
            timer.daemon = True  # a clean exit does not wait for it
            timer.start()
        self._exit_app()
