"""Sending: SMTP (plain, SSL or STARTTLS) and webhook POSTs with an HMAC signature.

Secrets are read from the environment variables the channel names, at send time. Every failure is
returned as a short error text (never raised), so the run can mark the outbox message `failed` and
retry it next time. Each send is bounded by the channel's timeout.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import smtplib
import ssl
import urllib.error
import urllib.request

from aims_metrics.notify.channels import EmailConfig, WebhookConfig
from aims_metrics.notify.digest import email_message, webhook_body

SIGNATURE_HEADER = "X-AIMS-Signature"


class DeliveryError(RuntimeError):
    """A message could not be delivered; the text says why."""


def _secret(variable: str | None, what: str) -> str | None:
    if not variable:
        return None
    value = os.environ.get(variable)
    if not value:
        raise DeliveryError(f"the environment variable {variable} ({what}) is not set")
    return value


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body>`: the X-AIMS-Signature header value."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def send_email(config: EmailConfig, recipient: str, items: list[dict], as_of: str) -> None:
    """One digest to one recipient; DeliveryError with the reason on any failure."""
    message = email_message(config.sender, recipient, items, as_of)
    try:
        password = _secret(config.password_env, "SMTP password")
        if config.security == "ssl":
            client = smtplib.SMTP_SSL(
                config.smtp_host,
                config.smtp_port,
                timeout=config.timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(
                config.smtp_host, config.smtp_port, timeout=config.timeout_seconds
            )
        with client:
            if config.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if config.username and password:
                client.login(config.username, password)
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"SMTP {config.smtp_host}:{config.smtp_port}: {error}") from None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook that answers with a redirect has failed: following it would re-send the
    message as a GET without its body, or to an address nobody configured."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post_webhook(config: WebhookConfig, items: list[dict], as_of: str, run_id: str) -> None:
    """One POST with every item; signed when the channel names a secret."""
    body = webhook_body(config.format, items, as_of, run_id)
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "aims-review"}
    secret = _secret(config.secret_env, "webhook secret")
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    request = urllib.request.Request(config.url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=config.timeout_seconds) as response:
            response.read(65536)
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"webhook answered HTTP {error.code} {error.reason}") from None
    except (OSError, ValueError) as error:
        raise DeliveryError(f"webhook: {getattr(error, 'reason', error)}") from None
