"""The watch's state file: firing alerts, what each notifier was sent, and silences.

One JSON file, written atomically (temp file, fsync, rename, fsync of the directory) under an
advisory lock, so a crash never leaves half a file and ``jobtui silence`` can change silences
while ``jobtui watch`` runs. A second lock, held for the daemon's lifetime, keeps two watchers
from sharing one state file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from jobtui.alerting.engine import Alert, Sent
from jobtui.alerting.observe import ALL_RULES
from jobtui.alerting.progress import EMPTY, Run, decode_run, encode_run
from jobtui.contract import iso, parse_time

VERSION = 1
ALL = "all"  # a silence for every rule (a maintenance window)
T = TypeVar("T")


class StateError(Exception):
    """The state file cannot be used; the message names it."""


@dataclass(slots=True)
class Silence:
    id: str
    rule: str  # a rule name, or "all"
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def covers(self, rule: str) -> bool:
        return self.rule in (ALL, rule)


@dataclass(slots=True)
class WatchState:
    alerts: dict[str, Alert] = field(default_factory=dict)
    silences: list[Silence] = field(default_factory=list)
    updated_at: datetime | None = None
    progress: Run = EMPTY  # what the polls saw of processing (alerting/progress.py)

    def silenced(self, now: datetime) -> set[str]:
        """The rules an active silence covers."""
        return {r for s in self.silences if s.active(now) for r in ALL_RULES if s.covers(r)}


def new_silence_id() -> str:
    return secrets.token_hex(4)


# --------------------------------------------------------------------------- the file


class StateFile:
    def __init__(self, path: Path):
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self.daemon_lock_path = path.with_name(path.name + ".daemon")

    def read(self) -> WatchState:
        with self._locked(fcntl.LOCK_SH):
            return self._load()

    def update(self, change: Callable[[WatchState], T]) -> T:
        """Read, change and write back, holding the lock throughout."""
        with self._locked(fcntl.LOCK_EX):
            state = self._load()
            result = change(state)
            self._write(state)
            return result

    @contextlib.contextmanager
    def daemon(self) -> Iterator[None]:
        """Be the only watcher of this state file, or raise :class:`StateError`."""
        self._mkdir()
        fd = os.open(self.daemon_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise StateError(
                    f"{self.path}: another `jobtui watch` (pid {other}) uses this state file"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ internals

    def _mkdir(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StateError(f"{self.path.parent}: cannot create: {exc.strerror}") from None

    @contextlib.contextmanager
    def _locked(self, how: int) -> Iterator[None]:
        self._mkdir()
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateError(f"{self.lock_path}: cannot open: {exc.strerror}") from None
        try:
            fcntl.flock(fd, how)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _load(self) -> WatchState:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return WatchState()
        except (OSError, UnicodeDecodeError) as exc:
            raise StateError(f"{self.path}: cannot read: {exc}") from None
        try:
            return decode_state(json.loads(text))
        except (ValueError, KeyError, TypeError) as exc:
            raise StateError(
                f"{self.path}: not a valid jobtui state file ({exc}); move it away to start afresh"
            ) from None

    def _write(self, state: WatchState) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        data = json.dumps(encode_state(state), indent=1, sort_keys=True).encode()
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StateError(f"{self.path}: cannot write: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------- JSON


def _t(dt: datetime | None) -> str | None:
    return None if dt is None else iso(dt)


def _p(value: Any) -> datetime | None:
    return None if value is None else parse_time(value)


def encode_state(state: WatchState) -> dict[str, Any]:
    return {
        "version": VERSION,
        "progress": encode_run(state.progress),
        "updatedAt": _t(state.updated_at),
        "alerts": {rule: _encode_alert(a) for rule, a in state.alerts.items()},
        "silences": [
            {
                "id": s.id,
                "rule": s.rule,
                "startsAt": iso(s.starts_at),
                "endsAt": iso(s.ends_at),
                "comment": s.comment,
                "createdBy": s.created_by,
            }
            for s in state.silences
        ],
    }


def _encode_alert(a: Alert) -> dict[str, Any]:
    return {
        "phase": a.phase,
        "level": a.level,
        "bad": a.bad,
        "critical": a.critical,
        "calm": a.calm,
        "good": a.good,
        "startedAt": _t(a.started_at),
        "resolvedAt": _t(a.resolved_at),
        "text": a.text,
        "nowText": a.now_text,
        "recommendation": a.recommendation,
        "value": a.value,
        "threshold": a.threshold,
        "notified": {
            name: {"status": s.status, "level": s.level, "at": iso(s.at)}
            for name, s in a.notified.items()
        },
    }


def decode_state(data: Any) -> WatchState:
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f"expected version {VERSION}")
    alerts = {}
    for rule, a in data["alerts"].items():
        if a["phase"] not in ("pending", "firing", "resolved"):
            raise ValueError(f"alert {rule}: bad phase {a['phase']!r}")
        if a["level"] not in ("warning", "critical"):
            raise ValueError(f"alert {rule}: bad level {a['level']!r}")
        alerts[rule] = Alert(
            rule=rule,
            phase=a["phase"],
            level=a["level"],
            bad=int(a["bad"]),
            critical=int(a["critical"]),
            calm=int(a["calm"]),
            good=int(a["good"]),
            started_at=_p(a["startedAt"]),
            resolved_at=_p(a["resolvedAt"]),
            text=str(a["text"]),
            now_text=str(a["nowText"]),
            recommendation=str(a["recommendation"]),
            value=a["value"],
            threshold=a["threshold"],
            notified={
                name: Sent(s["status"], s["level"], parse_time(s["at"]))
                for name, s in a["notified"].items()
            },
        )
    silences = [
        Silence(
            id=str(s["id"]),
            rule=str(s["rule"]),
            starts_at=parse_time(s["startsAt"]),
            ends_at=parse_time(s["endsAt"]),
            comment=str(s["comment"]),
            created_by=str(s["createdBy"]),
        )
        for s in data["silences"]
    ]
    progress = decode_run(data.get("progress"))  # absent in files of earlier versions
    return WatchState(alerts, silences, _p(data.get("updatedAt")), progress)
