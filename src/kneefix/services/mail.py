"""Sending email over SMTP: reminder emails and account emails (password-reset links, invites).

The standard library's ``smtplib`` and ``email.message`` do the work: they speak SMTP with STARTTLS or
implicit TLS and build correct MIME, and nothing more is needed for a handful of messages a day. What
this module adds is one settings record and one error that says which part went wrong, so a
misconfigured server shows "cannot reach smtp.example.org:587 (connection refused)" and not a traceback.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kneefix.settings import MailSettings

mail_templates = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("mail_templates")),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
"""The emails' text and HTML templates (``mail_templates/``): HTML ones escape what they show."""


class MailError(Exception):
    """An email could not be handed to the mail server; the message says why, in plain words."""


def new_message(settings: MailSettings, to: str, subject: str) -> EmailMessage:
    """A message with From, To, Subject, Date and a Message-ID; the caller adds the body and headers."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(settings.sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    return message


def add_bodies(message: EmailMessage, template: str, context: Mapping[str, object]) -> EmailMessage:
    """Give the message its text body and HTML alternative from ``<template>.txt`` and ``.html``."""
    message.set_content(mail_templates.get_template(f"{template}.txt").render(context))
    message.add_alternative(mail_templates.get_template(f"{template}.html").render(context), subtype="html")
    return message


def send(settings: MailSettings, message: EmailMessage) -> None:
    """Hand the message to the configured SMTP server, or raise :class:`MailError` saying why not."""
    if not settings.host:
        raise MailError("no mail server is configured (KNEEFIX_SMTP_HOST).")
    where = f"{settings.host}:{settings.port}"
    try:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout_s, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
            if settings.username:
                client.login(settings.username, settings.password or "")
            client.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise MailError(f"the mail server {where} refused the user name or password.") from None
    except smtplib.SMTPNotSupportedError:
        raise MailError(
            f"the mail server {where} does not offer STARTTLS; set KNEEFIX_SMTP_SECURITY to ssl or none."
        ) from None
    except smtplib.SMTPRecipientsRefused:
        raise MailError(f"the mail server {where} refused the address {message['To']}.") from None
    except smtplib.SMTPException as error:
        raise MailError(f"the mail server {where} did not take the message ({error}).") from None
    except ssl.SSLError as error:
        raise MailError(f"the secure connection to {where} failed ({error.reason or error}).") from None
    except (TimeoutError, OSError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise MailError(f"cannot reach the mail server {where} ({reason}).") from None
