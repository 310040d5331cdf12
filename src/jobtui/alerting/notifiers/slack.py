"""Slack: an incoming webhook, or a bot token with ``chat.postMessage``.

Both send the same Block Kit message as the seed's ``sendSlackAlert``: a header with an emoji,
one section per alert inside an attachment coloured by severity, the figures as the seed's code
block (its ``data``), the time and environment, and a "View Dashboard" button. Slack allows about one message per second per webhook; the
dispatcher spaces messages (``min_interval``, default 1 s) and honours 429 ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from jobtui.alerting.config import SlackBotConfig, SlackWebhookConfig
from jobtui.alerting.message import COLOURS, EMOJI, Batch
from jobtui.alerting.notifiers.base import JSONPoster, NotifyError
from jobtui.contract import iso

MAX_SECTIONS = 20  # Block Kit allows 50 blocks per message; keep it readable
MAX_TEXT = 3000  # characters in one section's text
# chat.postMessage errors that no retry will fix
PERMANENT = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_blocks",
    "invalid_arguments",
}


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: only &, < and > (``60 > 50`` would otherwise break)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(batch: Batch) -> dict[str, Any]:
    """The Block Kit message (fallback ``text`` for notifications and old clients)."""
    kind = batch.kind
    header = f"{EMOJI[kind]} {batch.subject}"
    if len(header) > 150:  # the header block's limit
        header = header[:149] + "…"
    sections: list[dict[str, Any]] = []
    lines = batch.lines()
    for line, item in zip(lines[:MAX_SECTIONS], batch.ordered(), strict=False):
        when = "at" if item.notice else "since"
        text = f"*{escape(line)}*\n_{when} {iso(item.started_at)}_"
        if item.status == "firing" and item.recommendation:
            text += f"\n{'' if item.notice else '→ '}{escape(item.recommendation)}"
        sections.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    if len(lines) > MAX_SECTIONS:
        more = f"… and {len(lines) - MAX_SECTIONS} more"
        sections.append({"type": "section", "text": {"type": "mrkdwn", "text": more}})
    data = batch.data()
    if data:
        code = escape(data)
        if len(code) > MAX_TEXT - 6:  # a section's limit; the block must stay closed
            code = code[: MAX_TEXT - 7] + "…"
        block = {"type": "mrkdwn", "text": f"```{code}```"}
        sections.append({"type": "section", "text": block})
    context = [f"*Target:* {escape(batch.target)}", f"*Time:* {iso(batch.at)}"]
    if batch.environment:
        context.append(f"*Environment:* {escape(batch.environment)}")
    sections.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in context]}
    )
    if batch.dashboard_url:
        sections.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "View Dashboard", "emoji": True},
                        "url": batch.dashboard_url,
                    }
                ],
            }
        )
    return {
        "text": f"{EMOJI[kind]} {escape(batch.subject)}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}}
        ],
        "attachments": [{"color": COLOURS[kind], "blocks": sections}],
    }


class SlackWebhook:
    """An incoming webhook (``https://hooks.slack.com/services/…``): answers 200 ``ok``."""

    def __init__(self, config: SlackWebhookConfig):
        self.config = config
        self.http = JSONPoster(config.delivery.timeout)

    async def send(self, batch: Batch) -> None:
        await self.http.post(self.config.url, payload(batch))

    async def aclose(self) -> None:
        await self.http.aclose()


class SlackBot:
    """A bot token with ``chat.postMessage``, which answers 200 with ``{"ok": false}`` on
    error: the ``ok`` field decides, not the status."""

    def __init__(self, config: SlackBotConfig):
        self.config = config
        self.http = JSONPoster(config.delivery.timeout)

    async def send(self, batch: Batch) -> None:
        body = {"channel": self.config.channel, **payload(batch)}
        headers = {"Authorization": f"Bearer {self.config.token}"}
        resp = await self.http.post(f"{self.config.api_url}/chat.postMessage", body, headers)
        try:
            data = resp.json()
        except ValueError:
            raise NotifyError("chat.postMessage answered something that is not JSON") from None
        if not isinstance(data, dict) or data.get("ok") is not True:
            error = str(data.get("error", "unknown_error")) if isinstance(data, dict) else "?"
            raise NotifyError(f"chat.postMessage: {error[:80]}", permanent=error in PERMANENT)

    async def aclose(self) -> None:
        await self.http.aclose()
