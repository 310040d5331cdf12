"""Which agent does the work that must happen once: sampling, pruning, scheduled backups,
Sentry reports.

Several agents may serve one job store. Each holds a :class:`Lock` seam and calls
:meth:`Leadership.check` once per metrics interval: the agent holding the lock is the leader
and does the singleton work; the others only answer requests and try again next interval.
The lock is released when its holder stops or dies, so another agent takes over at its next
try, within one interval (its next sample follows at once).

- PostgreSQL (:class:`AdvisoryLock`): a session-level advisory lock on a connection of its
  own. A killed agent's connection closes and the server releases the lock; for a host that
  vanished, TCP keepalives (both ends) bound the wait to about half a minute.
- SQLite (:class:`FileLock`): one file on one machine, so an ``flock`` on a file beside the
  database does: the kernel releases it when its process dies, and two agents started on
  one file by mistake still sample once, not twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from anyio import to_thread
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from jobtui.agent.db import Dialect

log = logging.getLogger("jobtui.agent")

LOCK_NAME = "jobtui.leader"
# libpq's side of the keepalives, and a bound on connecting: a leader whose database host
# vanished gives up within about 30 s instead of hanging on its lock connection.
_CLIENT_KEEPALIVE = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


class Lock(Protocol):
    """A lock one agent at a time holds, until it releases it or dies. Methods block (they
    may talk to the database): call them from a worker thread."""

    def acquire(self) -> bool:
        """Take the lock, or confirm it is still held; never wait for another holder."""
        ...

    def release(self) -> None: ...


class AdvisoryLock:
    """PostgreSQL's session-level advisory lock on a dedicated, autocommit connection."""

    def __init__(self, engine: Engine, dialect: Dialect, name: str = LOCK_NAME):
        self._engine = sa.create_engine(
            engine.url,
            poolclass=NullPool,
            connect_args={
                **_CLIENT_KEEPALIVE,
                "application_name": f"jobtui-agent pid {os.getpid()}",
            },
        )
        self._dialect = dialect
        self._sql = sa.text(dialect.try_session_lock(name))
        self._unlock = sa.text(dialect.session_unlock(name))
        self._conn: Connection | None = None
        self._held = False
        self._failing = False
        self._mutex = threading.Lock()

    def acquire(self) -> bool:
        with self._mutex:
            for _ in range(2):  # a session that died (the server restarted): one fresh try
                try:
                    self._held = self._try()
                    self._failing = False
                    break
                except DBAPIError as exc:
                    if not self._failing:  # once per outage, not once per interval
                        log.warning("Leader lock: %s", str(exc).splitlines()[0])
                    self._failing = True
                    self._drop()
            return self._held

    def _try(self) -> bool:
        if self._held and self._conn is not None:
            self._conn.execute(sa.text("SELECT 1"))  # the session lives, and so the lock
            return True
        if self._conn is None:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
            for stmt in self._dialect.session_keepalive:
                conn.execute(sa.text(stmt))
        return bool(self._conn.execute(self._sql).scalar())

    def release(self) -> None:
        with self._mutex:
            if self._held and self._conn is not None:
                # at once, so that another agent asking now gets it (else the session's end)
                with contextlib.suppress(DBAPIError):
                    self._conn.execute(self._unlock)
            self._drop()
            self._engine.dispose()

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except DBAPIError:
                pass
            self._conn = None


class FileLock:
    """An exclusive ``flock`` on ``path`` (created 0600), held while the file stays open."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None
        self._mutex = threading.Lock()

    def acquire(self) -> bool:
        with self._mutex:
            if self._fd is not None:
                return True
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                log.debug("Leader lock: cannot open %s: %s", self.path, exc.strerror)
                return False
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # another agent holds it
                os.close(fd)
                return False
            self._fd = fd
            return True

    def release(self) -> None:
        with self._mutex:
            if self._fd is not None:
                os.close(self._fd)  # closing releases the lock
                self._fd = None


def lock_for(engine: Engine, dialect: Dialect) -> Lock:
    """The leader lock for the job store behind ``engine``."""
    if dialect.sqlite:
        database = engine.url.database or "jobtui.db"
        path = Path(database).expanduser().resolve()
        return FileLock(path.with_name(path.name + "-leader"))
    return AdvisoryLock(engine, dialect)


class Leadership:
    """Whether this agent is the leader now, as found by the last :meth:`check`."""

    def __init__(self, lock: Lock):
        self.lock = lock
        self.is_leader = False

    async def check(self) -> bool:
        """Take or keep the lock; log once when leadership is gained or lost."""
        try:
            held = await to_thread.run_sync(self.lock.acquire)
        except Exception:  # a bug in the lock must not stop the collector
            log.exception("Leader lock failed")
            held = False
        if held != self.is_leader:
            if held:
                log.info(
                    "Became leader: this agent samples metrics, prunes, runs scheduled "
                    "backups and Sentry reports"
                )
            else:
                log.info(
                    "Lost leadership: another agent does the singleton work now, or "
                    "the database is unreachable"
                )
        self.is_leader = held
        return held

    async def resign(self) -> None:
        """Release the lock so another agent takes over at its next try."""
        was = self.is_leader
        self.is_leader = False
        await to_thread.run_sync(self.lock.release)
        if was:
            log.info("Resigned leadership: this agent stops")
