"""Notifiers: Slack (incoming webhook, bot token), email (SMTP), Alertmanager-style webhook."""

from __future__ import annotations

from jobtui.alerting.config import (
    EmailConfig,
    NotifierConfig,
    SlackBotConfig,
    SlackWebhookConfig,
    WebhookConfig,
)
from jobtui.alerting.notifiers.base import Notifier, NotifyError


def build(config: NotifierConfig) -> Notifier:
    """The notifier for one config entry (the config module already refused unknown types)."""
    if isinstance(config, SlackWebhookConfig):
        from jobtui.alerting.notifiers.slack import SlackWebhook

        return SlackWebhook(config)
    if isinstance(config, SlackBotConfig):
        from jobtui.alerting.notifiers.slack import SlackBot

        return SlackBot(config)
    if isinstance(config, EmailConfig):
        from jobtui.alerting.notifiers.email import Email

        return Email(config)
    if isinstance(config, WebhookConfig):
        from jobtui.alerting.notifiers.webhook import Webhook

        return Webhook(config)
    raise ValueError(f"unknown notifier type {config.type!r}")


__all__ = ["Notifier", "NotifyError", "build"]
