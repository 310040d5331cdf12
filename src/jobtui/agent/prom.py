"""``GET /metrics``: the agent's figures in Prometheus' text exposition format."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from jobtui.agent.health import Computed
from jobtui.agent.schema import INF
from jobtui.contract import JOB_STATUSES

if TYPE_CHECKING:
    from jobtui.agent.service import Agent


class _Snapshot:
    """A one-shot collector over figures already read (the registry only formats them)."""

    def __init__(
        self,
        c: Computed,
        utilization: float,
        totals: dict[str, float],
        buckets: list[tuple[float, int]],
        leader: bool = False,
    ):
        self.c, self.util, self.totals, self.buckets = c, utilization, totals, buckets
        self.leader = leader

    def collect(self) -> Iterator[Metric]:
        c = self.c
        yield GaugeMetricFamily("jobtui_queue_jobs", "Jobs waiting (pending)", value=c.queue_depth)
        by_status = GaugeMetricFamily("jobtui_jobs", "Jobs by status", labels=["status"])
        for status in JOB_STATUSES:
            by_status.add_metric([status], c.counts.get(status, 0))
        yield by_status
        processed = CounterMetricFamily(
            "jobtui_jobs_processed", "Jobs that finished, by outcome", labels=["outcome"]
        )
        for outcome in ("completed", "failed"):
            processed.add_metric([outcome], self.totals.get(f"{outcome}_total", 0.0))
        yield processed
        cumulative = [(f"{le:g}" if le < INF else "+Inf", n) for le, n in self.buckets]
        if not cumulative or cumulative[-1][0] != "+Inf":
            cumulative.append(("+Inf", int(self.totals.get("duration_seconds_count", 0))))
        yield HistogramMetricFamily(
            "jobtui_job_duration_seconds",
            "Time from start to finish of finished jobs",
            buckets=cumulative,
            sum_value=self.totals.get("duration_seconds_sum", 0.0),
        )
        last = c.last_processed_at.timestamp() if c.last_processed_at else 0.0
        yield GaugeMetricFamily(
            "jobtui_last_processed_timestamp_seconds",
            "When the last job finished (Unix time; 0 when none has)",
            value=last,
        )
        for name, doc, value in (
            (
                "jobtui_stuck_jobs",
                "Jobs processing with no update past the stuck threshold",
                c.stuck,
            ),
            ("jobtui_processing_capacity", "Free worker slots", c.capacity),
            ("jobtui_success_rate_percent", "Success rate over the stats window", c.success_rate),
            ("jobtui_error_rate_percent", "Error rate over the stats window", c.error_rate),
            (
                "jobtui_average_processing_seconds",
                "Mean run time of completed jobs over the stats window",
                c.average_processing_time / 1000,
            ),
            (
                "jobtui_average_wait_seconds",
                "Mean wait before start over the stats window",
                c.wait_time / 1000,
            ),
            ("jobtui_jobs_per_hour", "Jobs finished in the last hour", c.jobs_per_hour),
            ("jobtui_resource_utilization_percent", "Busiest host resource", self.util),
            (
                "jobtui_agent_leader",
                "1 on the agent that samples, prunes and runs scheduled backups; 0 on others",
                int(self.leader),
            ),
        ):
            yield GaugeMetricFamily(name, doc, value=value)


async def render_metrics(agent: Agent) -> tuple[bytes, str]:
    c, util = await agent.computed()
    totals, buckets = await agent.run(agent.store.counters)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(c, util, totals, buckets, agent.leader.is_leader))
    return generate_latest(registry), CONTENT_TYPE_LATEST
