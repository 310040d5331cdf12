"""Capacity planning: the seed's scaling indicators and thresholds → scale up / hold / down.

Pure functions over the agent's metrics history (``PerformanceMetrics`` samples) and the host's
resources (:class:`jobtui.host.Host`). Each rule gives a :class:`Reason`; :func:`recommend`
turns them into one :class:`Recommendation`. A figure is *consistently* past a limit when at
least ``consistently`` (90 %) of the samples of the last ``trend_window`` (30 min) are:

- **scale up** when any rule says so: queue depth consistently above 30 or rising over the
  window, processing time consistently above 5 min or rising, error rate consistently above
  10 % or rising, CPU above 80 %, memory above 85 %, 5-minute load above 0.8 × cores;
  *urgent* when a figure is consistently past the seed's ``criticalAlert`` (queue 50,
  processing time 10 min, error rate 20 %, CPU 95 %, memory 95 %, load 1.0 × cores);
- **scale down** when every figure is consistently below its ``scaleDown`` threshold (queue 5,
  processing time 1 min, error rate 2 %, CPU 30 %, memory 40 %, load 0.3 × cores) and nothing
  rises (never on less than a window of history);
- **hold** otherwise.

CPU, memory and load are the sampling agent's host, from the samples' host fields; when the
samples carry none (the seed's app, an older agent), this machine's one reading (``host``)
stands in for them, as the seed's ``shouldScaleUp`` judges one reading.

Thresholds come from the ``capacity:`` section of the config (:func:`load_capacity_config`);
the defaults are the seed's ``scalingThresholds``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from jobtui.contract import PerformanceMetrics, utcnow
from jobtui.host import Host
from jobtui.rules import human_ms

if TYPE_CHECKING:
    from jobtui.config import Config, Section

Verdict = Literal["up", "down", "hold", "unknown"]
Action = Literal["scale up", "hold", "scale down"]
HostFrom = Literal["samples", "this machine"] | None


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
    trend_window: timedelta = timedelta(minutes=30)  # "rising" and "consistently" look this far
    consistently: float = 90.0  # % of the window's samples past a limit that make it so
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
    host_from: HostFrom = None  # where CPU, memory and load were judged from

    def why(self) -> tuple[Reason, ...]:
        """The reasons that decided: the ups when scaling up, else every reason."""
        if self.action == "scale up":
            return tuple(r for r in self.reasons if r.verdict == "up")
        return self.reasons


# --------------------------------------------------------------------------- the rules


def _points(
    history: Sequence[PerformanceMetrics], attr: str, window: timedelta, now: datetime
) -> list[tuple[float, float]] | None:
    """(seconds before ``now``, figure) of the window's samples that carry the figure; None
    with too little history (fewer than 3, or covering less than 80 % of the window)."""
    pts = [
        ((m.timestamp - now).total_seconds(), float(v))
        for m in history
        if now - window <= m.timestamp <= now and (v := getattr(m, attr)) is not None
    ]
    if len(pts) < 3 or pts[-1][0] - pts[0][0] < 0.8 * window.total_seconds():
        return None
    return pts


def trend(
    history: Sequence[PerformanceMetrics], attr: str, window: timedelta, now: datetime
) -> Trend | None:
    """The figure's trend over the window ending ``now``, or None with too little history
    (fewer than 3 samples, or samples covering less than 80 % of the window)."""
    pts = _points(history, attr, window, now)
    if pts is None:
        return None
    span = pts[-1][0] - pts[0][0]
    n = len(pts)
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    slope = sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else 0.0
    return Trend(slope * window.total_seconds(), pts[0][1], pts[-1][1], n, timedelta(seconds=span))


def spell(
    history: Sequence[PerformanceMetrics], attr: str, window: timedelta, now: datetime
) -> tuple[float, ...] | None:
    """The figure in each sample of the window ending ``now`` (oldest first), or None with
    too little history to say what it consistently is."""
    pts = _points(history, attr, window, now)
    return None if pts is None else tuple(v for _, v in pts)


def _level(rule: str, label: str, value: float, lim: Limits, show: Any, scale: float = 1) -> Reason:
    """One reading against the limits (this machine's, when the samples carry no host)."""
    up, down, crit = lim.scale_up * scale, lim.scale_down * scale, lim.critical * scale
    v = show(value)
    if value > crit:
        return Reason(rule, "up", f"{label} {v} > {show(crit)} (critical)", critical=True)
    if value > up:
        return Reason(rule, "up", f"{label} {v} > {show(up)}")
    if value < down:
        return Reason(rule, "down", f"{label} {v} < {show(down)} (spare capacity)")
    return Reason(rule, "hold", f"{label} {v} (scale up above {show(up)}, down below {show(down)})")


def _consistent(
    rule: str,
    label: str,
    values: tuple[float, ...] | None,
    now: float | None,
    lim: Limits,
    show: Any,
    cfg: CapacityConfig,
    scale: float = 1,
) -> Reason:
    """The seed's "consistently above": the share ``cfg.consistently`` of the window's
    samples past a limit, not the newest one alone."""
    up, down, crit = lim.scale_up * scale, lim.scale_down * scale, lim.critical * scale
    window = _minutes(cfg.trend_window)
    latest = "" if now is None else f" (now {show(now)})"
    if values is None:
        have = f"{label} {show(now)} now" if now is not None else label
        return Reason(rule, "unknown", f"{have}: not enough history for {window} to judge")
    n = len(values)
    need = cfg.consistently / 100 * n

    def of(k: int) -> str:
        return f"in {k} of {n} samples over {window}"

    k_crit = sum(v > crit for v in values)
    k_up = sum(v > up for v in values)
    k_down = sum(v < down for v in values)
    if k_crit >= need:
        text = f"{label} > {show(crit)} (critical) {of(k_crit)}{latest}"
        return Reason(rule, "up", text, critical=True)
    if k_up >= need:
        return Reason(rule, "up", f"{label} > {show(up)} {of(k_up)}{latest}")
    if k_down >= need:
        return Reason(rule, "down", f"{label} < {show(down)} {of(k_down)} (spare capacity)")
    head = label if now is None else f"{label} {show(now)} now"
    return Reason(
        rule,
        "hold",
        f"{head}, > {show(up)} {of(k_up)} (scale up at {cfg.consistently:g}% of them, "
        f"down below {show(down)})",
    )


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


def _load(v: float) -> str:
    return f"{v:.2f}"


def _minutes(window: timedelta) -> str:
    return f"{window.total_seconds() / 60:g} min"


def sampled_host(history: Sequence[PerformanceMetrics]) -> PerformanceMetrics | None:
    """The newest sample carrying the sampling agent's host figures, if any does."""
    return next((m for m in reversed(history) if m.cpu_percent is not None), None)


def _host_reasons(
    history: Sequence[PerformanceMetrics], host: Host | None, cfg: CapacityConfig, at: datetime
) -> list[Reason]:
    """CPU, memory and load: over the window's samples where they carry the agent's host;
    else this machine's one reading (a server that records no host, such as the seed's)."""
    newest = sampled_host(history)
    if newest is not None:
        w = cfg.trend_window
        cores = newest.cpu_count or (host.cores if host is not None else 1)
        return [
            _consistent("cpu", "CPU", spell(history, "cpu_percent", w, at),
                        newest.cpu_percent, cfg.cpu, _pct, cfg),
            _consistent("memory", "Memory", spell(history, "memory_percent", w, at),
                        newest.memory_percent, cfg.memory, _pct, cfg),
            _consistent("load", f"Load (5 min, {cores} cores)",
                        spell(history, "load_average", w, at), newest.load_average,
                        cfg.load, _load, cfg, scale=cores),
        ]  # fmt: skip
    if host is None:
        return []
    out = []
    if host.cpu_percent is not None:
        out.append(_level("cpu", "CPU", host.cpu_percent, cfg.cpu, _pct))
    out.append(_level("memory", "Memory", host.memory_percent, cfg.memory, _pct))
    out.append(
        _level("load", f"Load (5 min, {host.cores} cores)", host.load[1], cfg.load, _load,
               scale=host.cores)
    )  # fmt: skip
    return out


def recommend(
    history: Sequence[PerformanceMetrics],
    host: Host | None,
    cfg: CapacityConfig | None = None,
    now: datetime | None = None,
) -> Recommendation:
    """Every rule on the history (any order) and the host; ``now`` defaults to the newest
    sample's time. ``host`` (this machine) counts only when the samples carry no host."""
    cfg = cfg or CapacityConfig()
    history = sorted(history, key=lambda m: m.timestamp)
    latest = history[-1] if history else None
    reasons: list[Reason] = []
    window = _minutes(cfg.trend_window)
    at = now or (latest.timestamp if latest is not None else None)
    if latest is None or at is None:
        reasons.append(Reason("queue_depth", "unknown", "No metrics history from the server yet"))
    else:
        w = cfg.trend_window

        def figure(rule: str, label: str, attr: str, lim: Limits, show: Any) -> Reason:
            return _consistent(
                rule, label, spell(history, attr, w, at), getattr(latest, attr), lim, show, cfg
            )

        def rising(rule: str, label: str, attr: str, lim: Limits, show: Any, **kw: Any) -> Reason:
            return _trend(rule, label, trend(history, attr, w, at), lim, show, window, **kw)

        reasons += [
            figure("queue_depth", "Queue depth", "queue_depth", cfg.queue_depth, _num),
            rising("queue_trend", "Queue depth", "queue_depth", cfg.queue_depth, _num),
            figure("processing_time", "Processing time", "average_processing_time",
                   cfg.processing_time, human_ms),
            rising("processing_trend", "Processing time", "average_processing_time",
                   cfg.processing_time, human_ms),
            figure("error_rate", "Error rate", "error_rate", cfg.error_rate, _pct),
            rising("error_trend", "Error rate", "error_rate", cfg.error_rate, _pct,
                   delta=lambda v: f"{v:.1f} points"),
        ]  # fmt: skip
    reasons += _host_reasons(history, host, cfg, at or utcnow())
    host_from: HostFrom = (
        "samples" if sampled_host(history) else "this machine" if host is not None else None
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
    return Recommendation(
        action, urgent, summary, tuple(reasons), latest, host, len(history), host_from
    )


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
        consistently=sec.number("consistently", d.consistently),
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
    if not 50 < cfg.consistently <= 100:
        raise ConfigError("capacity.consistently: expected a percentage above 50, up to 100")
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
