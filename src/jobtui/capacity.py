"""Capacity planning: the seed's scaling indicators and thresholds → scale up / hold / down.

Pure functions over the agent's metrics history (``PerformanceMetrics`` samples) and the host's
resources (:class:`jobtui.host.Host`). Each rule gives a
:class:`Reason`; :func:`recommend` turns them into one :class:`Recommendation`:

- **scale up** when any rule says so: queue depth above 30 or rising over the last 30 minutes,
  processing time above 5 min or rising, error rate above 10 % or rising, CPU above 80 %,
  memory above 85 %, 5-minute load above 0.8 × cores; *urgent* when a figure is past the
  seed's ``criticalAlert`` (queue 50, processing time 10 min, error rate 20 %, CPU 95 %,
  memory 95 %, load 1.0 × cores);
- **scale down** when every figure is below its ``scaleDown`` threshold (queue 5,
  processing time 1 min, error rate 2 %, CPU 30 %, memory 40 %, load 0.3 × cores) and the
  history shows that nothing rises (no scaling down on less than a trend window of history);
- **hold** otherwise.

Thresholds come from the ``capacity:`` section of the config (:func:`load_capacity_config`);
the defaults are the seed's ``scalingThresholds``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from jobtui.contract import PerformanceMetrics
from jobtui.host import Host
from jobtui.rules import human_ms

if TYPE_CHECKING:
    from jobtui.config import Config, Section

Verdict = Literal["up", "down", "hold", "unknown"]
Action = Literal["scale up", "hold", "scale down"]


@dataclass(frozen=True, slots=True)
class Limits:
    """One figure's thresholds: above ``scale_up`` → up, above ``critical`` → urgent, below
    ``scale_down`` → spare capacity. ``rise``: the increase over the trend window that counts
    as rising (None: no trend rule)."""

    scale_up: float
    scale_down: float
    critical: float
    rise: float | None = None


@dataclass(frozen=True, slots=True)
class CapacityConfig:
    trend_window: timedelta = timedelta(minutes=30)
    queue_depth: Limits = Limits(30, 5, 50, rise=5)
    processing_time: Limits = Limits(300_000, 60_000, 600_000, rise=30_000)  # ms
    error_rate: Limits = Limits(10, 2, 20, rise=5)  # percent, points
    cpu: Limits = Limits(80, 30, 95)  # percent
    memory: Limits = Limits(85, 40, 95)  # percent
    load: Limits = Limits(0.8, 0.3, 1.0)  # × CPU cores, on the 5-minute load average


@dataclass(frozen=True, slots=True)
class Trend:
    """A least-squares line through the samples of the trend window."""

    change: float  # fitted increase over the whole window
    first: float
    last: float
    points: int
    span: timedelta  # time between the first and last sample used


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str  # queue_depth, queue_trend, processing_time, processing_trend, error_rate,
    # error_trend, cpu, memory, load
    verdict: Verdict
    text: str
    critical: bool = False


@dataclass(frozen=True, slots=True)
class Recommendation:
    action: Action
    urgent: bool
    summary: str
    reasons: tuple[Reason, ...]
    latest: PerformanceMetrics | None = None
    host: Host | None = None
    samples: int = 0

    def why(self) -> tuple[Reason, ...]:
        """The reasons that decided: the ups when scaling up, else every reason."""
        if self.action == "scale up":
            return tuple(r for r in self.reasons if r.verdict == "up")
        return self.reasons


# --------------------------------------------------------------------------- the rules


def trend(
    history: Sequence[PerformanceMetrics], attr: str, window: timedelta, now: datetime
) -> Trend | None:
    """The figure's trend over the window ending ``now``, or None with too little history
    (fewer than 3 samples, or samples covering less than 80 % of the window)."""
    pts = [
        ((m.timestamp - now).total_seconds(), float(getattr(m, attr)))
        for m in history
        if now - window <= m.timestamp <= now
    ]
    if len(pts) < 3:
        return None
    span = pts[-1][0] - pts[0][0]
    if span < 0.8 * window.total_seconds():
        return None
    n = len(pts)
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    slope = sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else 0.0
    return Trend(slope * window.total_seconds(), pts[0][1], pts[-1][1], n, timedelta(seconds=span))


def _level(rule: str, label: str, value: float, lim: Limits, show: Any, scale: float = 1) -> Reason:
    up, down, crit = lim.scale_up * scale, lim.scale_down * scale, lim.critical * scale
    v = show(value)
    if value > crit:
        return Reason(rule, "up", f"{label} {v} > {show(crit)} (critical)", critical=True)
    if value > up:
        return Reason(rule, "up", f"{label} {v} > {show(up)}")
    if value < down:
        return Reason(rule, "down", f"{label} {v} < {show(down)} (spare capacity)")
    return Reason(rule, "hold", f"{label} {v} (scale up above {show(up)}, down below {show(down)})")


def _trend(
    rule: str, label: str, t: Trend | None, lim: Limits, show: Any, window: str, delta: Any = None
) -> Reason:
    if t is None:
        return Reason(rule, "unknown", f"{label} trend: not enough history for {window}")
    assert lim.rise is not None
    change = f"{'+' if t.change >= 0 else '−'}{(delta or show)(abs(t.change))}"
    if t.change >= lim.rise:
        return Reason(
            rule, "up", f"{label} rising: {change} over {window} ({show(t.first)} → {show(t.last)})"
        )
    return Reason(rule, "down", f"{label} not rising: {change} over {window}")


def _pct(v: float) -> str:
    return f"{v:.1f}%"


def _num(v: float) -> str:
    return f"{v:g}" if float(v).is_integer() else f"{v:.1f}"


def _minutes(window: timedelta) -> str:
    return f"{window.total_seconds() / 60:g} min"


def recommend(
    history: Sequence[PerformanceMetrics],
    host: Host | None,
    cfg: CapacityConfig | None = None,
    now: datetime | None = None,
) -> Recommendation:
    """Every rule on the history (oldest first) and the host; ``now`` defaults to the newest
    sample's time."""
    cfg = cfg or CapacityConfig()
    history = sorted(history, key=lambda m: m.timestamp)
    latest = history[-1] if history else None
    reasons: list[Reason] = []
    window = _minutes(cfg.trend_window)
    if latest is None:
        reasons.append(Reason("queue_depth", "unknown", "No metrics history from the server yet"))
    else:
        at = now or latest.timestamp
        w = cfg.trend_window
        reasons += [
            _level("queue_depth", "Queue depth", latest.queue_depth, cfg.queue_depth, _num),
            _trend(
                "queue_trend",
                "Queue depth",
                trend(history, "queue_depth", w, at),
                cfg.queue_depth,
                _num,
                window,
            ),
            _level(
                "processing_time",
                "Processing time",
                latest.average_processing_time,
                cfg.processing_time,
                human_ms,
            ),
            _trend(
                "processing_trend",
                "Processing time",
                trend(history, "average_processing_time", w, at),
                cfg.processing_time,
                human_ms,
                window,
            ),
            _level("error_rate", "Error rate", latest.error_rate, cfg.error_rate, _pct),
            _trend(
                "error_trend",
                "Error rate",
                trend(history, "error_rate", w, at),
                cfg.error_rate,
                _pct,
                window,
                delta=lambda v: f"{v:.1f} points",
            ),
        ]
    if host is not None:
        if host.cpu_percent is not None:
            reasons.append(_level("cpu", "CPU", host.cpu_percent, cfg.cpu, _pct))
        reasons.append(_level("memory", "Memory", host.memory_percent, cfg.memory, _pct))
        reasons.append(
            _level(
                "load",
                f"Load (5 min, {host.cores} cores)",
                host.load[1],
                cfg.load,
                lambda v: f"{v:.2f}",
                scale=host.cores,
            )
        )
    ups = [r for r in reasons if r.verdict == "up"]
    if ups:
        action: Action = "scale up"
        urgent = any(r.critical for r in ups)
        lead = next((r for r in ups if r.critical), ups[0])
        summary = (
            f"{lead.text}: immediate scaling recommended"
            if urgent
            else f"{lead.text}: consider scaling up"
        )
    elif latest is not None and all(r.verdict == "down" for r in reasons):
        action, urgent = "scale down", False
        summary = "Every figure is below its scale-down threshold: consider scaling down"
    else:
        action, urgent = "hold", False
        summary = (
            "No metrics history yet: nothing to judge the load by"
            if latest is None
            else "Resource utilization normal: hold"
            if all(r.verdict != "unknown" for r in reasons)
            else "Nothing calls for scaling up; not enough history to scale down: hold"
        )
    return Recommendation(action, urgent, summary, tuple(reasons), latest, host, len(history))


# --------------------------------------------------------------------------- config


def load_capacity_config(config: Config, env: Mapping[str, str] | None = None) -> CapacityConfig:
    """Validate the ``capacity:`` section; :class:`ConfigError` names the file and the key."""
    from jobtui.config import load_section

    return load_section(config, "capacity", parse_capacity, env)


def parse_capacity(data: Any, env: Mapping[str, str]) -> CapacityConfig:
    from jobtui.config import Section

    sec = Section(data, "capacity", env)
    d = CapacityConfig()
    cfg = CapacityConfig(
        trend_window=sec.duration("trend_window", d.trend_window),
        queue_depth=_limits(sec.section("queue_depth"), d.queue_depth),
        processing_time=_limits(sec.section("processing_time"), d.processing_time, ms=True),
        error_rate=_limits(sec.section("error_rate"), d.error_rate),
        cpu=_limits(sec.section("cpu"), d.cpu),
        memory=_limits(sec.section("memory"), d.memory),
        load=_limits(sec.section("load"), d.load),
    )
    sec.done()
    from jobtui.config import ConfigError

    if cfg.trend_window < timedelta(minutes=1):
        raise ConfigError("capacity.trend_window: must be at least 1m")
    return cfg


def _limits(sec: Section, d: Limits, *, ms: bool = False) -> Limits:
    from jobtui.config import ConfigError

    def get(key: str, default: float) -> float:
        if ms:
            return sec.duration(key, timedelta(milliseconds=default)).total_seconds() * 1000
        return sec.number(key, default)

    rise = None
    if d.rise is not None:
        rise = get("rise", d.rise)
    lim = Limits(get("scale_up", d.scale_up), get("scale_down", d.scale_down),
                 get("critical", d.critical), rise)  # fmt: skip
    sec.done()
    if not lim.scale_down <= lim.scale_up <= lim.critical:
        raise ConfigError(f"{sec.where}: expected scale_down ≤ scale_up ≤ critical")
    return lim


__all__ = [
    "CapacityConfig",
    "Host",
    "Limits",
    "Reason",
    "Recommendation",
    "load_capacity_config",
    "recommend",
    "trend",
]
