"""Keep secrets out of logs: every log line is scrubbed of the configured secrets."""

from __future__ import annotations

import logging
from collections.abc import Iterable


class Redactor(logging.Filter):
    """Replaces each secret (webhook URLs, tokens, passwords) with ``***`` in log records."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        # longest first, so a URL is hidden whole before any token inside it
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = self.redact(record.getMessage())
            record.args = None
        return True


def install(secrets: Iterable[str]) -> Redactor:
    """Scrub every record that reaches the root logger's handlers."""
    redactor = Redactor(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    return redactor
