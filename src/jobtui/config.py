"""Configuration: one YAML file for every command, validated with errors that name the key.

Where it comes from: ``--config FILE``, else ``$XDG_CONFIG_HOME/jobtui/config.yaml`` (or
``~/.config/jobtui/config.yaml``) when it exists, else the defaults. ``config.example.yaml``
documents every key. Secrets (tokens) come from the file or, better, from the environment
variable named by ``<key>_env``; they are kept in :class:`Secret`, which never prints itself.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeGuard, TypeVar

from jobtui.contract import PRIORITIES
from jobtui.literal import address, safe_url
from jobtui.rules import (
    SEED_CRITICAL,
    SEED_ERROR_PATTERNS,
    SEED_WARNING,
    ErrorPattern,
    ErrorRules,
    Levels,
    Thresholds,
)

T = TypeVar("T")
L = TypeVar("L", bound=str)


def one_of(value: str | None, options: tuple[L, ...]) -> TypeGuard[L]:
    """Whether ``value`` is one of ``options`` (to a type checker: of their Literal type)."""
    return value in options


DEFAULT_URL = "http://127.0.0.1:8787"
DEFAULT_PORT = 8787


class ConfigError(Exception):
    """A config that cannot be used; the message names the file and the key."""


class Secret(str):
    """A string that never shows itself in ``repr`` (tracebacks, logs, debug output)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True, slots=True)
class Target:
    """One environment the dashboard and commands can talk to."""

    name: str
    url: str
    token: Secret | None = None
    token_from: str | None = None  # where the token came from, for messages (never the token)

    @property
    def address(self) -> str:
        """``host:port``: what labels and titles show (never a user or password)."""
        return address(self.url)

    @property
    def shown_url(self) -> str:
        """The URL without its user and password, for the screen."""
        return safe_url(self.url)


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """``agent.http``: bounds on the agent's connections (see :mod:`jobtui.agent.guard`)."""

    max_connections: int = 0  # 0: as many as the open-file limit leaves room for, up to 1,000
    idle_timeout: float = 5.0  # seconds a connection may wait with no request under way
    request_timeout: float = 10.0  # seconds from a request's first byte to its last
    max_header_size: int = 64 * 1024  # bytes of request line and headers
    max_body_size: int = 1024 * 1024  # bytes of a request's body (only bulk actions send one)


@dataclass(frozen=True, slots=True)
class AgentConfig:
    database: str = "sqlite:///jobtui.db"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    read_token: Secret | None = None
    admin_token: Secret | None = None
    insecure_no_auth: bool = False
    public_health: bool = True
    metrics_interval: float = 60.0  # seconds between samples
    metrics_retention: timedelta = timedelta(days=8)
    metrics_collection: bool = True  # False: no history samples are taken
    utilization_window: timedelta = timedelta(minutes=5)  # resourceUtilization's mean
    max_points: int = 500
    max_concurrent_jobs: int = 5
    processing_interval: int = 30_000  # ms, reported in `operational`
    stuck_after: timedelta = timedelta(minutes=10)
    stats_window: timedelta = timedelta(hours=24)
    backup_dir: str | None = None  # None: beside a SQLite database, else the state folder
    backup_gzip: bool = False
    backup_every_hours: float = 24.0  # the seed backs up daily; 0 turns the schedule off
    backup_keep_days: float = 7.0
    http: HttpLimits = field(default_factory=HttpLimits)
    backup_keep_count: int = 50
    sentry_traces_sample_rate: float = 0.2  # the seed's tracesSampleRate (with SENTRY_DSN set)


@dataclass(frozen=True, slots=True)
class DashboardConfig:
    health_interval: float = 5.0
    metrics_interval: float = 30.0
    jobs_page_size: int = 100
    keymap: Mapping[str, str] = field(default_factory=dict)  # binding id → key(s)


@dataclass(frozen=True, slots=True)
class CheckConfig:
    timeout: float = 10.0
    response_time_warning: float = 5.0
    response_time_critical: float = 10.0


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None = None
    targets: Mapping[str, Target] = field(default_factory=dict)
    default_target: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    errors: ErrorRules = field(default_factory=ErrorRules)
    agent: AgentConfig = field(default_factory=AgentConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    check: CheckConfig = field(default_factory=CheckConfig)
    raw: Mapping[str, Any] = field(default_factory=dict)  # sections other modules read


# --------------------------------------------------------------------------- reading

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, None: 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | float) -> timedelta:
    """``90``, ``"90s"``, ``"5m"``, ``"2h"``, ``"7d"``, ``"500ms"`` → timedelta (bare = seconds)."""
    if isinstance(text, bool):
        raise ValueError(f"expected a duration like 30s, 5m or 2h, got {text!r}")
    if isinstance(text, int | float):
        if not math.isfinite(text) or text < 0:
            raise ValueError(f"expected a positive duration, got {text}")
        seconds = float(text)
    else:
        m = _DURATION.match(str(text))
        if not m:
            raise ValueError(f"expected a duration like 30s, 5m or 2h, got {text!r}")
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"too long a duration: {text!r}") from None


class Section:
    """Reads one mapping of the config, checking types and refusing unknown keys."""

    def __init__(self, data: Any, where: str, env: Mapping[str, str]):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.where = where
        self.env = env
        self.seen: set[str] = set()

    def _fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}.{key}: {problem}" if self.where else f"{key}: {problem}")

    def _get(self, key: str) -> Any:
        self.seen.add(key)
        return self.data.get(key)

    def section(self, key: str) -> Section:
        where = f"{self.where}.{key}" if self.where else key
        return Section(self._get(key), where, self.env)

    def number(
        self, key: str, default: float, *, minimum: float = 0, maximum: float = math.inf
    ) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise self._fail(key, f"expected a finite number, got {value}")
        if value < minimum:
            raise self._fail(key, f"must be at least {minimum:g}, got {value}")
        if value > maximum:
            raise self._fail(key, f"must be at most {maximum:g}, got {value}")
        return float(value)

    def integer(
        self, key: str, default: int, *, minimum: int = 0, maximum: float = math.inf
    ) -> int:
        value = self.number(key, default, minimum=minimum, maximum=maximum)
        if not float(value).is_integer():
            raise self._fail(key, f"expected a whole number, got {value}")
        return int(value)

    def string(self, key: str, default: str | None) -> str | None:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self._fail(key, f"expected text, got {value!r}")
        return str(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, f"expected true or false, got {value!r}")
        return value

    def duration(self, key: str, default: timedelta) -> timedelta:
        value = self._get(key)
        if value is None:
            return default
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise self._fail(key, str(exc)) from None

    def secret(self, key: str, default_env: str | None = None) -> Secret | None:
        """``key`` itself, or the environment variable named by ``key_env`` (which wins)."""
        return self.secret_from(key, default_env)[0]

    def secret_from(
        self, key: str, default_env: str | None = None
    ) -> tuple[Secret | None, str | None]:
        """:meth:`secret` and where it came from: ``$NAME`` or the key's path in the file."""
        env_name = self.string(f"{key}_env", default_env)
        if env_name:
            value = self.env.get(env_name)
            if value:
                return Secret(value), f"${env_name}"
        value = self.string(key, None)
        where = f"{self.where}.{key}" if self.where else key
        return (Secret(value), where) if value else (None, None)

    def items(self) -> list[tuple[str, Any]]:
        self.seen.update(self.data)
        return list(self.data.items())

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self._fail(unknown[0], "unknown key (see config.example.yaml)")


def default_path(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "jobtui" / "config.yaml"


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate the config; raise :class:`ConfigError` with file and key on error."""
    env = os.environ if env is None else env
    explicit = path is not None
    file = Path(path) if path is not None else default_path(env)
    if not file.exists():
        if explicit:
            raise ConfigError(f"{file}: no such file")
        return parse_config({}, None, env)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not UTF-8 text") from None
    import yaml  # only when there is a file: ≈10 ms of every start-up otherwise

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{file}: invalid YAML{where}: {problem}") from None
    try:
        return parse_config(data, file, env)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from None


def _top_level(data: Any) -> Any:
    if data is not None and not isinstance(data, dict):
        kind = {"list": "a list", "str": "text", "int": "a number", "float": "a number"}
        got = kind.get(type(data).__name__, type(data).__name__)
        raise ConfigError(f"the top level must be a mapping (targets:, agent:, …), got {got}")
    return data


# Sections that other modules validate themselves (alerting, logging, ...).
DELEGATED = ("watch", "notifiers", "logging", "capacity", "incident")


def parse_config(data: Any, path: Path | None, env: Mapping[str, str]) -> Config:
    top = Section(_top_level(data), "", env)
    targets = _targets(top.section("targets"), path)
    default_target = top.string("default_target", None)
    if default_target is not None and default_target not in targets:
        raise ConfigError(f"default_target: no target named {default_target!r}")
    config = Config(
        path=path,
        targets=targets,
        default_target=default_target,
        thresholds=_thresholds(top.section("thresholds")),
        errors=_error_rules(top),
        agent=_agent(top.section("agent")),
        dashboard=_dashboard(top.section("dashboard")),
        check=_check(top.section("check")),
        raw={k: top.data.get(k) for k in DELEGATED if k in top.data},
    )
    top.seen.update(DELEGATED)
    top.done()
    return config


def _targets(sec: Section, path: Path | None) -> dict[str, Target]:
    targets: dict[str, Target] = {}
    for name, _ in sec.items():
        t = sec.section(str(name))
        url = t.string("url", None)
        if not url:
            raise ConfigError(f"targets.{name}.url: missing")
        token, where = t.secret_from("token")
        if where and not where.startswith("$") and path is not None:
            where = f"{where} in {path}"
        targets[str(name)] = Target(str(name), url, token, where)
        t.done()
    return targets


def _levels(sec: Section, base: Levels) -> Levels:
    levels = Levels(
        queue_depth=sec.number("queue_depth", base.queue_depth),
        error_rate=sec.number("error_rate", base.error_rate),
        processing_time=sec.duration(
            "processing_time", timedelta(milliseconds=base.processing_time)
        ).total_seconds()
        * 1000,
        wait_time=sec.duration("wait_time", timedelta(milliseconds=base.wait_time)).total_seconds()
        * 1000,
        resource_utilization=sec.number("resource_utilization", base.resource_utilization),
        stuck_jobs=sec.number("stuck_jobs", base.stuck_jobs),
    )
    sec.done()
    return levels


def _thresholds(sec: Section) -> Thresholds:
    warning = _levels(sec.section("warning"), SEED_WARNING)
    critical = _levels(sec.section("critical"), SEED_CRITICAL)
    for name in Levels.__slots__:
        if getattr(warning, name) > getattr(critical, name):
            raise ConfigError(f"thresholds.warning.{name}: above thresholds.critical.{name}")
    stalled = sec.duration("stalled_after", timedelta(minutes=15))
    sec.done()
    return Thresholds(warning, critical, stalled)


def _error_rules(top: Section) -> ErrorRules:
    value = top._get("error_patterns")
    if value is None:
        return ErrorRules()
    sec = Section(value, "error_patterns", top.env)
    extra: list[ErrorPattern] = []
    replace = sec.boolean("replace_defaults", False)
    patterns = sec._get("patterns") or []
    if not isinstance(patterns, list):
        raise ConfigError("error_patterns.patterns: expected a list")
    for i, item in enumerate(patterns):
        p = Section(item, f"error_patterns.patterns[{i}]", top.env)
        regex = p.string("pattern", None)
        category = p.string("category", None)
        if not regex or not category:
            raise ConfigError(f"error_patterns.patterns[{i}]: needs pattern and category")
        priority = p.string("priority", "medium")
        if not one_of(priority, PRIORITIES):
            raise ConfigError(
                f"error_patterns.patterns[{i}].priority: expected low|medium|high|critical"
            )
        try:
            compiled = re.compile(regex, re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(f"error_patterns.patterns[{i}].pattern: {exc}") from None
        recommendation = p.string("recommendation", "") or ""
        extra.append(ErrorPattern(compiled, category, priority, recommendation))
        p.done()
    sec.done()
    return ErrorRules(tuple(extra) if replace else (*extra, *SEED_ERROR_PATTERNS))


def _agent(sec: Section) -> AgentConfig:
    d = AgentConfig()
    backups = sec.section("backups")
    http = sec.section("http")
    sentry = sec.section("sentry")
    cfg = AgentConfig(
        database=sec.string("database", d.database) or d.database,
        host=sec.string("host", d.host) or d.host,
        port=sec.integer("port", d.port, minimum=0, maximum=65535),
        read_token=sec.secret("read_token", "JOBTUI_READ_TOKEN"),
        admin_token=sec.secret("admin_token", "JOBTUI_ADMIN_TOKEN"),
        insecure_no_auth=sec.boolean("insecure_no_auth", d.insecure_no_auth),
        public_health=sec.boolean("public_health", d.public_health),
        metrics_interval=sec.duration(
            "metrics_interval", timedelta(seconds=d.metrics_interval)
        ).total_seconds(),
        metrics_retention=sec.duration("metrics_retention", d.metrics_retention),
        metrics_collection=sec.boolean("metrics_collection", d.metrics_collection),
        utilization_window=sec.duration("utilization_window", d.utilization_window),
        max_points=sec.integer("max_points", d.max_points, minimum=2),
        max_concurrent_jobs=sec.integer("max_concurrent_jobs", d.max_concurrent_jobs, minimum=1),
        processing_interval=int(
            sec.duration(
                "processing_interval", timedelta(milliseconds=d.processing_interval)
            ).total_seconds()
            * 1000
        ),
        stuck_after=sec.duration("stuck_after", d.stuck_after),
        stats_window=sec.duration("stats_window", d.stats_window),
        backup_dir=backups.string("dir", None) or None,
        backup_gzip=backups.boolean("gzip", d.backup_gzip),
        backup_every_hours=backups.number("every_hours", d.backup_every_hours),
        backup_keep_days=backups.number("keep_days", d.backup_keep_days),
        http=HttpLimits(
            max_connections=http.integer("max_connections", d.http.max_connections),
            idle_timeout=_seconds(http, "idle_timeout", d.http.idle_timeout),
            request_timeout=_seconds(http, "request_timeout", d.http.request_timeout),
            max_header_size=http.integer("max_header_size", d.http.max_header_size, minimum=1024),
            max_body_size=http.integer("max_body_size", d.http.max_body_size, minimum=1024),
        ),
        backup_keep_count=backups.integer("keep_count", d.backup_keep_count, minimum=1),
        sentry_traces_sample_rate=sentry.number(
            "traces_sample_rate", d.sentry_traces_sample_rate, maximum=1
        ),
    )
    if cfg.metrics_interval <= 0:
        raise ConfigError("agent.metrics_interval: must be above zero")
    if cfg.utilization_window <= timedelta(0):
        raise ConfigError("agent.utilization_window: must be above zero")
    backups.done()
    http.done()
    sentry.done()
    sec.done()
    return cfg


def _seconds(sec: Section, key: str, default: float) -> float:
    value = sec.duration(key, timedelta(seconds=default)).total_seconds()
    if value <= 0:
        raise ConfigError(f"{sec.where}.{key}: must be above zero")
    return value


def _dashboard(sec: Section) -> DashboardConfig:
    d = DashboardConfig()
    cfg = DashboardConfig(
        health_interval=max(
            0.2,
            sec.duration("health_interval", timedelta(seconds=d.health_interval)).total_seconds(),
        ),
        metrics_interval=max(
            0.2,
            sec.duration("metrics_interval", timedelta(seconds=d.metrics_interval)).total_seconds(),
        ),
        jobs_page_size=sec.integer("jobs_page_size", d.jobs_page_size, minimum=10),
        keymap=_keymap(sec.section("keymap")),
    )
    sec.done()
    return cfg


def _keymap(sec: Section) -> dict[str, str]:
    """``dashboard.keymap``: a key id of the dashboard's registry → the key(s) it moves to."""
    if not sec.data:
        return {}
    from jobtui.dashboard.keys import keymap_problem  # imports no Textual

    keymap = {str(name): sec.string(str(name), None) or "" for name, _ in sec.items()}
    problem = keymap_problem(keymap)
    if problem is not None:
        raise sec._fail(*problem)
    return keymap


def _check(sec: Section) -> CheckConfig:
    d = CheckConfig()
    rt = sec.section("response_time")
    cfg = CheckConfig(
        timeout=sec.duration("timeout", timedelta(seconds=d.timeout)).total_seconds(),
        response_time_warning=rt.duration(
            "warning", timedelta(seconds=d.response_time_warning)
        ).total_seconds(),
        response_time_critical=rt.duration(
            "critical", timedelta(seconds=d.response_time_critical)
        ).total_seconds(),
    )
    rt.done()
    sec.done()
    return cfg


def load_section(
    config: Config,
    name: str,
    parse: Callable[[Any, Mapping[str, str]], T],
    env: Mapping[str, str] | None = None,
) -> T:
    """Validate a section another module owns (passed through in ``Config.raw``) with its
    ``parse(data, env)``; a :class:`ConfigError` is prefixed with the file's path."""
    try:
        return parse(config.raw.get(name), os.environ if env is None else env)
    except ConfigError as exc:
        where = str(config.path) if config.path else "config"
        raise ConfigError(f"{where}: {exc}") from None


def resolve_target(
    config: Config,
    *,
    url: str | None = None,
    target: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Target:
    """The target a command talks to: ``--url``, ``JOBTUI_URL``, ``--target``, the config's
    default, its first target, or the local agent. ``JOBTUI_TOKEN`` fills a missing token."""
    env = os.environ if env is None else env
    env_token = Secret(env["JOBTUI_TOKEN"]) if env.get("JOBTUI_TOKEN") else None
    from_env = "JOBTUI_TOKEN" if env_token else None
    if url is not None:
        if not url.strip():
            raise ConfigError("--url is empty: give the server's URL, e.g. http://127.0.0.1:8787")
        return Target("--url", url, env_token, from_env)
    if target:
        if target not in config.targets:
            known = ", ".join(config.targets) or "none configured"
            raise ConfigError(f"no target named {target!r} (known: {known})")
        return _with_env_token(config.targets[target], env_token)
    if env.get("JOBTUI_URL"):
        return Target("JOBTUI_URL", env["JOBTUI_URL"], env_token, from_env)
    name = config.default_target or next(iter(config.targets), None)
    if name:
        return _with_env_token(config.targets[name], env_token)
    return Target("local", DEFAULT_URL, env_token, from_env)


def _with_env_token(t: Target, env_token: Secret | None) -> Target:
    """A configured target; ``JOBTUI_TOKEN`` fills its token when it has none."""
    if t.token or not env_token:
        return t
    return Target(t.name, t.url, env_token, "JOBTUI_TOKEN")
