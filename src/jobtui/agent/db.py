"""Opening the job store: database URLs, engines, and what differs between SQL dialects.

Everything dialect-specific lives in :class:`Dialect` (and the DDL in ``schema``); the store's
queries are the same text on SQLite and PostgreSQL.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from jobtui.contract import iso, parse_time

# Seconds a SQLite statement waits for another writer's lock before it fails "database is
# locked": well inside a client's 10 s timeout, so a locked write answers 503, never hangs.
BUSY_TIMEOUT = 5.0


class DatabaseURLError(ValueError):
    """A ``--database`` value that cannot name a job store."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few things that differ between SQLite and PostgreSQL."""

    name: str  # "sqlite" | "postgresql"

    @property
    def sqlite(self) -> bool:
        return self.name == "sqlite"

    def ts(self, dt: datetime | None) -> Any:
        """A timestamp as a bind value: ISO text on SQLite, aware datetime on PostgreSQL."""
        if dt is None:
            return None
        return iso(dt) if self.sqlite else dt

    def from_ts(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return parse_time(value.isoformat())
        return parse_time(str(value))

    def indexed_by(self, index: str) -> str:
        """Pin SQLite to ``index``. Its planner trusts statistics: when ANALYZE ran while few
        jobs were processing, the small partial stuck-jobs index looks cheapest for
        "processing, oldest first" and 10k stuck jobs are then read and sorted (22 ms at 10M
        instead of 0.1). PostgreSQL weighs the LIMIT and needs no hint."""
        return f" INDEXED BY {index}" if self.sqlite else ""

    @property
    def like(self) -> str:
        """Case-insensitive LIKE."""
        return "LIKE" if self.sqlite else "ILIKE"

    @property
    def skip_locked(self) -> str:
        """Row locking for claims: SQLite serialises writers, so it needs none."""
        return "" if self.sqlite else " FOR UPDATE SKIP LOCKED"

    @property
    def placeholder(self) -> str:
        """The driver's own parameter mark, for bulk loads that bypass SQLAlchemy."""
        return "?" if self.sqlite else "%s"

    def row_json(self, columns: tuple[str, ...], json_columns: frozenset[str]) -> str:
        """An expression that renders one row as a JSON object, in the database (C speed)."""
        if self.sqlite:
            parts = [
                f"'{c}', CASE WHEN json_valid({c}) THEN json({c}) ELSE {c} END"
                if c in json_columns
                else f"'{c}', {c}"
                for c in columns
            ]
            return f"json_object({', '.join(parts)})"
        pairs = ", ".join(f"'{c}', {c}" for c in columns)
        return f"json_build_object({pairs})::text"

    def unindexed(self, column: str) -> str:
        """``column`` in a term SQLite must not pick an index for (its unary plus). Without
        statistics it prefers the status index to the id look-ups of a bulk write, and then
        reads every job of that status; PostgreSQL needs no hint."""
        return f"+{column}" if self.sqlite else column

    def in_json(self, column: str, param: str) -> str:
        """``column`` is one of the values of a JSON array bound as ``param``: one parameter
        however many values, and an index look-up for each."""
        if self.sqlite:
            return f"{column} IN (SELECT value FROM json_each(:{param}))"
        return f"{column} = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST(:{param} AS jsonb))))"

    def try_session_lock(self, name: str) -> str:
        """PostgreSQL: take the session-level advisory lock ``name`` without waiting; the
        answer is true while this session holds it (taking it again stacks, harmlessly). Keyed
        by the name's CRC-32 and the current schema's hash, so installations in two schemas
        of one database do not share it. The session's end releases it."""
        return f"SELECT pg_try_advisory_lock({self._lock_keys(name)})"

    def session_unlock(self, name: str) -> str:
        """PostgreSQL: release the lock of :meth:`try_session_lock` now (closing the session
        releases it too, but only once the server has ended it: another agent asking at once
        could still find it held)."""
        return f"SELECT pg_advisory_unlock({self._lock_keys(name)})"

    def _lock_keys(self, name: str) -> str:
        if self.sqlite:
            raise ValueError("SQLite has no advisory locks")
        crc = zlib.crc32(name.encode())
        key = crc - (1 << 32) if crc >= 1 << 31 else crc  # the lock's first key is an int4
        return f"{key}, hashtext(current_schema())"

    @property
    def session_keepalive(self) -> tuple[str, ...]:
        """PostgreSQL: make the server notice within about 25 s that a session's client
        vanished (a host that died sends no FIN), so its session locks are released."""
        if self.sqlite:
            return ()
        return (
            "SET tcp_keepalives_idle = 10",
            "SET tcp_keepalives_interval = 5",
            "SET tcp_keepalives_count = 3",
        )

    def floor_div(self, expr: str, divisor: str) -> str:
        return (
            f"CAST({expr} / {divisor} AS INTEGER)" if self.sqlite else f"FLOOR({expr} / {divisor})"
        )


def _normalise(url: str) -> str:
    """Accept ``postgres://`` and plain ``postgresql://`` and use psycopg 3 for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def shown(url: str) -> str:
    """The database URL with any password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


def open_engine(url: str, *, pool_size: int = 8) -> tuple[Engine, Dialect]:
    """An engine for ``sqlite:///path`` or ``postgresql://…``; raise DatabaseURLError if unusable."""
    try:
        parsed = make_url(_normalise(url))
    except ArgumentError:
        raise DatabaseURLError(
            "invalid database URL: expected sqlite:///path or postgresql://user@host/db"
        ) from None
    url = shown(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise DatabaseURLError(
                f"invalid database URL {url!r}: SQLite needs a file, e.g. sqlite:///jobtui.db"
            )
        folder = Path(parsed.database).expanduser().resolve().parent
        if not folder.is_dir():
            raise DatabaseURLError(f"database folder {folder} does not exist")
        engine = sa.create_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine, Dialect("sqlite")
    if backend == "postgresql":
        try:
            # A server that accepts but never answers must not hold a connection attempt
            # for ever (the URL's own connect_timeout wins).
            connect = {} if "connect_timeout" in parsed.query else {"connect_timeout": 5}
            engine = sa.create_engine(
                parsed,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                connect_args=connect,
            )
        except ModuleNotFoundError:
            raise DatabaseURLError(
                "PostgreSQL needs psycopg: pip install 'jobtui[postgres]'"
            ) from None
        return engine, Dialect("postgresql")
    raise DatabaseURLError(
        f"unsupported database {backend!r} in {url!r}: use sqlite:///path or postgresql://…"
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
    cur.close()
