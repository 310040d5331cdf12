"""This machine's CPU, memory, load and uptime (psutil): the on-call engineer is on that server.

One reader for every command: the dashboard samples it every poll (CPU between two samples,
never blocking), ``jobtui capacity`` once over a short interval (:func:`read_host`).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

MIN_CPU_WINDOW = 0.1  # seconds: a CPU figure over less than this is noise, not a reading


@dataclass(frozen=True, slots=True)
class Host:
    """The host's resources (the seed's ``getResourceMetrics``)."""

    hostname: str
    cpu_percent: float | None  # None until it has been measured over a while
    cores: int
    memory_percent: float
    memory_used: int
    memory_total: int
    load: tuple[float, float, float]  # 1, 5, 15 minutes
    uptime: float = 0.0  # seconds


class HostSampler:
    """Samples the host; CPU % is measured between two calls (or since the sampler was made)."""

    def __init__(self) -> None:
        import psutil  # here: psutil costs ~25 ms to import, paid off the UI thread

        self._psutil = psutil
        self._hostname = socket.gethostname()
        self._cores = psutil.cpu_count() or 1
        self._boot = psutil.boot_time()
        psutil.cpu_percent(interval=None)
        self._since = time.monotonic()

    def __call__(self) -> Host:
        ps = self._psutil
        mem = ps.virtual_memory()
        try:
            load = os.getloadavg()
        except OSError:
            load = (0.0, 0.0, 0.0)
        cpu: float | None = ps.cpu_percent(interval=None)
        now = time.monotonic()
        if now - self._since < MIN_CPU_WINDOW:
            cpu = None
        self._since = now
        return Host(
            hostname=self._hostname,
            cpu_percent=cpu,
            cores=self._cores,
            memory_percent=mem.percent,
            memory_used=mem.total - mem.available,
            memory_total=mem.total,
            load=(load[0], load[1], load[2]),
            uptime=max(0.0, time.time() - self._boot),
        )


def read_host(interval: float = 0.5) -> Host:
    """Measure this machine, CPU over ``interval`` seconds (blocks that long). Call it off
    any UI thread."""
    sampler = HostSampler()
    time.sleep(max(interval, MIN_CPU_WINDOW))
    return sampler()
