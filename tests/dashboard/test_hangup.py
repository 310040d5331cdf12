"""The terminal watcher: a hang-up of the tty (its other end closed) asks the app to exit."""

from __future__ import annotations

import asyncio
import os
import pty
import threading

from jobtui.dashboard.hangup import Hangup


async def test_a_closed_terminal_triggers_exit():
    master, slave = pty.openpty()
    asked = threading.Event()
    hangup = Hangup(asked.set, fd=slave, grace=None)  # no forced exit of pytest
    loop = asyncio.get_running_loop()
    try:
        hangup.install(loop)
        await asyncio.sleep(0.1)
        assert not asked.is_set()  # a live terminal: nothing happens, nothing spins
        os.close(master)  # the SSH session drops
        for _ in range(100):
            if asked.is_set():
                break
            await asyncio.sleep(0.02)
        assert asked.is_set() and hangup.lost.is_set()
    finally:
        os.close(slave)
        for sig in (1, 15):
            loop.remove_signal_handler(sig)
