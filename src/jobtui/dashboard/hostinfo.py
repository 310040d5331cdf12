"""The local host's CPU, memory and load (psutil): the on-call engineer is on that server."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HostStats:
    hostname: str
    cpu_percent: float | None  # None on the first sample (nothing to compare with yet)
    cores: int
    memory_percent: float
    memory_used: int
    memory_total: int
    load: tuple[float, float, float]


class HostSampler:
    """Samples the host; CPU % is measured between two calls (the first one reads 0)."""

    def __init__(self) -> None:
        import psutil  # here: psutil costs ~25 ms to import, paid in the poller's thread

        self._psutil = psutil
        self._hostname = socket.gethostname()
        self._cores = psutil.cpu_count() or 1
        self._first = True
        psutil.cpu_percent(interval=None)

    def __call__(self) -> HostStats:
        ps = self._psutil
        mem = ps.virtual_memory()
        try:
            load = os.getloadavg()
        except OSError:
            load = (0.0, 0.0, 0.0)
        cpu = ps.cpu_percent(interval=None)
        first, self._first = self._first, False
        return HostStats(
            hostname=self._hostname,
            cpu_percent=None if first else cpu,
            cores=self._cores,
            memory_percent=mem.percent,
            memory_used=mem.total - mem.available,
            memory_total=mem.total,
            load=(load[0], load[1], load[2]),
        )
