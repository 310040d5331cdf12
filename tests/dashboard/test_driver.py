"""The quiet terminal driver: keys (a lone Escape too) arrive, the input thread sleeps while
nobody types, stops at once when asked, and does not spin when its input ends."""

from __future__ import annotations

import contextlib
import os
import pty
import queue
import selectors
import signal
import threading
import time
import tty
from collections.abc import AsyncIterator

import pytest
from textual import events

from jobtui.config import Target
from jobtui.dashboard.app import DashboardApp
from jobtui.dashboard.driver import QuietDriver


class Recording(QuietDriver):
    """The driver, with its events kept here instead of going to an app."""

    def __init__(self, fileno: int) -> None:
        super().__init__(None)  # type: ignore[arg-type]
        self.fileno = fileno
        self.events: queue.Queue[events.Event] = queue.Queue()

    def process_message(self, message: object) -> None:
        self.events.put(message)  # type: ignore[arg-type]

    def key(self, timeout: float = 2.0) -> str:
        while True:
            event = self.events.get(timeout=timeout)
            if isinstance(event, events.Key):
                return event.key


@pytest.fixture
def selects(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """The timeouts of every select the input thread makes."""
    seen: list[float | None] = []

    class Counting(selectors.SelectSelector):
        def select(self, timeout: float | None = None):  # type: ignore[override]
            seen.append(timeout)
            return super().select(timeout)

    monkeypatch.setattr(selectors, "SelectSelector", Counting)
    return seen


class Running:
    """Drivers reading from given inputs, each in its input thread, stopped at the end."""

    def __init__(self) -> None:
        self.drivers: list[Recording] = []

    def start(self, fileno: int) -> Recording:
        drv = Recording(fileno)
        drv._key_thread = threading.Thread(target=drv.run_input_thread, daemon=True)
        drv._key_thread.start()
        self.drivers.append(drv)
        return drv

    def stop(self) -> None:
        for drv in self.drivers:
            drv.exit_event.set()
            assert drv._key_thread is not None
            drv._key_thread.join(2)
            drv.close()


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}
    drivers = Running()
    try:
        yield drivers
    finally:
        drivers.stop()
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@pytest.fixture
async def driver(running: Running) -> AsyncIterator[tuple[Recording, int]]:
    """A driver on a terminal (a pty in raw mode), and the terminal's other end."""
    master, slave = pty.openpty()
    tty.setraw(slave)  # keys as they are typed, as the app's terminal is
    try:
        yield running.start(slave), master
    finally:
        running.stop()
        running.drivers.clear()
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)


async def test_keys_and_a_lone_escape_arrive(driver: tuple[Recording, int]) -> None:
    drv, master = driver
    os.write(master, b"q")
    assert drv.key() == "q"
    os.write(master, b"\x1b")  # nothing follows: delivered after the escape delay
    assert drv.key() == "escape"
    os.write(master, b"\x1b[A")
    assert drv.key() == "up"


async def test_sleeps_while_idle_and_stops_at_once(
    selects: list[float | None], driver: tuple[Recording, int]
) -> None:
    drv, master = driver
    os.write(master, b"x")
    assert drv.key() == "x"
    time.sleep(0.4)  # Textual's own driver would wake up four times in this
    settled = len(selects)
    time.sleep(1.0)
    assert len(selects) == settled, "the input thread woke up with nothing to read"
    assert selects[-1] is None  # blocked: no timeout
    started = time.perf_counter()
    drv.exit_event.set()
    drv._key_thread.join(2)  # type: ignore[union-attr]
    assert not drv._key_thread.is_alive()  # type: ignore[union-attr]
    assert time.perf_counter() - started < 0.5


async def test_end_of_input_does_not_spin(selects: list[float | None], running: Running) -> None:
    r, w = os.pipe()
    os.close(w)  # an input already at its end, as a dead terminal's
    try:
        running.start(r)
        time.sleep(0.5)
        assert len(selects) <= 3, f"{len(selects)} selects on an input at its end"
    finally:
        running.stop()
        os.close(r)


async def test_a_character_split_between_two_reads(driver: tuple[Recording, int]) -> None:
    """Half a character is not the end of input (a paste over 4 KB, a slow SSH link)."""
    drv, master = driver
    os.write(master, "é".encode()[:1])
    time.sleep(0.3)
    os.write(master, "é".encode()[1:])
    assert drv.key() == "é"
    os.write(master, b"q")
    assert drv.key() == "q"


async def test_input_works_again_after_a_suspend(driver: tuple[Recording, int]) -> None:
    """Textual stops the input thread and closes the driver on suspend, then starts it again
    on the same driver (``start_application_mode`` opens a new wake-up pipe)."""
    drv, master = driver
    assert drv._key_thread is not None
    drv.exit_event.set()
    drv._key_thread.join(2)
    drv.exit_event.clear()
    drv.close()
    drv.close()  # twice is harmless
    drv._open_wake_pipe()
    drv._key_thread = threading.Thread(target=drv.run_input_thread, daemon=True)
    drv._key_thread.start()
    os.write(master, b"r")
    assert drv.key() == "r"
    drv.exit_event.set()
    drv._key_thread.join(2)
    assert not drv._key_thread.is_alive()


async def test_every_input_thread_stops(driver: tuple[Recording, int]) -> None:
    """A resume without a suspend (SIGCONT alone) starts a second thread: both must stop."""
    drv, _ = driver
    first = drv._key_thread
    assert first is not None
    second = threading.Thread(target=drv.run_input_thread, daemon=True)
    second.start()
    time.sleep(0.2)  # both blocked
    drv.exit_event.set()
    first.join(2)
    second.join(2)
    assert not first.is_alive() and not second.is_alive()


def test_the_app_uses_it_on_a_terminal() -> None:
    app = DashboardApp(Target("local", "http://127.0.0.1:9"))
    assert app.driver_class is QuietDriver


def test_a_driver_named_in_the_environment_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual import constants
    from textual.drivers.linux_driver import LinuxDriver

    monkeypatch.setattr(constants, "DRIVER", "textual.drivers.linux_driver:LinuxDriver")
    app = DashboardApp(Target("local", "http://127.0.0.1:9"))
    assert app.driver_class is LinuxDriver
