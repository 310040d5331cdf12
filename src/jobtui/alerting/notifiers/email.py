"""Email over SMTP: STARTTLS (587), implicit TLS (465) or plain (a local relay), with
optional auth; multipart plain text + HTML; subjects ``[CRITICAL] …``, ``[WARNING] …``,
``[RESOLVED] …``. TLS certificates are verified (``ca_file`` adds a private CA)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from jobtui.alerting.config import EmailConfig
from jobtui.alerting.message import Batch
from jobtui.alerting.notifiers.base import NotifyError


def build_message(config: EmailConfig, batch: Batch) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = batch.subject
    msg["From"] = config.sender
    msg["To"] = ", ".join(config.to)
    msg["Date"] = format_datetime(batch.at)
    msg["Message-ID"] = make_msgid(domain=config.sender.rsplit("@", 1)[-1] or None)
    msg["X-Jobtui-Status"] = batch.kind
    msg.set_content(batch.text())
    msg.add_alternative(batch.html(), subtype="html")
    return msg


class Email:
    def __init__(self, config: EmailConfig):
        self.config = config

    async def send(self, batch: Batch) -> None:
        msg = build_message(self.config, batch)
        await asyncio.to_thread(self._send, msg)

    def _send(self, msg: EmailMessage) -> None:
        c = self.config
        where = f"{c.host}:{c.port}"
        try:
            context = ssl.create_default_context(cafile=c.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise NotifyError(f"cannot load ca_file: {exc}", permanent=True) from None
        timeout = c.delivery.timeout
        try:
            smtp: smtplib.SMTP
            if c.security == "tls":
                smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=timeout, context=context)
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=timeout)
            with smtp:
                smtp.ehlo()
                if c.security == "starttls":
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if c.username:
                    smtp.login(c.username, c.password or "")
                smtp.send_message(msg)
        except smtplib.SMTPNotSupportedError:
            raise NotifyError(f"{where} does not offer STARTTLS or AUTH", permanent=True) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise NotifyError(
                f"{where}: authentication failed ({exc.smtp_code})", permanent=True
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(sorted(exc.recipients))
            raise NotifyError(f"{where} refused the recipients {refused}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            permanent = 500 <= exc.smtp_code < 600
            raise NotifyError(
                f"{where}: {exc.smtp_code} {text[:120]}", permanent=permanent
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise NotifyError(
                f"{where}: TLS certificate not trusted ({exc.verify_message}; set ca_file?)",
                permanent=True,
            ) from None
        except ssl.SSLError as exc:
            raise NotifyError(f"{where}: TLS failed ({exc.reason or exc})") from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            if reason.startswith("[Errno") and "] " in reason:
                reason = reason.split("] ", 1)[1]
            raise NotifyError(f"{where}: {reason[:160]}") from None

    async def aclose(self) -> None:
        return None
