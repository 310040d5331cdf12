"""Logging with the seed's levels (error, warn, info, http, debug), set up once per process.

Where lines go (the seed's Winston transports): the console (stderr); rotating files
``<dir>/error.log`` (errors only) and ``<dir>/all.log`` (everything at the chosen level);
syslog, as Papertrail takes it (RFC 5424 over UDP, TCP or TLS), when configured. Lines are text
for people or JSON (one object per line) for log shippers. Every handler scrubs the secrets it
is given (tokens, passwords), so none reaches a log.

- :mod:`.patterns` — the seed's critical, warning and success patterns, a line's level
- :mod:`.analyze` — ``jobtui logs analyze``: the seed's log analysis report, streamed
- :mod:`.view` — tail and colour a log file (the dashboard's log view)
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import logging
import logging.handlers
import os
import queue
import re
import socket
import ssl
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from jobtui.config import Config

HTTP = 15  # between INFO and DEBUG, as the seed's winston levels have it
logging.addLevelName(HTTP, "HTTP")
logging.addLevelName(logging.WARNING, "WARN")
LEVELS = {"error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO,
          "http": HTTP, "debug": logging.DEBUG}  # fmt: skip
LEVEL_NAMES = tuple(LEVELS)
Format = Literal["text", "json"]
FORMATS: tuple[Format, ...] = ("text", "json")
Protocol = Literal["udp", "tcp", "tls"]

TEXT_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s"
TEXT_DATEFMT = "%Y-%m-%d %H:%M:%S"


class LoggingError(Exception):
    """Logging cannot be set up as asked (a log directory that cannot be written)."""


@dataclass(frozen=True, slots=True)
class SyslogConfig:
    """A syslog destination; for Papertrail: its ``logsN.papertrailapp.com`` host and port."""

    host: str
    port: int = 514
    protocol: Protocol = "udp"
    hostname: str = field(default_factory=socket.gethostname)  # the seed: PAPERTRAIL_HOSTNAME
    program: str = "jobtui"  # the seed: "background-jobs"
    ca_file: str | None = None  # TLS: a private CA


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    """The ``logging:`` section. ``dir`` None means the command's default (``logs`` for
    ``jobtui serve``, no files for the others)."""

    level: str | None = None
    format: Format = "text"
    dir: Path | None = None
    files: bool = True
    max_size: int = 10 * 1024 * 1024  # bytes per file before it rotates
    backups: int = 5  # rotated files kept (error.log.1 … error.log.5)
    syslog: SyslogConfig | None = None
    agent_log: Path | None = None  # the agent's all.log, for the dashboard's log view

    def agent_log_path(self) -> Path | None:
        """The agent's ``all.log`` when known: ``agent_log``, else ``<dir>/all.log``."""
        if self.agent_log is not None:
            return self.agent_log
        return self.dir / "all.log" if self.dir is not None and self.files else None


# --------------------------------------------------------------------------- config

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_UNIT = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(value: Any) -> int:
    """``1048576``, ``"512KB"``, ``"10MB"``, ``"1GB"`` → bytes."""
    if isinstance(value, bool):
        raise ValueError(f"expected a size like 10MB, got {value!r}")
    if isinstance(value, int | float):
        return int(value)
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"expected a size like 512KB, 10MB or 1GB, got {value!r}")
    unit = (m.group(2) or "").lower()[:1]
    return int(float(m.group(1)) * _SIZE_UNIT[unit])


def load_logging_config(config: Config, env: Mapping[str, str] | None = None) -> LoggingConfig:
    """Validate the ``logging:`` section; :class:`ConfigError` names the file and the key."""
    from jobtui.config import load_section

    return load_section(config, "logging", parse_logging, env)


def parse_logging(data: Any, env: Mapping[str, str]) -> LoggingConfig:
    from jobtui.config import ConfigError, Section, one_of

    sec = Section(data, "logging", env)
    d = LoggingConfig()
    level = sec.string("level", None)
    if level is not None and level not in LEVELS:
        raise ConfigError(f"logging.level: expected one of {'|'.join(LEVELS)}, got {level!r}")
    fmt = sec.string("format", d.format)
    if not one_of(fmt, FORMATS):
        raise ConfigError(f"logging.format: expected text or json, got {fmt!r}")
    directory = sec.string("dir", None)
    try:
        max_size = parse_size(sec._get("max_size") or d.max_size)
    except ValueError as exc:
        raise ConfigError(f"logging.max_size: {exc}") from None
    if max_size < 1024:
        raise ConfigError(f"logging.max_size: must be at least 1KB, got {max_size} bytes")
    agent_log = sec.string("agent_log", None)
    cfg = LoggingConfig(
        level=level,
        format=fmt,
        dir=Path(os.path.expanduser(directory)) if directory else None,
        files=sec.boolean("files", d.files),
        max_size=max_size,
        backups=sec.integer("backups", d.backups, minimum=1),
        syslog=_syslog(sec.section("syslog")) if sec.data.get("syslog") is not None else None,
        agent_log=Path(os.path.expanduser(agent_log)) if agent_log else None,
    )
    sec.done()
    return cfg


def _syslog(sec: Any) -> SyslogConfig:
    from jobtui.config import ConfigError

    host = sec.string("host", None)
    if not host:
        raise ConfigError("logging.syslog.host: missing (for Papertrail: logsN.papertrailapp.com)")
    protocol = sec.string("protocol", "udp")
    if protocol not in ("udp", "tcp", "tls"):
        raise ConfigError(f"logging.syslog.protocol: expected udp, tcp or tls, got {protocol!r}")
    port = sec.integer("port", 514, minimum=1)
    if port > 65535:
        raise ConfigError(f"logging.syslog.port: must be at most 65535, got {port}")
    ca_file = sec.string("ca_file", None)
    if ca_file and not Path(ca_file).expanduser().is_file():
        raise ConfigError(f"logging.syslog.ca_file: no such file {ca_file!r}")
    cfg = SyslogConfig(
        host=host,
        port=port,
        protocol=protocol,
        hostname=sec.string("hostname", None) or socket.gethostname(),
        program=sec.string("program", "jobtui") or "jobtui",
        ca_file=str(Path(ca_file).expanduser()) if ca_file else None,
    )
    sec.done()
    return cfg


# --------------------------------------------------------------------------- formats


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, TEXT_DATEFMT)


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JSONFormatter(logging.Formatter):
    """One JSON object per line: timestamp (UTC), level (the seed's names), logger, message,
    any ``extra=`` fields, and the exception's text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            )[:-6]
            + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def formatter(fmt: Format) -> logging.Formatter:
    return JSONFormatter() if fmt == "json" else TextFormatter()


# --------------------------------------------------------------------------- syslog

_SEVERITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6,
             HTTP: 6, logging.DEBUG: 7}  # fmt: skip
FACILITY_USER = 1


class SyslogFormatter(logging.Formatter):
    """RFC 5424: ``<PRI>1 TIMESTAMP HOST PROGRAM PID - - MESSAGE``, which Papertrail parses
    into its system and program columns. ``inner`` formats the MESSAGE part (text or JSON)."""

    def __init__(self, cfg: SyslogConfig, inner: logging.Formatter):
        super().__init__()
        self.cfg = cfg
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        severity = _SEVERITY.get(record.levelno, 6 if record.levelno > logging.DEBUG else 7)
        pri = FACILITY_USER * 8 + severity
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        message = self.inner.format(record).replace("\n", " ")
        host = self.cfg.hostname.replace(" ", "-") or "-"
        program = self.cfg.program.replace(" ", "-") or "-"
        return f"<{pri}>1 {ts[:-6]}Z {host} {program} {os.getpid()} - - {message}"


class SyslogHandler(logging.Handler):
    """Sends each record to a syslog server: one datagram (UDP), or one line on a stream
    (TCP, TLS) that is reconnected when it breaks. Run it behind a queue: it may block."""

    MAX_UDP = 8192

    def __init__(self, cfg: SyslogConfig, *, timeout: float = 5.0):
        super().__init__()
        self.cfg = cfg
        self.timeout = timeout
        self.sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        c = self.cfg
        if c.protocol == "udp":
            info = socket.getaddrinfo(c.host, c.port, type=socket.SOCK_DGRAM)[0]
            sock = socket.socket(info[0], socket.SOCK_DGRAM)
            sock.connect(info[4])
            return sock
        sock = socket.create_connection((c.host, c.port), timeout=self.timeout)
        if c.protocol == "tls":
            ctx = ssl.create_default_context(cafile=c.ca_file)
            sock = ctx.wrap_socket(sock, server_hostname=c.host)
        return sock

    def emit(self, record: logging.LogRecord) -> None:
        data = self.format(record).encode("utf-8", errors="replace")
        for attempt in (1, 2):  # a broken stream is reopened once per record
            try:
                if self.sock is None:
                    self.sock = self._connect()
                if self.cfg.protocol == "udp":
                    self.sock.send(data[: self.MAX_UDP])
                else:
                    self.sock.sendall(data + b"\n")
                return
            except OSError:
                self._drop()
                if attempt == 2:
                    self.handleError(record)

    def _drop(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None

    def close(self) -> None:
        self._drop()
        super().close()


# --------------------------------------------------------------------------- setup


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file only its owner can read (0600, each new file after a rotation
    too): logs carry job errors and payload fragments. A file found readable by others is
    made private when opened, where the process owns it."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


_listener: logging.handlers.QueueListener | None = None


def setup(
    level: str | None = None,
    config: LoggingConfig | None = None,
    *,
    default_dir: Path | None = None,
    secrets: Iterable[str] = (),
    console: bool = True,
) -> list[Path]:
    """Replace the root logger's handlers: console, files (``config.dir``, else
    ``default_dir``; none when ``config.files`` is false), syslog; every one scrubs
    ``secrets``. Returns the log files. Raises :class:`LoggingError` when a file cannot be
    opened."""
    from jobtui.alerting.redact import Redactor

    global _listener
    cfg = config or LoggingConfig()
    name = level or cfg.level or "info"
    root = logging.getLogger()
    shutdown()
    for h in list(root.handlers):
        root.removeHandler(h)
        with contextlib.suppress(Exception):
            h.close()
    logging.raiseExceptions = False  # a full disk or a lost syslog server: no traceback
    fmt = formatter(cfg.format)
    handlers: list[logging.Handler] = []
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(fmt)
        handlers.append(stream)
    files: list[Path] = []
    directory = cfg.dir if cfg.dir is not None else default_dir
    if directory is not None and cfg.files:
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            for fname, lvl in (("error.log", logging.ERROR), ("all.log", logging.NOTSET)):
                path = directory / fname
                fh = PrivateRotatingFileHandler(
                    path, maxBytes=cfg.max_size, backupCount=cfg.backups, encoding="utf-8"
                )
                fh.setLevel(lvl)
                fh.setFormatter(fmt)
                handlers.append(fh)
                files.append(path)
        except OSError as exc:
            for h in handlers:
                h.close()
            raise LoggingError(f"cannot write logs in {directory}: {exc.strerror or exc}") from None
    if cfg.syslog is not None:
        sh = SyslogHandler(cfg.syslog)
        sh.setFormatter(SyslogFormatter(cfg.syslog, fmt))
        q: queue.Queue[logging.LogRecord] = queue.Queue(10_000)
        _listener = logging.handlers.QueueListener(q, sh)
        _listener.start()
        handlers.append(_DroppingQueueHandler(q))
    redactor = Redactor(secrets)
    for h in handlers:
        h.addFilter(redactor)
        root.addHandler(h)
    root.setLevel(LEVELS.get(name, logging.INFO))
    # httpx logs every request at info: a watcher would log each poll and heartbeat.
    logging.getLogger("httpx").setLevel(logging.DEBUG if name == "debug" else logging.WARNING)
    return files


class _DroppingQueueHandler(logging.handlers.QueueHandler):
    """Never blocks the caller: when syslog cannot keep up, records are dropped."""

    def enqueue(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(record)


def shutdown(timeout: float = 2.0) -> None:
    """Flush what waits for syslog (at most ``timeout`` seconds) and stop its thread."""
    global _listener
    listener, _listener = _listener, None
    if listener is None:
        return
    deadline = time.monotonic() + timeout
    q = listener.queue  # a queue.Queue (see setup); typed as a put/get protocol
    while isinstance(q, queue.Queue) and not q.empty() and time.monotonic() < deadline:
        time.sleep(0.01)
    with contextlib.suppress(Exception):
        listener.stop()
    for h in listener.handlers:
        h.close()


atexit.register(shutdown)
