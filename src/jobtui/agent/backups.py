"""Backups of the jobs table: streamed out, verified, restored by upsert, pruned.

A backup is two files in the backup directory:

- ``jobs_backup_<UTC time>.json`` (or ``.json.gz``): a JSON array of the table's rows, one
  row per line, in the seed's format (the table's own column names);
- ``jobs_backup_<UTC time>.json.meta.json``: its header: format, schema version, job count,
  SHA-256 of the data file's bytes.

Both are written to hidden temporary files (0600, in a 0700 folder: a backup holds every
payload), fsynced and renamed, data first: a crash never leaves a file that lists as a complete
backup. Each backup takes a name of its own, however many start in the same millisecond.
Symbolic links in the folder are not backups: they are neither listed nor read.

Restore hashes the bytes it reads as it reads them and compares the checksum before anything
is committed; it checks every record before it is written and upserts by id in one
transaction: a bad record anywhere, or a file changed since it was listed, rolls it all back.
A dry run reads and checks exactly as a restore does, so it finds every problem one would.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import gzip
import hashlib
import io
import json
import operator
import os
import re
import stat
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text

from jobtui.agent import schema
from jobtui.agent.store import JobStore, text_problem
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
NAME = re.compile(
    r"jobs_backup_(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(?:\.\d+)?Z)\.json(\.gz)?"
)  # fullmatch
BATCH = 2000
KEEP_COUNT = 50  # backups kept at most (the newest always is)
INT_MAX = 2**31 - 1  # PostgreSQL's INTEGER: progress, attempts and max_attempts fit it on both
MAX_ID = 255  # characters in an id or a type (both are indexed; PostgreSQL caps an index entry)
MAX_DEPTH = 512  # containers nested in a record; deeper ones are refused the same way however deep
NOFOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
RESTORE_CACHE_KB = 32768
BULK_MIN = 5000  # restores at least this big (and a tenth of the table) load in bulk


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, in one line."""


class NoSuchBackup(BackupError):
    pass


class BackupDiskFull(BackupError):
    """The backup folder's disk (or the user's quota there) has no room left (507)."""


@dataclass(frozen=True, slots=True)
class Header:
    jobs: int
    sha256: str
    schema_version: int
    created_at: datetime


def backup_name(now: datetime, gz: bool) -> str:
    """The seed's name: ``jobs_backup_`` + ISO time with ``-`` for ``:``."""
    return f"jobs_backup_{iso(now).replace(':', '-')}.json" + (".gz" if gz else "")


class _HashingReader(io.RawIOBase):
    """Hashes the file's bytes as they are read: restore checks what it restored, not what
    an earlier read of the same name found."""

    def __init__(self, raw: io.FileIO):
        self.raw, self.sha = raw, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.raw.readinto(b) or 0
        if n:
            self.sha.update(memoryview(b)[:n])
        return n

    def digest(self) -> str:
        """The SHA-256 of the whole file: what is left is read (and hashed) first."""
        for block in iter(lambda: self.raw.read(1 << 20), b""):
            self.sha.update(block)
        return self.sha.hexdigest()


def _open_regular(path: Path) -> io.FileIO:
    """``path`` opened for reading, refusing a symbolic link or anything but a plain file."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW)
    except OSError as exc:
        if os.path.islink(path):
            raise BackupError(f"{path.name} is a symbolic link, not a backup") from None
        raise BackupError(f"{path.name}: cannot read it: {exc.strerror or exc}") from None
    f = io.FileIO(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        f.close()
        raise BackupError(f"{path.name} is not a plain file, not a backup")
    return f


def _key(name: str, st: os.stat_result) -> tuple[str, int, int, int, int]:
    """What identifies one version of a file: a change in place with its mtime put back
    still changes its ctime."""
    return (name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


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


def _private_temp(directory: Path, name: str) -> tuple[int, Path]:
    """A new hidden temporary for ``name`` (0600, created exclusively: never an existing file
    or a link) that :meth:`Backups._clean_partials` recognises."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=directory)
    return fd, Path(tmp)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = _private_temp(path.parent, path.name)
    try:
        with open(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # replaces a link at ``path``, never writes through it
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def default_dir(store: JobStore, env: Mapping[str, str] = os.environ) -> Path:
    """Where backups go when ``agent.backups.dir`` is not set: a ``backups`` folder beside a
    SQLite database file, else ``$XDG_STATE_HOME/jobtui/backups`` (``~/.local/state/…``);
    never the working directory of whoever started the agent."""
    database = store.engine.url.database
    if store.d.sqlite and database:  # a SQLite store is always a file (db.open_engine)
        return Path(database).expanduser().resolve().parent / "backups"
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base).expanduser() / "jobtui" / "backups"


class Backups:
    """The backup directory of one agent."""

    def __init__(
        self,
        store: JobStore,
        directory: str | Path,
        *,
        gz: bool = False,
        keep_count: int = KEEP_COUNT,
    ):
        self.store = store
        self.dir = Path(directory).expanduser().resolve()
        self.gz = gz
        self.keep_count = max(1, keep_count)
        self._verified: dict[tuple[str, int, int, int, int], str | None] = {}  # _key → problem

    # ------------------------------------------------------------------ backup

    def create(self, now: datetime | None = None) -> BackupResult:
        now = now or utcnow()
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise BackupError(f"cannot create backup folder {self.dir}: {exc.strerror}") from None
        self._clean_partials()
        start = time.perf_counter()
        tmp: Path | None = None
        final: Path | None = None
        try:
            fd, tmp = _private_temp(self.dir, backup_name(now, self.gz))
            with open(fd, "wb") as raw:
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
            name = self._claim(tmp, now)
            final = self.dir / name
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
            # Everything of this backup goes, the data file first: a data file named as a
            # backup whose header could not be written would be listed.
            for left in (tmp, final, final and self._meta(final)):
                if left is not None:
                    with contextlib.suppress(OSError):
                        left.unlink()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise BackupDiskFull(
                    f"backup to {self.dir} failed: the disk is full ({exc.strerror})"
                ) from None
            raise BackupError(f"backup to {self.dir} failed: {exc.strerror or exc}") from None
        st = final.stat()
        size = st.st_size
        self._verified[_key(name, st)] = None
        self.prune(None)  # the count cap: the oldest beyond ``keep_count`` go
        return BackupResult(
            name=name,
            jobs=count,
            size=size,
            sha256=hashing.sha.hexdigest(),
            seconds=round(time.perf_counter() - start, 3),
        )

    def _claim(self, tmp: Path, now: datetime) -> str:
        """Give the finished temporary its name: the backup's time, or the next free
        millisecond when another backup has it (a hard link never replaces a file). The
        temporary goes once the name is taken."""
        when = now
        for _ in range(10_000):
            name = backup_name(when, self.gz)
            try:
                os.link(tmp, self.dir / name)
            except FileExistsError:
                when += timedelta(milliseconds=1)
                continue
            tmp.unlink()
            return name
        raise OSError(f"no free backup name near {backup_name(now, self.gz)}")

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
        if not NAME.fullmatch(name):
            raise NoSuchBackup(f"no backup named {name!r}")
        path = self.dir / name
        try:
            mode = path.lstat().st_mode
        except OSError:
            raise NoSuchBackup(f"no backup named {name!r} in {self.dir}") from None
        if stat.S_ISLNK(mode):
            raise BackupError(f"refusing to restore: {name} is a symbolic link, not a backup")
        if not stat.S_ISREG(mode):
            raise NoSuchBackup(f"no backup named {name!r} in {self.dir}")
        return path

    def header(self, path: Path) -> Header:
        """The sidecar header, or BackupError saying why it is unusable."""
        meta = self._meta(path)
        if not meta.exists() and not meta.is_symlink():
            raise BackupError(f"{path.name}: no checksum file ({meta.name}): not a jobtui backup")
        try:
            with _open_regular(meta) as f:
                data = json.loads(f.read(1 << 16))
        except BackupError as exc:
            raise BackupError(f"{path.name}: unusable checksum file: {exc}") from None
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
        """None if the file's SHA-256 matches its header, else the problem (cached for this
        version of the file: size, times and inode). A listing's answer; restore checks the
        bytes it reads itself."""
        key = _key(path.name, path.lstat())
        if key not in self._verified:
            try:
                header = self.header(path)
                with _open_regular(path) as f:
                    digest = _HashingReader(f).digest()
                    key = _key(path.name, os.fstat(f.fileno()))
                self._verified[key] = _mismatch(path.name, digest, header)
            except BackupError as exc:
                self._verified[key] = str(exc)
        return self._verified[key]

    def _files(self) -> list[Path]:
        """The backups, newest first: plain files named as backups (no links, no folders)."""
        try:
            with os.scandir(self.dir) as it:
                found = [
                    (m.group(1), e.name)
                    for e in it
                    if (m := NAME.fullmatch(e.name)) and e.is_file(follow_symlinks=False)
                ]
        except OSError:
            return []
        found.sort(key=lambda f: (_name_time(f[0]), f[1]), reverse=True)
        return [self.dir / name for _, name in found]

    def newest(self) -> datetime | None:
        """When the newest backup was taken (by its name), or None when there is none."""
        files = self._files()
        m = NAME.fullmatch(files[0].name) if files else None
        return _name_time(m.group(1)) if m else None

    def list(self) -> BackupList:
        out = []
        for path in self._files():
            problem = self.verify(path)
            try:
                header: Header | None = self.header(path)
            except BackupError:
                header = None
            m = NAME.fullmatch(path.name)
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

    def restore(self, name: str, *, dry_run: bool = False) -> RestoreResult:
        """Read and check every record, then upsert them by id in one transaction. The
        file's checksum is computed over the bytes read and compared, with the job count and
        the ids (each at most once), before anything is committed: any problem rolls
        everything back, so the table is never left half-restored. On SQLite each batch of
        records is checked before it is written, on PostgreSQL every record before the table
        is touched. A dry run reads and checks the same way and only counts."""
        path = self._path(name)
        header = self.header(path)
        known = self._verified.get(_key(name, path.lstat()))
        if known:  # already found bad in this very version of the file
            raise BackupError(f"refusing to restore: {known}")
        if header.schema_version > schema.SCHEMA_VERSION:
            raise BackupError(
                f"refusing to restore: {name} has schema version {header.schema_version}, "
                f"newer than this agent's {schema.SCHEMA_VERSION}"
            )
        if dry_run:
            with self.store.read() as conn, _IdLog(conn, self.store.d) as ids:
                count, existing = 0, 0
                for first, chunk in self._batches(path, header):
                    ids.add(first, chunk)
                    count += len(chunk)
                    existing += self._existing(conn, [r[0] for r in chunk])
                _duplicate(conn, ids.table, name)
            return RestoreResult(
                name=name, jobs=count, inserted=count - existing, updated=existing, dry_run=True
            )
        load = self._upsert_all if self.store.d.sqlite else self._copy_all
        count, inserted = load(path, name, header)
        return RestoreResult(name=name, jobs=count, inserted=inserted, updated=count - inserted)

    def _batches(
        self, path: Path, header: Header
    ) -> Iterator[tuple[int, builtins.list[tuple[Any, ...]]]]:
        """Checked records as bind tuples (in COLUMNS order), a batch at a time, with the
        number of the batch's first record. The bytes are hashed as they are read: once the
        file is read to its end, a checksum other than the header's (a file changed since it
        was listed, or while it is read) raises, and so does a job count other than the
        header's. A bad record in a file that does not match its checksum is reported as
        the mismatch it is."""
        d, name = self.store.d, path.name
        with _open_regular(path) as f:
            hashing = _HashingReader(f)
            buffered = io.BufferedReader(hashing, 1 << 20)
            stream: io.BufferedIOBase = (
                gzip.GzipFile(fileobj=buffered, mode="rb") if name.endswith(".gz") else buffered
            )
            count = 0
            try:
                for first, records, suspects in _chunks(stream, name):
                    batch: builtins.list[tuple[Any, ...]] = []
                    for i, record in enumerate(records):
                        n = first + i
                        if i in suspects and (problem := _hostile(record)):
                            raise BackupError(f"{name}: record {n}: {problem}")
                        row = _canonical(record)
                        batch.append(row if row is not None else _bind(record, n, name, d))
                    count += len(batch)
                    yield first, batch
            except (BackupError, OSError, EOFError, zlib.error) as exc:
                self._check_digest(f, hashing, name, header)
                if isinstance(exc, BackupError):
                    raise
                raise BackupError(f"{name}: unreadable: {exc}") from None
            self._check_digest(f, hashing, name, header)
        if count != header.jobs:
            raise BackupError(
                f"refusing to restore: {name} has {count} jobs, its header says {header.jobs}"
            )

    def _check_digest(
        self, f: io.FileIO, hashing: _HashingReader, name: str, header: Header
    ) -> None:
        """Finish hashing the open file and raise unless it matches the header; the result
        is what a listing of this version of the file shows from now on."""
        try:
            problem = _mismatch(name, hashing.digest(), header)
        except OSError as exc:
            problem = f"{name}: unreadable: {exc.strerror or exc}"
        self._verified[_key(name, os.fstat(f.fileno()))] = problem
        if problem:
            raise BackupError(f"refusing to restore: {problem}")

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
                with _IdLog(conn, d) as ids:
                    for first, chunk in self._batches(path, header):
                        if not bulk and (
                            header.jobs - before >= threshold  # at least that many inserts
                            or (count and written * header.jobs >= threshold * count)
                        ):
                            bulk = True
                            if d.sqlite:  # room to sort while the indexes are rebuilt
                                conn.exec_driver_sql(f"PRAGMA cache_size = -{RESTORE_CACHE_KB}")
                            schema.drop_triggers(conn, d)
                            schema.drop_indexes(conn)
                        ids.add(first, chunk)
                        written += conn.exec_driver_sql(sql, chunk).rowcount
                        count += len(chunk)
                    _duplicate(conn, ids.table, name)  # raises: the transaction rolls back
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
                for _, chunk in self._batches(path, header):
                    for row in chunk:
                        copy.write_row(row)
                    count += len(chunk)
            _duplicate(conn, "jobtui_restore", name)  # raises: the transaction rolls back
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
            conn.exec_driver_sql(
                f"INSERT INTO background_jobs AS j ({cols}) "
                f"SELECT {cols} FROM jobtui_restore "
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

    def prune(self, older_than: timedelta | None, now: datetime | None = None) -> PruneResult:
        """Delete backups older than ``older_than`` (None: no age rule) and the oldest beyond
        ``keep_count``; the newest one is always kept."""
        now = now or utcnow()
        files = self._files()
        deleted = []
        for i, path in enumerate(files[1:], start=1):  # newest first: files[0] stays
            m = NAME.fullmatch(path.name)
            when = _name_time(m.group(1)) if m else None
            too_old = older_than is not None and when is not None and now - when > older_than
            if too_old or i >= self.keep_count:
                path.unlink(missing_ok=True)
                self._meta(path).unlink(missing_ok=True)
                deleted.append(path.name)
        return PruneResult(deleted=tuple(deleted), kept=len(files) - len(deleted))

    def _clean_partials(self) -> None:
        """Remove temporaries a crashed backup left (older than a minute)."""
        cutoff = time.time() - 60
        for p in self.dir.glob(".jobs_backup_*.partial"):
            with contextlib.suppress(OSError):
                if p.lstat().st_mtime < cutoff:
                    p.unlink()


def _mismatch(name: str, digest: str, header: Header) -> str | None:
    return None if digest == header.sha256 else f"{name}: checksum mismatch (corrupt or changed)"


class _IdLog:
    """The ids a restore read, with their record numbers, in a temporary table of the
    restore's own connection: duplicates are found by one query at the end, without holding
    a million ids in memory. A dry run and a restore keep the same log."""

    table = "jobtui_restore_ids"

    def __init__(self, conn: Any, d: Any):
        self.conn, self.d = conn, d

    def __enter__(self) -> _IdLog:
        if self.d.sqlite:
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{self.table}")
            self.conn.exec_driver_sql(f"CREATE TEMP TABLE {self.table} (n INTEGER, id TEXT)")
        else:
            self.conn.exec_driver_sql(
                f"CREATE TEMP TABLE {self.table} (n BIGINT, id TEXT) ON COMMIT DROP"
            )
        return self

    def add(self, first: int, rows: builtins.list[tuple[Any, ...]]) -> None:
        pairs = [(first + i, row[0]) for i, row in enumerate(rows)]
        if self.d.sqlite:
            self.conn.exec_driver_sql(f"INSERT INTO temp.{self.table} VALUES (?, ?)", pairs)
            return
        raw: Any = self.conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {self.table} (n, id) FROM STDIN") as copy:
            for pair in pairs:
                copy.write_row(pair)

    def __exit__(self, *exc: object) -> None:
        # SQLite keeps a temporary table for the connection's life (it goes back to the
        # pool); PostgreSQL's goes with the transaction.
        if self.d.sqlite:
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{self.table}")


def _duplicate(conn: Any, table: str, name: str) -> None:
    """Refuse a restore whose records name one id more than once (``table``: their ids and
    record numbers): which of them would win is not the operator's choice to guess."""
    row = conn.exec_driver_sql(
        f"SELECT id, MIN(n), MAX(n) FROM {table} GROUP BY id HAVING COUNT(*) > 1 ORDER BY 2 LIMIT 1"
    ).first()
    if row is not None:
        raise BackupError(
            f"{name}: record {row[2]}: duplicate id {row[0]!r} (also record {row[1]})"
        )


def _name_time(stamp: str) -> datetime:
    date, _, clock = stamp.partition("T")
    try:
        return parse_time(f"{date}T{clock.replace('-', ':')}")
    except (ValueError, OverflowError):
        return datetime.fromtimestamp(0, UTC)


_INT_COLUMNS = ("progress", "attempts", "max_attempts")
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


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


def _chunks(
    f: io.BufferedIOBase, name: str
) -> Iterator[tuple[int, list[Any], range | frozenset[int]]]:
    """The records of a backup, streamed a batch at a time: (number of the batch's first
    record, its records, the indexes of those that need :func:`_hostile`). The file is one
    JSON object a line between ``[`` and ``]``."""
    first = f.readline().strip()
    if first != b"[":
        raise BackupError(f"{name}: not a JSON array of jobs")
    lines: list[bytes] = []
    n = 1
    for raw in f:
        line = raw.strip()
        if line == b"]":
            if lines:
                yield n, *_parse(lines, n, name)
            return
        lines.append(line.rstrip(b","))
        if len(lines) == BATCH:
            yield n, *_parse(lines, n, name)
            n += len(lines)
            lines = []
    raise BackupError(f"{name}: truncated (no closing bracket)")


# What a NUL or a lone surrogate looks like in a JSON text read as UTF-8 (an escape, or the
# bytes of a surrogate, which the JSON decoder lets through): a batch without any needs no
# string checked. Raw NUL bytes are not valid JSON.
_ESCAPES = (b"\\u0000", b"\\ud", b"\\uD")


def _parse(lines: list[bytes], first: int, name: str) -> tuple[list[Any], range | frozenset[int]]:
    """Parse a batch of lines as one JSON array (one call, not one per line); if that fails,
    find the first line that is not valid JSON on its own. Always as UTF-8 (never the UTF-16
    or 32 the decoder would guess from NUL bytes)."""
    joined = b"[" + b",".join(lines) + b"]"
    records: list[Any] | None = None
    try:
        records = json.loads(joined.decode("utf-8", "surrogatepass"))
        if len(records) != len(lines):
            records = None
    except (ValueError, RecursionError):
        pass
    if records is None:
        records = []
        for n, line in enumerate(lines, start=first):
            try:
                records.append(json.loads(line.decode("utf-8", "surrogatepass")))
            except RecursionError:
                raise BackupError(f"{name}: record {n}: {_TOO_DEEP}") from None
            except ValueError:
                raise BackupError(f"{name}: record {n} is not valid JSON") from None
    if b"\xed" in joined or (b"\\u" in joined and any(m in joined for m in _ESCAPES)):
        return records, range(len(lines))
    # Nesting deeper than MAX_DEPTH takes more than twice as many bytes: only such long
    # lines can hold it.
    long = 2 * MAX_DEPTH
    if max(map(len, lines)) <= long:
        return records, frozenset()
    return records, frozenset(
        i
        for i, line in enumerate(lines)
        if len(line) > long and line.count(b"[") + line.count(b"{") > MAX_DEPTH
    )


def _hostile(record: Any) -> str | None:
    """The first column of a record whose text (in the payload: any key or string) neither
    store can keep, or whose nesting is deeper than ``MAX_DEPTH``; None if there is none.
    Only records :func:`_parse` marks are walked."""
    if not isinstance(record, dict):
        return None  # _bind says what it is
    for col in COLUMNS:
        stack = [(record.get(col), 0)]
        while stack:
            value, depth = stack.pop()
            if isinstance(value, str):
                if problem := text_problem(value):
                    return f"{col} {problem}"
            elif isinstance(value, dict | list):
                if depth >= MAX_DEPTH:
                    return _TOO_DEEP
                if isinstance(value, dict):
                    for key, item in value.items():
                        if problem := text_problem(key):
                            return f"{col} {problem}"
                        stack.append((item, depth + 1))
                else:
                    stack.extend((item, depth + 1) for item in value)
    return None


def _payload(value: Any) -> str | None:
    """The payload as JSON text; ValueError for NaN or an infinity, which JSON cannot carry
    (PostgreSQL's JSONB refuses them, SQLite would keep invalid JSON)."""
    return None if value is None else json.dumps(value, allow_nan=False)


def _reachable(job_id: str) -> bool:
    """An id the API can name in ``/api/jobs/{id}``, short enough for either store's index."""
    return len(job_id) <= MAX_ID and "/" not in job_id and job_id not in (".", "..", "bulk")


def _canonical(record: Any) -> tuple[Any, ...] | None:
    """Bind values for a record exactly as a backup writes it (every column present, whole
    numbers in range, canonical UTC timestamps), else None: :func:`_bind` then checks it in
    full. Canonical timestamps bind as text on both stores (PostgreSQL parses them)."""
    try:
        v = _values(record)
    except (KeyError, TypeError):
        return None
    job_id, type_, status, progress, message, payload, error, attempts, max_attempts = v[:9]
    created, updated, started, completed = v[9:]
    if (
        type(job_id) is str
        and job_id
        and _reachable(job_id)
        and type(type_) is str
        and len(type_) <= MAX_ID
        and type(status) is str
        and status in _STATUSES
        and type(progress) is int
        and 0 <= progress <= INT_MAX
        and type(attempts) is int
        and 0 <= attempts <= INT_MAX
        and type(max_attempts) is int
        and 0 <= max_attempts <= INT_MAX
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
        try:
            return (*v[:5], _payload(payload), *v[6:])
        except ValueError:
            return None
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
            if not 0 <= value <= INT_MAX:
                raise BackupError(f"{where}: {col} is out of range (0 to {INT_MAX:,})")
        elif col in TIME_COLUMNS:
            if value is None:
                if col in ("created_at", "updated_at"):
                    raise BackupError(f"{where}: missing {col}")
            elif not (d.sqlite and isinstance(value, str) and _is_canonical(value)):
                try:
                    value = d.ts(parse_time(value))
                except OverflowError:
                    raise BackupError(f"{where}: {col} is out of range") from None
                except (TypeError, ValueError):
                    raise BackupError(f"{where}: {col} is not a timestamp") from None
        elif col == "payload":
            try:
                value = _payload(value)
            except ValueError:
                raise BackupError(
                    f"{where}: payload holds NaN or Infinity, which JSON cannot carry"
                ) from None
        elif col == "id":
            value = str(value)
            if len(value) > MAX_ID:
                raise BackupError(f"{where}: id is longer than {MAX_ID} characters")
            if not _reachable(value):
                raise BackupError(f"{where}: id {value!r} cannot be named in an API path")
        elif value is not None and not isinstance(value, str):
            raise BackupError(f"{where}: {col} is not text")
        elif col == "type" and isinstance(value, str) and len(value) > MAX_ID:
            raise BackupError(f"{where}: type is longer than {MAX_ID} characters")
        out.append(value)
    return tuple(out)
