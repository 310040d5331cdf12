"""The ``watch`` and ``notifiers`` sections of the config, validated like the rest of it.

Errors name the key (``notifiers.oncall.port: expected a number, got 'x'``); the caller
prefixes the file. Unknown keys, rules and notifier types are errors, never ignored.
Secrets (webhook URLs, tokens, passwords) are :class:`~jobtui.config.Secret` and may come from
the environment variable named by ``<key>_env``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from jobtui.alerting.observe import ALL_RULES
from jobtui.config import Config, ConfigError, Secret, Section, load_section, one_of
from jobtui.rules import Level

NOTIFIER_TYPES = ("slack_webhook", "slack_bot", "email", "webhook")


@dataclass(frozen=True, slots=True)
class Delivery:
    """How a notifier delivers: attempts per notification, backoff, timeout, rate limit."""

    attempts: int = 4
    backoff: float = 1.0  # seconds before the 2nd attempt, doubling after
    max_backoff: float = 60.0
    timeout: float = 10.0
    min_interval: float = 0.0  # seconds between two messages (Slack webhooks: 1)
    max_retry_after: float = 120.0  # a longer 429 Retry-After waits for the next poll instead


@dataclass(frozen=True, slots=True)
class NotifierConfig:
    name: str
    type: str
    min_level: Level = "warning"
    rules: frozenset[str] | None = None  # None: every rule
    send_resolved: bool | None = None  # None: watch.send_resolved
    delivery: Delivery = field(default_factory=Delivery)

    def secrets(self) -> list[str]:
        return [v for v in (getattr(self, f, None) for f in _SECRET_FIELDS) if v]


_SECRET_FIELDS = ("url", "token", "password")


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackWebhookConfig(NotifierConfig):
    url: Secret


SLACK_API_URL = "https://slack.com/api"
Security = Literal["starttls", "tls", "none"]
SECURITIES: tuple[Security, ...] = get_args(Security)


@dataclass(frozen=True, slots=True, kw_only=True)
class SlackBotConfig(NotifierConfig):
    token: Secret
    channel: str
    api_url: str = SLACK_API_URL


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailConfig(NotifierConfig):
    host: str = "localhost"
    port: int = 587
    security: Security = "starttls"
    username: str | None = None
    password: Secret | None = None
    sender: str = "jobtui@localhost"
    to: tuple[str, ...] = ()
    ca_file: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookConfig(NotifierConfig):
    url: Secret
    token: Secret | None = None  # sent as Authorization: Bearer
    max_alerts: int = 0  # 0: no limit; else truncate (truncatedAlerts says how many)


@dataclass(frozen=True, slots=True)
class Hold:
    """How many polls in a row a rule must trip before it fires, per level."""

    warning: int = 2  # polls at warning or worse before it fires at warning
    critical: int = 1  # polls at critical before it fires (or escalates) at critical


# Single readings that one busy moment can trip: their critical level keeps the warning's hold
# unless the config says otherwise (watch.per_rule).
NOISY: tuple[str, ...] = ("resource_utilization", "response_time")


@dataclass(frozen=True, slots=True)
class WatchConfig:
    interval: float = 30.0  # seconds between polls
    for_polls: int = 2  # bad polls in a row before a rule fires (at warning)
    for_critical: int = 1  # critical polls in a row before a rule fires at critical
    per_rule: Mapping[str, Hold] = field(default_factory=dict)  # overrides, noisy rules' too
    resolve_after: int = 2  # good polls in a row before a firing rule resolves
    repeat_interval: timedelta = timedelta(hours=4)
    send_resolved: bool = True
    state_file: Path = field(default_factory=lambda: default_state_file())
    rules: tuple[str, ...] = ALL_RULES
    environment: str | None = None
    dashboard_url: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    notifiers: tuple[NotifierConfig, ...] = ()
    heartbeat_url: Secret | None = None  # pinged after every evaluation (alerting/heartbeat.py)

    def hold(self, rule: str) -> Hold:
        return self.per_rule.get(rule) or Hold(self.for_polls, self.for_critical)

    def secrets(self) -> list[str]:
        beat = [self.heartbeat_url] if self.heartbeat_url else []
        return [*beat, *(s for n in self.notifiers for s in n.secrets())]


def default_state_file(env: Mapping[str, str] = os.environ) -> Path:
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "jobtui" / "watch-state.json"


def load_watch_config(config: Config, env: Mapping[str, str] | None = None) -> WatchConfig:
    """Validate ``watch`` and ``notifiers``; :class:`ConfigError` names the file and the key."""
    notifiers = config.raw.get("notifiers")
    return load_section(config, "watch", lambda data, e: parse_watch(data, notifiers, e), env)


def parse_watch(watch: Any, notifiers: Any, env: Mapping[str, str]) -> WatchConfig:
    sec = Section(watch, "watch", env)
    d = WatchConfig(state_file=default_state_file(env))
    interval = sec.duration("interval", timedelta(seconds=d.interval)).total_seconds()
    if interval < 0.1:
        raise ConfigError("watch.interval: must be at least 100ms")
    for_polls = _polls(sec, "for", d.for_polls, interval)
    for_critical = _polls(sec, "for_critical", d.for_critical, interval)
    resolve_after = _polls(sec, "resolve_after", d.resolve_after, interval)
    state = sec.string("state_file", None)
    cfg = WatchConfig(
        interval=interval,
        for_polls=for_polls,
        for_critical=for_critical,
        per_rule=_per_rule(sec.section("per_rule"), Hold(for_polls, for_critical), interval),
        resolve_after=resolve_after,
        repeat_interval=sec.duration("repeat_interval", d.repeat_interval),
        send_resolved=sec.boolean("send_resolved", d.send_resolved),
        state_file=Path(os.path.expanduser(state)) if state else d.state_file,
        rules=tuple(_rules(sec, "rules") or ALL_RULES),
        environment=sec.string("environment", None),
        dashboard_url=sec.string("dashboard_url", None),
        labels=_labels(sec.section("labels")),
        notifiers=_notifiers(notifiers, env),
        heartbeat_url=_heartbeat(sec),
    )
    if cfg.repeat_interval <= timedelta(0):
        raise ConfigError("watch.repeat_interval: must be above zero")
    sec.done()
    return cfg


def _heartbeat(sec: Section) -> Secret | None:
    url = sec.secret("heartbeat_url")
    if url:
        _check_http(sec, "heartbeat_url", url, secret=True)
    return url


def _polls(sec: Section, key: str, default: int, interval: float) -> int:
    """A number of polls (``2``) or a duration (``"1m"``, rounded up to whole polls)."""
    value = sec.data.get(key)
    if isinstance(value, str):
        seconds = sec.duration(key, timedelta(0)).total_seconds()
        return max(1, -(-int(seconds * 1000) // int(interval * 1000)))
    return sec.integer(key, default, minimum=1)


def _per_rule(sec: Section, default: Hold, interval: float) -> dict[str, Hold]:
    """``per_rule: {rule: {for: …, for_critical: …}}``, over the noisy rules' defaults."""
    noisy = Hold(default.warning, max(default.warning, default.critical))
    holds = dict.fromkeys(NOISY, noisy)
    for name, _ in sec.items():
        if name not in ALL_RULES:
            raise ConfigError(
                f"{sec.where}.{name}: unknown rule {name!r} (known: {', '.join(ALL_RULES)})"
            )
        one = sec.section(str(name))
        base = holds.get(name, default)
        holds[name] = Hold(
            _polls(one, "for", base.warning, interval),
            _polls(one, "for_critical", base.critical, interval),
        )
        one.done()
    return holds


def _rules(sec: Section, key: str) -> list[str] | None:
    value = sec._get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{sec.where}.{key}: expected a non-empty list of rule names")
    for i, name in enumerate(value):
        if name not in ALL_RULES:
            raise ConfigError(
                f"{sec.where}.{key}[{i}]: unknown rule {name!r} (known: {', '.join(ALL_RULES)})"
            )
    return [str(v) for v in value]


def _labels(sec: Section) -> dict[str, str]:
    labels = {}
    for key, _ in sec.items():
        value = sec.string(str(key), None)
        if value is None:
            raise ConfigError(f"{sec.where}.{key}: expected text")
        labels[str(key)] = value
    return labels


def _notifiers(data: Any, env: Mapping[str, str]) -> tuple[NotifierConfig, ...]:
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise ConfigError(
            f"notifiers: expected a mapping of names to notifiers, got {type(data).__name__}"
        )
    top = Section(data, "notifiers", env)
    out = [_notifier(top.section(str(name)), str(name)) for name, _ in top.items()]
    return tuple(out)


def _notifier(sec: Section, name: str) -> NotifierConfig:
    kind = sec.string("type", None)
    if kind is None:
        raise ConfigError(f"{sec.where}.type: missing (one of {', '.join(NOTIFIER_TYPES)})")
    if kind not in NOTIFIER_TYPES:
        raise ConfigError(
            f"{sec.where}.type: unknown notifier type {kind!r} (known: {', '.join(NOTIFIER_TYPES)})"
        )
    min_level = sec.string("min_level", "warning")
    if min_level not in ("warning", "critical"):
        raise ConfigError(f"{sec.where}.min_level: expected warning or critical, got {min_level!r}")
    rules = _rules(sec, "rules")
    common: dict[str, Any] = {
        "name": name,
        "type": kind,
        "min_level": min_level,
        "rules": frozenset(rules) if rules else None,
        "send_resolved": sec.boolean("send_resolved", True)
        if "send_resolved" in sec.data
        else None,
        "delivery": _delivery(sec, kind),
    }
    cfg: NotifierConfig
    if kind == "slack_webhook":
        cfg = SlackWebhookConfig(**common, url=_required_url(sec, "url"))
    elif kind == "slack_bot":
        token = sec.secret("token", "SLACK_BOT_TOKEN")
        if not token:
            raise ConfigError(f"{sec.where}.token: missing (or set token_env / $SLACK_BOT_TOKEN)")
        channel = sec.string("channel", None)
        if not channel:
            raise ConfigError(f"{sec.where}.channel: missing (a channel ID like C0123456789)")
        # Not SlackBotConfig.api_url: on a slots dataclass that is the slot, not the default.
        api_url = sec.string("api_url", SLACK_API_URL) or SLACK_API_URL
        _check_http(sec, "api_url", api_url)
        cfg = SlackBotConfig(**common, token=token, channel=channel, api_url=api_url.rstrip("/"))
    elif kind == "email":
        cfg = _email(sec, common)
    else:
        token = sec.secret("token")
        max_alerts = sec.integer("max_alerts", 0)
        cfg = WebhookConfig(
            **common, url=_required_url(sec, "url"), token=token, max_alerts=max_alerts
        )
    sec.done()
    return cfg


def _delivery(sec: Section, kind: str) -> Delivery:
    d = Delivery()
    min_interval = 1.0 if kind in ("slack_webhook", "slack_bot") else d.min_interval
    delivery = Delivery(
        attempts=sec.integer("attempts", d.attempts, minimum=1),
        backoff=sec.duration("backoff", timedelta(seconds=d.backoff)).total_seconds(),
        max_backoff=sec.duration("max_backoff", timedelta(seconds=d.max_backoff)).total_seconds(),
        timeout=sec.duration("timeout", timedelta(seconds=d.timeout)).total_seconds(),
        min_interval=sec.duration("min_interval", timedelta(seconds=min_interval)).total_seconds(),
        max_retry_after=sec.duration(
            "max_retry_after", timedelta(seconds=d.max_retry_after)
        ).total_seconds(),
    )
    if delivery.timeout <= 0:
        raise ConfigError(f"{sec.where}.timeout: must be above zero")
    return delivery


def _required_url(sec: Section, key: str) -> Secret:
    url = sec.secret(key)
    if not url:
        env_name = sec.data.get(f"{key}_env")
        hint = f"${env_name} is not set" if env_name else f"set {key} or {key}_env"
        raise ConfigError(f"{sec.where}.{key}: missing ({hint})")
    _check_http(sec, key, url, secret=True)
    return url


def _check_http(sec: Section, key: str, url: str, *, secret: bool = False) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = "(hidden: it is a secret)" if secret else repr(url)
        raise ConfigError(f"{sec.where}.{key}: expected an http(s):// URL, got {shown}")


def _email(sec: Section, common: dict[str, Any]) -> EmailConfig:
    security = sec.string("security", "starttls")
    if not one_of(security, SECURITIES):
        raise ConfigError(f"{sec.where}.security: expected starttls, tls or none, got {security!r}")
    host = sec.string("host", None)
    if not host:
        raise ConfigError(f"{sec.where}.host: missing (the SMTP server)")
    port = sec.integer("port", 465 if security == "tls" else 587, minimum=1)
    if port > 65535:
        raise ConfigError(f"{sec.where}.port: must be at most 65535, got {port}")
    username = sec.string("username", None)
    explicit = "password" in sec.data or "password_env" in sec.data
    password = sec.secret("password", "SMTP_PASS")
    if password and not username:
        if explicit:
            raise ConfigError(f"{sec.where}.username: missing (a password is set)")
        password = None  # $SMTP_PASS set for something else: no auth was asked for
    sender = sec.string("from", None)
    if not sender or "@" not in sender:
        raise ConfigError(f"{sec.where}.from: expected a sender address, got {sender!r}")
    raw_to = sec._get("to")
    to = [raw_to] if isinstance(raw_to, str) else raw_to
    if not isinstance(to, list) or not to or not all(isinstance(a, str) and "@" in a for a in to):
        raise ConfigError(f"{sec.where}.to: expected one address or a list of addresses")
    ca_file = sec.string("ca_file", None)
    if ca_file and not Path(ca_file).expanduser().is_file():
        raise ConfigError(f"{sec.where}.ca_file: no such file {ca_file!r}")
    return EmailConfig(
        **common,
        host=host,
        port=port,
        security=security,
        username=username,
        password=password,
        sender=sender,
        to=tuple(to),
        ca_file=str(Path(ca_file).expanduser()) if ca_file else None,
    )
