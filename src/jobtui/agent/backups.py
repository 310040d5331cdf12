"""Backups of the jobs table: streamed out, verified, restored by upsert, pruned.

A backup is two files in the backup directory:

- ``jobs_backup_<UTC time>.json`` (or ``.json.gz``): a JSON array of the table's rows, one
  row per line, in the seed's format (the table's own column names);
- ``jobs_backup_<UTC time>.json.meta.json``: its header: format, schema version, job count,
  SHA-256 of the data file's bytes.

Both are written to hidden temporary files, fsynced and renamed, data first: a crash never
leaves a file that lists as a complete backup. Restore checks the checksum before it writes
anything and every record before it is written, and upserts by id in one transaction: a bad
record anywhere rolls it all back.
"""

from __future__ import annotations

import builtins
import contextlib
import gzip
import hashlib
import io
import json
import operator
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text

from jobtui.agent import schema
from jobtui.agent.store import JobStore
from jobtui.contract import (
    JOB_STATUSES,
    BackupInfo,
    BackupList,
    BackupResult,
    PruneResult,
    RestoreResult,
    iso,
    parse_time,
    utcnow,
)

FORMAT = "jobtui-backup"
FORMAT_VERSION = 1
COLUMNS = (
    "id", "type", "status", "progress", "message", "payload", "error", "attempts",
    "max_attempts", "created_at", "updated_at", "started_at", "completed_at",
)  # fmt: skip
TIME_COLUMNS = frozenset({"created_at", "updated_at", "started_at", "completed_at"})
JSON_COLUMNS = frozenset({"payload"})
NAME = re.compile(r"^jobs_backup_(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(?:\.\d+)?Z)\.json(\.gz)?$")
BATCH = 2000
RESTORE_CACHE_KB = 32768
BULK_MIN = 5000  # restores at least this big (and a tenth of the table) load in bulk


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, in one line."""


class NoSuchBackup(BackupError):
    pass


@dataclass(frozen=True, slots=True)
class Header:
    jobs: int
    sha256: str
    schema_version: int
    created_at: datetime


def backup_name(now: datetime, gz: bool) -> str:
    """The seed's name: ``jobs_backup_`` + ISO time with ``-`` for ``:``."""
    return f"jobs_backup_{iso(now).replace(':', '-')}.json" + (".gz" if gz else "")


class _HashingWriter(io.RawIOBase):
    """Counts and hashes the bytes on their way to the file."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.sha, self.size = raw, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.sha.update(data)
        self.size += len(data)
        self.raw.write(data)
        return len(data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Backups:
    """The backup directory of one agent."""

    def __init__(self, store: JobStore, directory: str | Path, *, gz: bool = False):
        self.store = store
        self.dir = Path(directory).expanduser().resolve()
        self.gz = gz
        self._verified: dict[tuple[str, int, int], str | None] = {}  # (name, size, mtime) → problem

    # ------------------------------------------------------------------ backup

    def create(self, now: datetime | None = None) -> BackupResult:
        now = now or utcnow()
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupError(f"cannot create backup folder {self.dir}: {exc.strerror}") from None
        self._clean_partials()
        name = backup_name(now, self.gz)
        final = self.dir / name
        tmp = self.dir / f".{name}.partial"
        start = time.perf_counter()
        try:
            with open(tmp, "wb") as raw:
                hashing = _HashingWriter(raw)
                out: io.BufferedIOBase = (
                    gzip.GzipFile(fileobj=hashing, mode="wb", compresslevel=1, mtime=0)
                    if self.gz
                    else io.BufferedWriter(hashing, 1 << 20)
                )
                count = self._dump(out)
                out.close()
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, final)
            header = {
                "format": FORMAT,
                "formatVersion": FORMAT_VERSION,
                "schemaVersion": schema.SCHEMA_VERSION,
                "jobs": count,
                "sha256": hashing.sha.hexdigest(),
                "createdAt": iso(now),
            }
            _write_atomic(self._meta(final), json.dumps(header, indent=2).encode())
            _fsync_dir(self.dir)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise BackupError(f"backup to {self.dir} failed: {exc.strerror or exc}") from None
        size = final.stat().st_size
        self._verified[(name, size, final.stat().st_mtime_ns)] = None
        return BackupResult(
            name=name,
            jobs=count,
            size=size,
            sha256=hashing.sha.hexdigest(),
            seconds=round(time.perf_counter() - start, 3),
        )

    def _dump(self, out: io.BufferedIOBase) -> int:
        """Stream every row, one JSON object a line, rendered by the database itself from
        one consistent read (one statement is one snapshot on SQLite's WAL and PostgreSQL)."""
        count = 0
        out.write(b"[")
        sql = f"SELECT {self.store.d.row_json(COLUMNS, JSON_COLUMNS)} FROM background_jobs ORDER BY id"
        with self.store.read() as conn:
            result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(text(sql))
            # The size, not only the option: without it PostgreSQL's whole table came as one
            # partition (1.8 GB at 1M jobs).
            for rows in result.partitions(BATCH):
                sep = b"\n" if count == 0 else b",\n"
                out.write(sep + ",\n".join(r[0] for r in rows).encode())
                count += len(rows)
        out.write(b"\n]\n")
        return count

    # ------------------------------------------------------------------ list, verify

    @staticmethod
    def _meta(path: Path) -> Path:
        return path.with_name(path.name + ".meta.json")

    def _path(self, name: str) -> Path:
        if not NAME.match(name):
            raise NoSuchBackup(f"no backup named {name!r}")
        path = self.dir / name
        if not path.is_file():
            raise NoSuchBackup(f"no backup named {name!r} in {self.dir}")
        return path

    def header(self, path: Path) -> Header:
        """The sidecar header, or BackupError saying why it is unusable."""
        meta = self._meta(path)
        try:
            data = json.loads(meta.read_bytes())
        except FileNotFoundError:
            raise BackupError(
                f"{path.name}: no checksum file ({meta.name}): not a jobtui backup"
            ) from None
        except (OSError, ValueError):
            raise BackupError(f"{path.name}: unreadable checksum file {meta.name}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BackupError(f"{path.name}: {meta.name} is not a jobtui backup header")
        if data.get("formatVersion") != FORMAT_VERSION:
            raise BackupError(
                f"{path.name}: backup format {data.get('formatVersion')!r} is not supported"
            )
        try:
            return Header(
                jobs=int(data["jobs"]),
                sha256=str(data["sha256"]),
                schema_version=int(data["schemaVersion"]),
                created_at=parse_time(str(data["createdAt"])),
            )
        except (KeyError, TypeError, ValueError):
            raise BackupError(f"{path.name}: incomplete backup header {meta.name}") from None

    def verify(self, path: Path) -> str | None:
        """None if the file's SHA-256 matches its header, else the problem (cached by mtime)."""
        st = path.stat()
        key = (path.name, st.st_size, st.st_mtime_ns)
        if key not in self._verified:
            try:
                header = self.header(path)
                sha = hashlib.sha256()
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        sha.update(block)
                ok = sha.hexdigest() == header.sha256
                self._verified[key] = (
                    None if ok else f"{path.name}: checksum mismatch (corrupt or changed)"
                )
            except BackupError as exc:
                self._verified[key] = str(exc)
        return self._verified[key]

    def _files(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        files = [p for p in self.dir.iterdir() if NAME.match(p.name) and p.is_file()]
        return sorted(files, key=lambda p: p.name, reverse=True)

    def list(self) -> BackupList:
        out = []
        for path in self._files():
            problem = self.verify(path)
            try:
                header: Header | None = self.header(path)
            except BackupError:
                header = None
            m = NAME.match(path.name)
            created = header.created_at if header else _name_time(m.group(1) if m else "")
            out.append(
                BackupInfo(
                    name=path.name,
                    created_at=created,
                    size=path.stat().st_size,
                    jobs=header.jobs if header else None,
                    verified=problem is None,
                    problem=problem,
                )
            )
        return BackupList(backups=tuple(out), directory=str(self.dir))

    # ------------------------------------------------------------------ restore

    # Inside the class ``list`` is the method above: hence ``builtins.list`` below.

    def _chunks(self, path: Path) -> Iterator[tuple[int, builtins.list[Any]]]:
        """The records of a backup, streamed a batch at a time: (number of the batch's first
        record, its records). The file is one JSON object a line between ``[`` and ``]``."""
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as f:
            first = f.readline().strip()
            if first != b"[":
                raise BackupError(f"{path.name}: not a JSON array of jobs")
            lines: builtins.list[bytes] = []
            n = 1
            for raw in f:
                line = raw.strip()
                if line == b"]":
                    if lines:
                        yield n, _parse(lines, n, path.name)
                    return
                lines.append(line.rstrip(b","))
                if len(lines) == BATCH:
                    yield n, _parse(lines, n, path.name)
                    n += len(lines)
                    lines = []
            raise BackupError(f"{path.name}: truncated (no closing bracket)")

    def restore(self, name: str, *, dry_run: bool = False) -> RestoreResult:
        """Verify the checksum, then upsert every record by id in one transaction. On SQLite
        each batch of records is checked before it is written, on PostgreSQL every record
        before the table is touched; a bad one rolls everything back, so the table is never
        left half-restored. A dry run only counts."""
        path = self._path(name)
        problem = self.verify(path)
        if problem:
            raise BackupError(f"refusing to restore: {problem}")
        header = self.header(path)
        if header.schema_version > schema.SCHEMA_VERSION:
            raise BackupError(
                f"refusing to restore: {name} has schema version {header.schema_version}, "
                f"newer than this agent's {schema.SCHEMA_VERSION}"
            )
        if dry_run:
            with self.store.read() as conn:
                count, existing = 0, 0
                for chunk in self._batches(path):
                    count += len(chunk)
                    existing += self._existing(conn, [r[0] for r in chunk])
            self._check_count(name, count, header)
            return RestoreResult(
                name=name, jobs=count, inserted=count - existing, updated=existing, dry_run=True
            )
        load = self._upsert_all if self.store.d.sqlite else self._copy_all
        count, inserted = load(path, name, header)
        return RestoreResult(name=name, jobs=count, inserted=inserted, updated=count - inserted)

    @staticmethod
    def _check_count(name: str, count: int, header: Header) -> None:
        if count != header.jobs:
            raise BackupError(
                f"refusing to restore: {name} has {count} jobs, its header says {header.jobs}"
            )

    def _batches(self, path: Path) -> Iterator[builtins.list[tuple[Any, ...]]]:
        """Checked records as bind tuples (in COLUMNS order), a batch at a time."""
        d = self.store.d
        for first, records in self._chunks(path):
            batch: builtins.list[tuple[Any, ...]] = []
            for n, record in enumerate(records, start=first):
                row = _canonical(record)
                batch.append(row if row is not None else _bind(record, n, path.name, d))
            yield batch

    def _existing(self, conn: Any, ids: builtins.list[str]) -> int:
        total = 0
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ", ".join(f":i{k}" for k in range(len(part)))
            sql = f"SELECT COUNT(*) FROM background_jobs WHERE id IN ({marks})"
            total += int(
                conn.execute(text(sql), {f"i{k}": v for k, v in enumerate(part)}).scalar_one()
            )
        return total

    def _upsert_all(self, path: Path, name: str, header: Header) -> tuple[int, int]:
        """Upsert every record in one transaction. Returns (records, inserted).

        A record equal to its row is not written (no index entry, no trigger). A restore
        that writes much of the table is faster with the triggers and secondary indexes
        dropped, the indexes rebuilt and the rollups recomputed once at the end: that is
        decided up front when enough inserts are certain, else as soon as the rows written
        so far project past the threshold (a tenth of the table, at least ``BULK_MIN``)."""
        d = self.store.d
        cols = ", ".join(COLUMNS)
        marks = ", ".join([d.placeholder] * len(COLUMNS))
        rest = [c for c in COLUMNS if c != "id"]
        updates = ", ".join(f"{c} = excluded.{c}" for c in rest)
        old = ", ".join(f"background_jobs.{c}" for c in rest)
        new = ", ".join(f"excluded.{c}" for c in rest)
        differs = "IS NOT" if d.sqlite else "IS DISTINCT FROM"
        sql = (
            f"INSERT INTO background_jobs ({cols}) VALUES ({marks}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates} WHERE ({old}) {differs} ({new})"
        )
        count_sql = text("SELECT COUNT(*) FROM background_jobs")
        count = written = 0
        with self.store.write() as conn:
            if d.sqlite:
                # pysqlite opens its transaction at the first INSERT, not before DDL: without
                # this, the triggers and indexes dropped below would stay dropped on a refusal.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            before = int(conn.execute(count_sql).scalar_one())
            threshold = max(BULK_MIN, before // 10)
            bulk = False
            try:
                for chunk in self._batches(path):
                    if not bulk and (
                        header.jobs - before >= threshold  # at least that many inserts
                        or (count and written * header.jobs >= threshold * count)
                    ):
                        bulk = True
                        if d.sqlite:  # room to sort while the indexes are rebuilt
                            conn.exec_driver_sql(f"PRAGMA cache_size = -{RESTORE_CACHE_KB}")
                        schema.drop_triggers(conn, d)
                        schema.drop_indexes(conn)
                    written += conn.exec_driver_sql(sql, chunk).rowcount
                    count += len(chunk)
                self._check_count(name, count, header)  # raises: the transaction rolls back
                if bulk:
                    # Rollups first, while the secondary indexes are gone: SQLite would
                    # otherwise read a million rows through them, a random page at a time.
                    schema.backfill(conn, d, self.store.bucket)
                    schema.create_indexes(conn)
                    schema.install_triggers(conn, d, self.store.bucket)
                after = int(conn.execute(count_sql).scalar_one())
            finally:
                if bulk and d.sqlite:
                    conn.exec_driver_sql("PRAGMA cache_size = -2000")  # back to the default
        return count, after - before

    def _copy_all(self, path: Path, name: str, header: Header) -> tuple[int, int]:
        """PostgreSQL: COPY every checked record into a temporary table, then upsert them all
        with one statement (the statement-level triggers fold it once), in one transaction.
        Rows equal to their record are not written; if the rows to write reach the bulk
        threshold, triggers and secondary indexes are dropped and rebuilt around it."""
        d = self.store.d
        cols = ", ".join(COLUMNS)
        rest = [c for c in COLUMNS if c != "id"]
        updates = ", ".join(f"{c} = excluded.{c}" for c in rest)
        differs = f"({', '.join(f'j.{c}' for c in rest)}) IS DISTINCT FROM "
        count_sql = text("SELECT COUNT(*) FROM background_jobs")
        count = 0
        with self.store.write() as conn:
            before = int(conn.execute(count_sql).scalar_one())
            conn.exec_driver_sql(
                "CREATE TEMP TABLE jobtui_restore (LIKE background_jobs, "
                "n BIGINT GENERATED ALWAYS AS IDENTITY) ON COMMIT DROP"
            )
            raw: Any = conn.connection.driver_connection  # psycopg's, for COPY
            with raw.cursor() as cur, cur.copy(f"COPY jobtui_restore ({cols}) FROM STDIN") as copy:
                for chunk in self._batches(path):
                    for row in chunk:
                        copy.write_row(row)
                    count += len(chunk)
            self._check_count(name, count, header)  # raises: the transaction rolls back
            written = int(
                conn.exec_driver_sql(
                    "SELECT COUNT(*) FROM jobtui_restore r LEFT JOIN background_jobs j "
                    "ON j.id = r.id WHERE j.id IS NULL OR "
                    + differs
                    + f"({', '.join(f'r.{c}' for c in rest)})"
                ).scalar_one()
            )
            bulk = written >= max(BULK_MIN, before // 10)
            if bulk:
                schema.drop_triggers(conn, d)
                schema.drop_indexes(conn)
            # The last record of an id wins, as when they were upserted one by one.
            conn.exec_driver_sql(
                f"INSERT INTO background_jobs AS j ({cols}) "
                f"SELECT DISTINCT ON (id) {cols} FROM jobtui_restore ORDER BY id, n DESC "
                f"ON CONFLICT (id) DO UPDATE SET {updates} "
                f"WHERE {differs}({', '.join(f'excluded.{c}' for c in rest)})"
            )
            if bulk:
                schema.backfill(conn, d, self.store.bucket)
                schema.create_indexes(conn)
                schema.install_triggers(conn, d, self.store.bucket)
            after = int(conn.execute(count_sql).scalar_one())
        return count, after - before

    # ------------------------------------------------------------------ prune

    def prune(self, older_than: timedelta, now: datetime | None = None) -> PruneResult:
        """Delete backups older than ``older_than``; the newest one is always kept."""
        now = now or utcnow()
        files = self._files()
        deleted = []
        for path in files[1:]:  # newest first: files[0] stays
            m = NAME.match(path.name)
            when = _name_time(m.group(1)) if m else None
            if when is not None and now - when > older_than:
                path.unlink(missing_ok=True)
                self._meta(path).unlink(missing_ok=True)
                deleted.append(path.name)
        return PruneResult(deleted=tuple(deleted), kept=len(files) - len(deleted))

    def _clean_partials(self) -> None:
        """Remove temporaries a crashed backup left (older than a minute)."""
        cutoff = time.time() - 60
        for p in self.dir.glob(".jobs_backup_*.partial"):
            with contextlib.suppress(OSError):
                if p.stat().st_mtime < cutoff:
                    p.unlink()


def _name_time(stamp: str) -> datetime:
    date, _, clock = stamp.partition("T")
    try:
        return parse_time(f"{date}T{clock.replace('-', ':')}")
    except ValueError:
        return datetime.fromtimestamp(0, UTC)


_INT_COLUMNS = ("progress", "attempts", "max_attempts")


def _is_canonical(value: str) -> bool:
    """ISO 8601 in UTC with milliseconds and a ``Z`` (``2026-11-01T08:30:00.000Z``), a real
    date and time: such a timestamp is stored as it is. (The separators pin the layout: with
    them, ``fromisoformat`` accepts nothing else of this length.)"""
    if len(value) != 24 or value[10] != "T" or value[19] != "." or value[23] != "Z":
        return False
    if value[4] != "-" or value[7] != "-" or value[13] != ":" or value[16] != ":":
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_values = operator.itemgetter(*COLUMNS)
_STATUSES = frozenset(JOB_STATUSES)


def _parse(lines: list[bytes], first: int, name: str) -> list[Any]:
    """Parse a batch of lines as one JSON array (one call, not one per line); if that fails,
    find the first line that is not valid JSON on its own."""
    try:
        records = json.loads(b"[" + b",".join(lines) + b"]")
        if len(records) == len(lines):
            return records
    except ValueError:
        pass
    out = []
    for n, line in enumerate(lines, start=first):
        try:
            out.append(json.loads(line))
        except ValueError:
            raise BackupError(f"{name}: record {n} is not valid JSON") from None
    return out


def _canonical(record: Any) -> tuple[Any, ...] | None:
    """Bind values for a record exactly as a backup writes it (every column present, whole
    numbers, canonical UTC timestamps), else None: :func:`_bind` then checks it in full.
    Canonical timestamps bind as text on both stores (PostgreSQL parses them)."""
    try:
        v = _values(record)
    except (KeyError, TypeError):
        return None
    job_id, type_, status, progress, message, payload, error, attempts, max_attempts = v[:9]
    created, updated, started, completed = v[9:]
    if (
        type(job_id) is str
        and job_id
        and type(type_) is str
        and type(status) is str
        and status in _STATUSES
        and type(progress) is int
        and type(attempts) is int
        and type(max_attempts) is int
        and (message is None or type(message) is str)
        and (error is None or type(error) is str)
        and type(created) is str
        and _is_canonical(created)
        and type(updated) is str
        and _is_canonical(updated)
        and (started is None or (type(started) is str and _is_canonical(started)))
        and (completed is None or (type(completed) is str and _is_canonical(completed)))
    ):
        if payload is None:
            return v
        return (*v[:5], json.dumps(payload), *v[6:])
    return None


def _bind(record: Any, n: int, name: str, d: Any) -> tuple[Any, ...]:
    """Check one record's shape and turn it into bind values, in COLUMNS order."""
    where = f"{name}: record {n}"
    if not isinstance(record, dict):
        raise BackupError(f"{where}: not an object")
    job_id = record.get("id")
    if not isinstance(job_id, str | int) or isinstance(job_id, bool) or job_id == "":
        raise BackupError(f"{where}: missing id")
    if record.get("status") not in JOB_STATUSES:
        raise BackupError(f"{where}: invalid status {record.get('status')!r}")
    if not isinstance(record.get("type"), str):
        raise BackupError(f"{where}: missing type")
    out: list[Any] = []
    for col in COLUMNS:
        value = record.get(col)
        if col in _INT_COLUMNS:
            value = 0 if value is None else value
            if isinstance(value, bool) or not isinstance(value, int):
                raise BackupError(f"{where}: {col} is not a whole number")
        elif col in TIME_COLUMNS:
            if value is None:
                if col in ("created_at", "updated_at"):
                    raise BackupError(f"{where}: missing {col}")
            elif not (d.sqlite and isinstance(value, str) and _is_canonical(value)):
                try:
                    value = d.ts(parse_time(value))
                except (TypeError, ValueError):
                    raise BackupError(f"{where}: {col} is not a timestamp") from None
        elif col == "payload":
            value = None if value is None else json.dumps(value)
        elif col == "id":
            value = str(value)
        elif value is not None and not isinstance(value, str):
            raise BackupError(f"{where}: {col} is not text")
        out.append(value)
    return tuple(out)
