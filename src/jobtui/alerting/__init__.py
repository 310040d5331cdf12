"""Health checks and alerting: ``jobtui check`` and ``jobtui watch``.

- :mod:`.observe` — one poll of a server, judged by :mod:`jobtui.rules` (shared by both commands)
- :mod:`.config` — the ``watch`` and ``notifiers`` sections of the config
- :mod:`.engine` — the alert state machine (for, resolve, repeat, silences), with an injectable clock
- :mod:`.state` — the state file (alerts, what was sent, silences), written atomically
- :mod:`.message` — what a notification says, shared by every notifier
- :mod:`.notifiers` — Slack (webhook, bot), email, Alertmanager-style webhook
- :mod:`.dispatch` — delivery: one worker per notifier, retries with backoff, rate limits
- :mod:`.daemon` — the ``watch`` loop
"""
