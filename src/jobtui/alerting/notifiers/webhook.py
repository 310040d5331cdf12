"""A generic webhook whose JSON is Alertmanager's webhook payload (version 4), so receivers
written for Alertmanager (PagerDuty bridges, chat bots, ticketing) accept it unchanged.

One alert per rule: ``labels`` are ``alertname`` (the rule), ``severity``, ``target``,
``instance`` (the server URL), ``job`` and the config's ``watch.labels``; ``fingerprint``
depends on the rule and target only, so an escalation updates the same alert.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypedDict

from jobtui.alerting.config import WebhookConfig
from jobtui.alerting.message import Batch, Item
from jobtui.alerting.notifiers.base import JSONPoster
from jobtui.contract import iso

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for a firing alert


def labels_of(batch: Batch, item: Item) -> dict[str, str]:
    return {
        **batch.labels,
        "alertname": item.rule,
        "severity": item.kind if item.notice else item.level,
        "target": batch.target,
        "instance": batch.url,
        "job": "jobtui",
    }


def fingerprint(batch: Batch, item: Item) -> str:
    key = f"alertname={item.rule}\x00target={batch.target}\x00instance={batch.url}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class _Alert(TypedDict):
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: str
    endsAt: str
    generatorURL: str
    fingerprint: str


def payload(batch: Batch, receiver: str, max_alerts: int = 0) -> dict[str, Any]:
    """Alertmanager's webhook payload, version 4."""
    alerts: list[_Alert] = []
    for item in batch.ordered():
        annotations = {"summary": item.text, "description": "\n".join(batch.lines())}
        if item.recommendation and item.status == "firing":
            annotations["recommendation"] = item.recommendation
        if batch.figures:
            annotations["figures"] = json.dumps(dict(batch.figures), sort_keys=True)
        alerts.append(
            {
                "status": item.status,
                "labels": labels_of(batch, item),
                "annotations": annotations,
                "startsAt": iso(item.started_at),
                "endsAt": iso(item.ended_at) if item.ended_at else ZERO_TIME,
                "generatorURL": batch.dashboard_url or batch.url,
                "fingerprint": fingerprint(batch, item),
            }
        )
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    common_labels = _common([a["labels"] for a in alerts])
    common_annotations = _common([a["annotations"] for a in alerts])
    return {
        "version": "4",
        "groupKey": f'{{}}:{{target="{batch.target}"}}',
        "truncatedAlerts": truncated,
        "status": batch.status,
        "receiver": receiver,
        "groupLabels": {"target": batch.target},
        "commonLabels": common_labels,
        "commonAnnotations": common_annotations,
        "externalURL": batch.dashboard_url or batch.url,
        "alerts": alerts,
    }


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first, *rest = maps
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


class Webhook:
    def __init__(self, config: WebhookConfig):
        self.config = config
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else None
        self.http = JSONPoster(config.delivery.timeout, headers)

    async def send(self, batch: Batch) -> None:
        body = payload(batch, self.config.name, self.config.max_alerts)
        await self.http.post(self.config.url, body)

    async def aclose(self) -> None:
        await self.http.aclose()
