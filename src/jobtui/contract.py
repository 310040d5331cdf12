"""The wire contract (v1): typed shapes shared by the agent, the client and every command.

Each shape is a frozen dataclass whose field names are the snake_case form of the JSON's
camelCase keys. :func:`decode` turns untrusted JSON into these types and raises
:class:`ShapeError` naming the exact path of the first thing that is wrong; :func:`encode`
turns them back into JSON-ready dicts. Fields that default to ``None`` are optional on the
wire (the contract's "(+)" fields): a server may leave them out.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, get_args, get_origin

Status = Literal["healthy", "warning", "critical"]
JobStatus = Literal["pending", "processing", "completed", "failed", "cancelled"]
Priority = Literal["low", "medium", "high", "critical"]
BulkAction = Literal["retry", "cancel"]

STATUSES: tuple[str, ...] = get_args(Status)
JOB_STATUSES: tuple[str, ...] = get_args(JobStatus)
PRIORITIES: tuple[Priority, ...] = get_args(Priority)


class ShapeError(ValueError):
    """JSON that does not have the contract's shape; the message names the path."""


# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True, slots=True)
class SystemStatus:
    monitor: bool
    manager: bool
    config: bool


@dataclass(frozen=True, slots=True)
class HealthMetrics:
    queue_depth: int
    processing_capacity: int
    success_rate: float
    average_processing_time: float
    jobs_per_hour: int
    error_rate: float
    wait_time: float | None = None
    resource_utilization: float | None = None
    last_processed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HealthDetails:
    alerts: tuple[str, ...]
    recommendations: tuple[str, ...]
    stuck_jobs_count: int


@dataclass(frozen=True, slots=True)
class Operational:
    auto_processing_enabled: bool
    metrics_collection_enabled: bool
    processing_interval: int
    max_concurrent_jobs: int


@dataclass(frozen=True, slots=True)
class Health:
    """``GET /api/jobs/health``."""

    status: Status
    message: str
    timestamp: datetime
    system_status: SystemStatus
    metrics: HealthMetrics
    health: HealthDetails
    operational: Operational


@dataclass(frozen=True, slots=True)
class PerformanceMetrics:
    """One sample of ``GET /api/monitoring/metrics``. The (+) host fields are the sampling
    agent's host: CPU and memory in percent (means since the previous sample), the 5-minute
    load average and the CPU count it is judged against."""

    timestamp: datetime
    queue_depth: float
    processing_rate: float
    success_rate: float
    error_rate: float
    average_processing_time: float
    resource_utilization: float
    jobs_per_hour: float
    jobs_per_day: float
    cpu_percent: float | None = None
    memory_percent: float | None = None
    load_average: float | None = None
    cpu_count: int | None = None


@dataclass(frozen=True, slots=True)
class MetricsHistory:
    count: int
    timespan: str
    metrics: tuple[PerformanceMetrics, ...]


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    type: str
    status: JobStatus
    progress: int
    message: str | None
    error: str | None
    attempts: int
    max_attempts: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    actions: tuple[str, ...] | None = None  # (+) what can be done on it now, e.g. ("retry",)


@dataclass(frozen=True, slots=True)
class JobsPage:
    jobs: tuple[Job, ...]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class BulkRequest:
    """``POST /api/jobs/bulk`` (admin): retry or cancel every job matching the filter.
    ``category`` (the seed's error categories) looks back ``hours`` (24 unless given; without
    a category, ``hours`` is optional); ``limit`` takes the oldest n first; ``dryRun`` writes
    nothing."""

    action: BulkAction
    status: JobStatus | None = None
    type: str | None = None
    q: str | None = None
    queue: str | None = None
    category: str | None = None
    hours: int | None = None
    limit: int | None = None
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class BulkResult:
    """``POST /api/jobs/bulk``: ``matched`` jobs, of which ``changed`` were written and
    ``skipped`` had changed status meanwhile; ``sample``: the first matched, oldest first."""

    matched: int
    changed: int
    skipped: int
    sample: tuple[Job, ...] = ()


@dataclass(frozen=True, slots=True)
class ErrorCategory:
    category: str
    priority: Priority
    count: int
    recommendation: str
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    sample: str | None = None
    job_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ErrorsReport:
    """``GET /api/monitoring/errors``: failed jobs grouped by category, most urgent first."""

    hours: int
    total: int
    analysed: int
    categories: tuple[ErrorCategory, ...]


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    """``POST /api/admin/recovery``; every field is optional (any 2xx is success)."""

    success: bool = True
    backup: str | None = None
    recovered: int | None = None
    message: str | None = None
    steps: tuple[RecoveryStep, ...] = ()


@dataclass(frozen=True, slots=True)
class RecoveryStep:
    step: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RecoverStuckResult:
    recovered: int
    failed: int = 0


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """One backup file of ``GET /api/admin/backups`` (newest first)."""

    name: str
    created_at: datetime
    size: int
    jobs: int | None = None
    verified: bool | None = None  # the checksum matches the file
    problem: str | None = None  # why it does not verify


@dataclass(frozen=True, slots=True)
class BackupList:
    backups: tuple[BackupInfo, ...]
    directory: str | None = None


@dataclass(frozen=True, slots=True)
class BackupResult:
    """``POST /api/admin/backups``."""

    name: str
    jobs: int
    size: int
    sha256: str | None = None
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """``POST /api/admin/backups/{name}/restore`` (``?dryRun=true`` writes nothing)."""

    name: str
    jobs: int
    inserted: int
    updated: int
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class PruneResult:
    """``DELETE /api/admin/backups?olderThanDays=N``; the newest backup is always kept."""

    deleted: tuple[str, ...]
    kept: int


@dataclass(frozen=True, slots=True)
class ApiError:
    error: str


# --------------------------------------------------------------------------- time


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z``: the contract's timestamp format."""
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    return dt.isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_time(value: str) -> datetime:
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is UTC:
        return dt
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


# --------------------------------------------------------------------------- codec


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


T = TypeVar("T")


def decode(cls: type[T], data: Any, path: str = "") -> T:
    """Build ``cls`` from untrusted JSON, or raise :class:`ShapeError` naming the path."""
    return typing.cast(T, _decode(cls, data, path or cls.__name__))


def encode(obj: Any) -> Any:
    """Turn contract objects into JSON-ready values (camelCase keys, ISO timestamps)."""
    cls: type = type(obj)  # ``type``, not mypy's ``type[Any]``, which it finds unhashable
    if cls in _PLAIN:
        return obj
    if cls is datetime:
        return iso(obj)
    if cls is tuple or cls is list:
        return [encode(v) for v in obj]
    if dataclasses.is_dataclass(obj):
        return _encoder(cls)(obj)
    return obj


_PLAIN = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _encoder(cls: type) -> Callable[[Any], dict[str, Any]]:
    """A dict builder for one dataclass, with each field's conversion chosen once from its
    type (the agent encodes hundreds of jobs per page)."""
    hints = _hints(cls)
    plain: list[tuple[str, str]] = []
    other: list[tuple[str, str, Callable[[Any], Any]]] = []
    for f in dataclasses.fields(cls):
        key, tp = camel(f.name), hints[f.name]
        args = set(get_args(tp)) - {type(None)}
        if tp in _PLAIN or get_origin(tp) is Literal or (args and args <= _PLAIN):
            plain.append((f.name, key))
        elif tp is datetime or args == {datetime}:
            other.append((f.name, key, lambda v: None if v is None else iso(v)))
        else:
            other.append((f.name, key, encode))

    def build(obj: Any) -> dict[str, Any]:
        out = {key: getattr(obj, name) for name, key in plain}
        for name, key, conv in other:
            out[key] = conv(getattr(obj, name))
        return out

    return build


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _decode(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _decode(options[0], value, path)
    if origin is Literal:
        if value not in get_args(tp):
            allowed = "|".join(get_args(tp))
            raise ShapeError(f"{path}: expected one of {allowed}, got {_describe(value)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ShapeError(f"{path}: expected a list, got {_describe(value)}")
        item = get_args(tp)[0]
        return tuple(_decode(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ShapeError(f"{path}: expected an object, got {_describe(value)}")
        hints = _hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            key = camel(f.name)
            optional = (
                f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            )
            if key not in value or (value[key] is None and optional):
                if optional:
                    continue
                raise ShapeError(f"{path}.{key}: missing")
            kwargs[f.name] = _decode(hints[f.name], value[key], f"{path}.{key}")
        return tp(**kwargs)
    return _scalar(tp, value, path)


def _scalar(tp: Any, value: Any, path: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ShapeError(f"{path}: expected true or false, got {_describe(value)}")
    if tp in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ShapeError(f"{path}: expected a number, got {_describe(value)}")
        if value != value or value in (float("inf"), float("-inf")):
            raise ShapeError(f"{path}: expected a finite number, got {value}")
        if tp is int:
            if isinstance(value, float) and not value.is_integer():
                raise ShapeError(f"{path}: expected a whole number, got {value}")
            return int(value)
        return float(value)
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # numeric ids from other servers
        raise ShapeError(f"{path}: expected a string, got {_describe(value)}")
    if tp is datetime:
        if not isinstance(value, str):
            raise ShapeError(f"{path}: expected an ISO 8601 timestamp, got {_describe(value)}")
        try:
            return parse_time(value)
        except ValueError:
            raise ShapeError(
                f"{path}: expected an ISO 8601 timestamp, got {_describe(value)}"
            ) from None
    raise TypeError(f"no decoder for {tp!r}")  # a bug in this module, not bad input


__all__ = [
    "JOB_STATUSES",
    "PRIORITIES",
    "STATUSES",
    "ApiError",
    "BackupInfo",
    "BackupList",
    "BackupResult",
    "BulkAction",
    "BulkRequest",
    "BulkResult",
    "ErrorCategory",
    "ErrorsReport",
    "Health",
    "HealthDetails",
    "HealthMetrics",
    "Job",
    "JobStatus",
    "JobsPage",
    "MetricsHistory",
    "Operational",
    "PerformanceMetrics",
    "Priority",
    "PruneResult",
    "RecoverStuckResult",
    "RecoveryResult",
    "RecoveryStep",
    "RestoreResult",
    "ShapeError",
    "Status",
    "SystemStatus",
    "decode",
    "encode",
    "iso",
    "parse_time",
    "utcnow",
]
