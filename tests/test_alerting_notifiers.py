"""Notifiers against real receivers: a local HTTP server standing in for Slack and webhook
receivers (only Slack's own servers are replaced, by pointing the URLs here) and a real SMTP
server (aiosmtpd), with STARTTLS, implicit TLS and auth on a self-signed certificate."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from jobtui.alerting.config import parse_watch
from jobtui.alerting.dispatch import Dispatcher
from jobtui.alerting.message import Batch, Item, notice
from jobtui.alerting.notifiers import NotifyError, build
from jobtui.alerting.notifiers.slack import payload as slack_payload
from jobtui.alerting.notifiers.webhook import payload as webhook_payload
from jobtui.alerting.redact import Redactor
from tests.alerting_support import (
    Authenticator,
    Mailbox,
    Receiver,
    Reply,
    make_cert,
    running_receiver,
    server_tls,
)
from tests.support import free_port


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


T0 = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
FAST = {"backoff": "50ms", "max_backoff": "200ms", "min_interval": 0}


def notifiers(spec: dict[str, Any], env: dict[str, str] | None = None) -> list[Any]:
    return [build(n) for n in parse_watch({}, spec, env or {}).notifiers]


def batch(*items: Item, dashboard: str | None = "https://example.com/jobs") -> Batch:
    return Batch(
        items or (firing("queue_depth", "critical", "Queue depth 60 > 50"),),
        "prod",
        "http://agent:8787",
        T0,
        environment="production",
        dashboard_url=dashboard,
        labels={"team": "jobs"},
    )


def firing(rule: str, level: str, text: str) -> Item:
    return Item(rule, "firing", level, text, T0, recommendation="Add workers.")  # type: ignore[arg-type]


def resolved(rule: str, text: str) -> Item:
    return Item(rule, "resolved", "warning", text, T0 - timedelta(minutes=5), T0)


async def deliver(notifier: Any, b: Batch) -> bool:
    """One delivery with the dispatcher's retries and rate limit (the notifier stays open)."""
    return await Dispatcher([notifier], lambda *_: None).deliver(notifier.config.name, b)


# --------------------------------------------------------------------------- Slack


async def test_slack_webhook_sends_block_kit_with_colour(receiver: Receiver) -> None:
    [n] = notifiers({"team": {"type": "slack_webhook", "url": receiver.url + "/hook"}})
    b = batch(
        firing("queue_depth", "critical", "Queue depth 60 > 50"),
        resolved("error_rate", "Error rate 1.0%"),
    )
    assert await deliver(n, b)
    [got] = receiver.at("/hook")
    body = got.body
    assert body["text"].startswith(
        ":red_circle: [CRITICAL] jobtui prod: Queue depth 60 &gt; 50 (+1 more)"
    )
    assert body["blocks"][0]["type"] == "header"
    attachment = body["attachments"][0]
    assert attachment["color"] == "#FF0000"
    sections = [b["text"]["text"] for b in attachment["blocks"] if b["type"] == "section"]
    assert sections[0].startswith("*[CRITICAL] Queue depth 60 &gt; 50*")
    assert "[RESOLVED] Error rate 1.0%" in sections[1]
    context = attachment["blocks"][-2]
    assert context["type"] == "context"
    assert any("production" in e["text"] for e in context["elements"])
    assert attachment["blocks"][-1]["elements"][0]["url"] == "https://example.com/jobs"


async def test_slack_webhook_honours_429_retry_after(receiver: Receiver) -> None:
    receiver.on("/hook", Reply(429, "rate_limited", {"Retry-After": "1"}), Reply(200, "ok"))
    [n] = notifiers({"s": {"type": "slack_webhook", "url": receiver.url + "/hook", **FAST}})
    assert await deliver(n, batch())
    first, second = receiver.at("/hook")
    assert second.at - first.at >= 0.95  # waited as asked, not the 50 ms backoff


async def test_slack_webhook_sends_at_most_one_message_per_second(receiver: Receiver) -> None:
    spec = {"type": "slack_webhook", "url": receiver.url + "/hook", "backoff": "50ms"}
    [n] = notifiers({"s": spec})  # min_interval defaults to 1 s for Slack
    d = Dispatcher([n], lambda *_: None)
    d.start()
    for i in range(3):
        d.submit("s", batch(firing(f"r{i}", "warning", f"alert {i}")))
    assert await d.join(10)
    await d.close()
    times = [r.at for r in receiver.at("/hook")]
    assert len(times) == 3
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(times))


def test_slack_bot_without_api_url_posts_to_slack() -> None:
    # On a slots dataclass the class attribute is the slot, not the default: the config once
    # took it for the URL and every slack_bot without an api_url crashed.
    spec = {"type": "slack_bot", "token": "xoxb-1", "channel": "C0123456789"}
    [n] = parse_watch({}, {"bot": spec}, {}).notifiers
    assert n.api_url == "https://slack.com/api"


async def test_slack_bot_posts_to_configurable_api_and_checks_ok(receiver: Receiver) -> None:
    spec = {
        "type": "slack_bot",
        "token_env": "MY_SLACK_TOKEN",
        "channel": "C0123456789",
        "api_url": receiver.url + "/api",
        **FAST,
    }
    [n] = notifiers({"bot": spec}, {"MY_SLACK_TOKEN": "xoxb-secret-token"})
    receiver.on("/api/chat.postMessage", Reply(200, {"ok": True, "ts": "1.2"}))
    assert await deliver(n, batch())
    [got] = receiver.at("/api/chat.postMessage")
    assert got.headers["Authorization"] == "Bearer xoxb-secret-token"
    assert got.body["channel"] == "C0123456789"
    assert got.body["attachments"][0]["color"] == "#FF0000"

    # 200 with ok=false is a failure; invalid_auth is permanent: no retry
    receiver.default["/api/chat.postMessage"] = Reply(200, {"ok": False, "error": "invalid_auth"})
    with pytest.raises(NotifyError, match="invalid_auth") as info:
        await n.send(batch())
    assert info.value.permanent
    before = len(receiver.received)
    assert not await deliver(n, batch())
    assert len(receiver.received) == before + 1

    # a transient ok=false is retried
    receiver.default.clear()
    receiver.on(
        "/api/chat.postMessage",
        Reply(200, {"ok": False, "error": "internal_error"}),
        Reply(200, {"ok": True}),
    )
    assert await deliver(n, batch())
    await n.aclose()


# --------------------------------------------------------------------------- webhook


async def test_webhook_sends_alertmanager_v4_payload(receiver: Receiver) -> None:
    spec = {"type": "webhook", "url": receiver.url + "/am", "token": "s3cret-bearer"}
    [n] = notifiers({"pager": spec})
    b = batch(
        firing("stuck_jobs", "critical", "Stuck jobs 6 > 5"),
        resolved("queue_depth", "Queue depth 3"),
    )
    assert await deliver(n, b)
    [got] = receiver.at("/am")
    p = got.body
    assert got.headers["Authorization"] == "Bearer s3cret-bearer"
    assert p["version"] == "4"
    assert p["status"] == "firing"
    assert p["receiver"] == "pager"
    assert p["truncatedAlerts"] == 0
    assert p["groupLabels"] == {"target": "prod"}
    assert p["commonLabels"] == {
        "team": "jobs",
        "target": "prod",
        "instance": "http://agent:8787",
        "job": "jobtui",
    }
    assert set(p) == {
        "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
        "commonLabels", "commonAnnotations", "externalURL", "alerts",
    }  # fmt: skip
    fire, res = p["alerts"]
    assert fire["status"] == "firing" and fire["labels"]["alertname"] == "stuck_jobs"
    assert fire["labels"]["severity"] == "critical"
    assert fire["endsAt"] == "0001-01-01T00:00:00Z"
    assert fire["annotations"]["summary"] == "Stuck jobs 6 > 5"
    assert res["status"] == "resolved" and res["endsAt"] == "2026-11-29T03:00:00.000Z"
    assert len(fire["fingerprint"]) == 16 and fire["fingerprint"] != res["fingerprint"]
    assert set(fire) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }


async def test_webhook_500_then_success_is_retried_with_backoff(receiver: Receiver) -> None:
    receiver.on("/am", Reply(500, "boom"), Reply(502, "bad gateway"), Reply(200, "{}"))
    [n] = notifiers({"w": {"type": "webhook", "url": receiver.url + "/am", "backoff": "100ms"}})
    assert await deliver(n, batch())
    a, b, c = (r.at for r in receiver.at("/am"))
    assert b - a >= 0.09 and c - b >= 0.19  # 100 ms, then doubled


async def test_webhook_truncates_to_max_alerts(receiver: Receiver) -> None:
    spec = {"type": "webhook", "url": receiver.url + "/am", "max_alerts": 1}
    [n] = notifiers({"w": spec})
    assert await deliver(n, batch(firing("a", "warning", "A"), firing("b", "critical", "B")))
    p = receiver.at("/am")[0].body
    assert p["truncatedAlerts"] == 1 and len(p["alerts"]) == 1
    assert p["alerts"][0]["labels"]["alertname"] == "b"  # the worst is kept


async def test_a_failing_notifier_never_stops_the_others(receiver: Receiver, caplog: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}/services/T000/B000/secret-path-xyz"
    spec = {
        "dead": {"type": "slack_webhook", "url": dead, **FAST, "attempts": 3},
        "ok": {"type": "webhook", "url": receiver.url + "/am", **FAST},
    }
    ns = notifiers(spec)
    delivered: list[str] = []
    d = Dispatcher(ns, lambda name, items: delivered.append(name))
    d.start()
    redactor = Redactor([dead])
    caplog.handler.addFilter(redactor)
    with caplog.at_level(logging.INFO, logger="jobtui.watch"):
        d.submit("dead", batch())
        d.submit("ok", batch())
        assert await d.join(10)
    await d.close()
    assert delivered == ["ok"]
    assert d.failures == 1 and not d.ready("dead")  # cools down before trying again
    text = caplog.text
    assert "attempt 1/3 failed: cannot connect" in text
    assert "notifier dead: could not send 1 alert" in text
    assert "secret-path-xyz" not in text


def test_redactor_hides_secrets_in_any_log_line() -> None:
    r = Redactor(["https://hooks.slack.com/services/T/B/XYZ", "pw"])  # too short: ignored
    record = logging.LogRecord(
        "x", logging.ERROR, "", 0, "failed %s", ("https://hooks.slack.com/services/T/B/XYZ",), None
    )
    r.filter(record)
    assert record.getMessage() == "failed ***"


# --------------------------------------------------------------------------- email


class SMTPServer:
    def __init__(self, tmp: Path, *, security: str = "none", auth: bool = False):
        self.mailbox = Mailbox()
        self.auth = Authenticator("alerts", "hunter2-smtp") if auth else None
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if security != "none":
            self.cert, key = make_cert(tmp)
            ctx = server_tls(self.cert, key)
            if security == "tls":
                kwargs["ssl_context"] = ctx
            else:
                kwargs.update(tls_context=ctx, require_starttls=True)
        if self.auth:
            kwargs.update(authenticator=self.auth, auth_required=True)
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> SMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def email_spec(server: SMTPServer, **extra: Any) -> dict[str, Any]:
    return {
        "type": "email",
        "host": "127.0.0.1",
        "port": server.port,
        "from": "alerts@example.com",
        "to": ["oncall@example.com", "lead@example.com"],
        "timeout": "3s",
        **FAST,
        **extra,
    }


async def test_email_multipart_with_seed_subjects(tmp_path: Path) -> None:
    with SMTPServer(tmp_path) as smtp:
        [n] = notifiers({"mail": email_spec(smtp, security="none")})
        assert await deliver(n, batch(firing("queue_depth", "critical", "Queue depth 60 > 50")))
        assert await deliver(n, batch(firing("error_rate", "warning", "Error rate 12.5% > 10%")))
        assert await deliver(
            n, batch(resolved("queue_depth", "Queue depth 3 (was: Queue depth 60 > 50)"))
        )
    subjects = [m["Subject"] for m in smtp.mailbox.messages]
    assert subjects == [
        "[CRITICAL] jobtui prod: Queue depth 60 > 50",
        "[WARNING] jobtui prod: Error rate 12.5% > 10%",
        "[RESOLVED] jobtui prod: Queue depth 3 (was: Queue depth 60 > 50)",
    ]
    msg = smtp.mailbox.messages[0]
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "[CRITICAL] Queue depth 60 > 50" in plain and "Add workers." in plain
    assert "color:#FF0000" in html and "Queue depth 60 &gt; 50" in html and "View Dashboard" in html
    assert smtp.mailbox.envelopes[0].rcpt_tos == ["oncall@example.com", "lead@example.com"]


async def test_email_starttls_with_auth_and_private_ca(tmp_path: Path) -> None:
    with SMTPServer(tmp_path, security="starttls", auth=True) as smtp:
        spec = email_spec(
            smtp, security="starttls", username="alerts", password_env="PW", ca_file=str(smtp.cert)
        )
        [n] = notifiers({"mail": spec}, {"PW": "hunter2-smtp"})
        assert await deliver(n, batch())
        assert smtp.auth and smtp.auth.attempts == [("alerts", "hunter2-smtp")]
        assert len(smtp.mailbox.messages) == 1

        # a wrong password is a permanent error whose message has no password in it
        [bad] = notifiers({"mail": {**spec, "password_env": "NOPE", "password": "wrong-pw"}})
        with pytest.raises(NotifyError, match="authentication failed") as info:
            await bad.send(batch())
        assert info.value.permanent and "wrong-pw" not in str(info.value)

        # without the CA the self-signed certificate is refused, not silently accepted
        [untrusted] = notifiers({"mail": {**spec, "ca_file": None}}, {"PW": "hunter2-smtp"})
        with pytest.raises(NotifyError, match="certificate not trusted"):
            await untrusted.send(batch())


async def test_email_implicit_tls(tmp_path: Path) -> None:
    with SMTPServer(tmp_path, security="tls") as smtp:
        [n] = notifiers({"mail": email_spec(smtp, security="tls", ca_file=str(smtp.cert))})
        assert await deliver(n, batch())
        assert smtp.mailbox.messages[0]["Subject"].startswith("[CRITICAL]")


async def test_email_to_a_dead_server_is_retried_then_given_up(tmp_path: Path) -> None:
    spec = {
        "type": "email",
        "host": "127.0.0.1",
        "port": free_port(),
        "security": "none",
        "from": "a@example.com",
        "to": "b@example.com",
        **FAST,
        "attempts": 2,
    }
    [n] = notifiers({"mail": spec})
    start = time.monotonic()
    assert not await deliver(n, batch())
    assert time.monotonic() - start < 5


FIGURES = {"queueDepth": 60, "note": "<b>&`x```</b>", "jobsPerHour": 0}


async def test_slack_carries_the_figures_as_the_seeds_code_block(receiver: Receiver) -> None:
    [n] = notifiers({"team": {"type": "slack_webhook", "url": receiver.url + "/hook"}})
    b = batch(firing("queue_depth", "critical", "Queue depth 60 > 50"))
    assert await deliver(n, dataclasses.replace(b, figures=FIGURES))
    blocks = receiver.at("/hook")[0].body["attachments"][0]["blocks"]
    code = [x["text"]["text"] for x in blocks if x["type"] == "section"][-1]
    assert code.startswith('```{\n  "queueDepth": 60,\n') and code.endswith("\n}```")
    # the text stays text: Slack's escaping, and no backtick can close the block early
    assert '"note": "&lt;b&gt;&amp;\\u0060x\\u0060\\u0060\\u0060&lt;/b&gt;"' in code
    assert code.count("```") == 2
    # without figures (watch --test, system down) there is no code block
    assert await deliver(n, b)
    blocks = receiver.at("/hook")[1].body["attachments"][0]["blocks"]
    assert not any("```" in x.get("text", {}).get("text", "") for x in blocks)


async def test_email_carries_the_figures_in_a_pre_block_and_notices_are_info(
    tmp_path: Path,
) -> None:
    with SMTPServer(tmp_path) as smtp:
        [n] = notifiers({"mail": email_spec(smtp, security="none")})
        b = batch(firing("queue_depth", "critical", "Queue depth 60 > 50"))
        assert await deliver(n, dataclasses.replace(b, figures=FIGURES))
        info = notice("incident", "Recovery Status: Background Job System", T0, "Recovered.")
        assert await deliver(n, batch(info))
    first, second = smtp.mailbox.messages
    html = first.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert "<pre>{\n  &quot;queueDepth&quot;: 60," in html
    assert "&lt;b&gt;&amp;" in html and "<b>&" not in html
    assert '"queueDepth": 60' in first.get_body(("plain",)).get_content()
    assert second["Subject"] == "[INFO] jobtui prod: Recovery Status: Background Job System"
    assert second["X-Jobtui-Status"] == "info"
    html = second.get_body(("html",)).get_content()
    assert 'h1 style="color:#36C5F0"' in html and "<pre>" not in html
    assert "RESOLVED" not in html and "Recovered." in html


def test_a_notice_is_info_on_every_channel(receiver: Receiver) -> None:
    b = batch(notice("test", "Test notification from jobtui watch --test", T0))
    assert (b.kind, b.status) == ("info", "firing")
    assert b.lines() == ["[INFO] Test notification from jobtui watch --test"]
    body = slack_payload(b)
    assert body["text"].startswith(":information_source: [INFO] jobtui prod: Test")
    assert body["attachments"][0]["color"] == "#36C5F0"
    [alert] = webhook_payload(b, "pager")["alerts"]
    assert alert["labels"]["severity"] == "info"
    # a notice beside an alert does not soften it
    assert batch(b.items[0], firing("b", "warning", "B bad")).kind == "warning"


def test_batch_subject_and_kind() -> None:
    b = batch(resolved("a", "A ok"), firing("b", "warning", "B bad"))
    assert b.kind == "warning" and b.status == "firing"
    assert b.subject == "[WARNING] jobtui prod: B bad (+1 more)"
    assert batch(resolved("a", "A ok")).subject == "[RESOLVED] jobtui prod: A ok"


def test_asyncio_is_not_blocked_by_email() -> None:
    """SMTP runs in a thread: the loop keeps ticking while a send waits on a silent server."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts connections but never greets

    async def main() -> int:
        spec = {"type": "email", "host": "127.0.0.1", "port": silent.getsockname()[1],
                "security": "none", "from": "a@example.com", "to": "b@example.com",
                "timeout": "1s"}  # fmt: skip
        [n] = notifiers({"mail": spec})
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        t = asyncio.create_task(ticker())
        with pytest.raises(NotifyError, match="timed out"):
            await n.send(batch())
        t.cancel()
        return ticks

    try:
        assert asyncio.run(main()) >= 10
    finally:
        silent.close()
