"""Channel adapters: each sends one delivery through its provider and says how it went.

A sender returns a ``SendReceipt`` or raises ``TemporaryFailure`` (retried with backoff;
``channel_down`` pauses the whole channel for a while) or ``PermanentFailure`` (the delivery is
skipped: the person unsubscribed, has no address any more...). The inbox needs no sender: its
delivery is made when the message is.

Each sender passes the delivery's id to the provider as an idempotency key, which bounds the one
duplicate our at-least-once sending can cause (see the dispatcher and ADR 0005).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from typing import ClassVar, Protocol
from urllib.parse import urlparse

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from smartclinic.identity.models import Member
from smartclinic.notifications import conf
from smartclinic.notifications.choices import Channel
from smartclinic.notifications.models import Delivery, Message, WechatRecipient
from smartclinic.notifications.wechat import WechatApiError, WechatClient, WechatTransportError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendReceipt:
    provider_message_id: str = ""
    address: str = ""


class DeliveryFailure(Exception):
    pass


class TemporaryFailure(DeliveryFailure):
    """Try again later. ``channel_down``: the provider itself is unreachable or overloaded."""

    def __init__(self, reason: str, *, channel_down: bool = False) -> None:
        super().__init__(reason)
        self.channel_down = channel_down


class PermanentFailure(DeliveryFailure):
    """Retrying cannot help: the delivery is marked skipped."""


class Sender(Protocol):
    channel: ClassVar[str]

    def send(self, *, delivery: Delivery, message: Message) -> SendReceipt: ...

    def close(self) -> None: ...


def mask(channel: str, address: str) -> str:
    """Enough of an address for staff to recognise it in the delivery log, not to copy it."""
    if not address:
        return ""
    if channel == Channel.EMAIL and "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    if channel == Channel.SMS:
        return f"{address[:3]}****{address[-4:]}" if len(address) >= 7 else "****"
    return f"{address[:6]}…"


# --- WeChat template messages ----------------------------------------------------------------
WECHAT_VALUE_MAX = 200


def wechat_template_data(message: Message) -> dict[str, dict[str, str]]:
    """The template's fields: ``first`` (title), ``keyword1`` (text), ``keyword2`` (time),
    ``remark``. The account's templates must have these keys (ADR 0005)."""
    created = timezone.localtime(message.created_at).strftime("%Y-%m-%d %H:%M")
    return {
        "first": {"value": message.title[:WECHAT_VALUE_MAX]},
        "keyword1": {"value": message.body[:WECHAT_VALUE_MAX]},
        "keyword2": {"value": created},
        "remark": {"value": ""},
    }


class WechatSender:
    channel: ClassVar[str] = Channel.WECHAT

    def __init__(self, client: WechatClient) -> None:
        self.client = client

    def send(self, *, delivery: Delivery, message: Message) -> SendReceipt:
        recipient = WechatRecipient.objects.filter(user_id=message.recipient_id).first()
        if recipient is None or recipient.appid != self.client.appid:
            raise PermanentFailure("the account has no WeChat openid for this official account")
        template_id = conf.wechat_template_id(message.kind)
        if not template_id:
            raise PermanentFailure(f"no WeChat template is configured for {message.kind}")
        try:
            msgid = self.client.send_template(
                openid=recipient.openid,
                template_id=template_id,
                data=wechat_template_data(message),
                url=conf.absolute_url(message.link),
                client_msg_id=delivery.public_id.hex,
            )
        except WechatApiError as exc:
            if exc.recipient_gone:
                raise PermanentFailure(str(exc)) from exc
            raise TemporaryFailure(str(exc), channel_down=exc.busy) from exc
        except WechatTransportError as exc:
            raise TemporaryFailure(str(exc), channel_down=True) from exc
        return SendReceipt(provider_message_id=msgid, address=mask(Channel.WECHAT, recipient.openid))

    def close(self) -> None:
        self.client.close()


# --- e-mail (Django's e-mail backend: SMTP in production) ------------------------------------
class EmailSender:
    channel: ClassVar[str] = Channel.EMAIL

    def send(self, *, delivery: Delivery, message: Message) -> SendReceipt:
        address = message.recipient.email
        if not address:
            raise PermanentFailure("the account has no e-mail address")
        domain = urlparse(conf.public_base_url()).hostname or "smartclinic.local"
        # The same Message-ID on a resend lets mail systems and clients drop the duplicate.
        message_id = f"<{delivery.public_id.hex}@{domain}>"
        context = {"message": message, "link": conf.absolute_url(message.link)}
        with translation.override(message.language):
            text = render_to_string("notifications/email/message.txt", context)
            html = render_to_string("notifications/email/message.html", context)
        email = EmailMultiAlternatives(
            subject=message.title,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
            headers={"Message-ID": message_id, "X-SmartClinic-Message": str(message.public_id)},
        )
        email.attach_alternative(html, "text/html")
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _reason in exc.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"the mail server refused the address: {codes}") from exc
            raise TemporaryFailure(f"the mail server deferred the address: {codes}") from exc
        except smtplib.SMTPResponseException as exc:
            raise TemporaryFailure(f"SMTP {exc.smtp_code}", channel_down=exc.smtp_code < 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"SMTP: {type(exc).__name__}", channel_down=True) from exc
        return SendReceipt(provider_message_id=message_id, address=mask(Channel.EMAIL, address))

    def close(self) -> None:
        return None


# --- SMS: an adapter slot for the clinic's provider ------------------------------------------
class SmsProvider(Protocol):
    """What an SMS provider adapter implements. Configure one with ``SMS_PROVIDER`` = its dotted
    class path (constructed without arguments; read credentials from settings/env). ``send``
    returns the provider's message id, raises ``TemporaryFailure`` to be retried or
    ``PermanentFailure`` for a number that cannot receive, and should pass ``idempotency_key`` to
    the provider (Aliyun ``OutId``, Tencent Cloud ``SessionContext``) so a resend is recognisable."""

    name: str

    def send(self, *, phone: str, text: str, idempotency_key: str) -> str: ...


class ConsoleSmsProvider:
    """DEVELOPMENT ONLY: writes the text message to the log and sends nothing to any phone."""

    name = "console"

    def send(self, *, phone: str, text: str, idempotency_key: str) -> str:
        logger.warning(
            "SMS NOT SENT (console provider, development only) to %s [%s]: %s",
            mask(Channel.SMS, phone),
            idempotency_key,
            text,
        )
        return f"console-{idempotency_key}"


def load_sms_provider(name: str) -> SmsProvider | None:
    if not name:
        return None
    if name == "console":
        return ConsoleSmsProvider()
    provider: SmsProvider = import_string(name)()
    return provider


class SmsSender:
    channel: ClassVar[str] = Channel.SMS

    def __init__(self, provider: SmsProvider) -> None:
        self.provider = provider

    def send(self, *, delivery: Delivery, message: Message) -> SendReceipt:
        member = Member.objects.filter(account_id=message.recipient_id).first()
        phone = member.phone if member is not None else ""
        if not phone:
            raise PermanentFailure("the member has no phone number")
        separator = "：" if message.language == "zh-hans" else ": "
        text = f"{message.title}{separator}{message.body}"
        provider_id = self.provider.send(phone=phone, text=text, idempotency_key=delivery.public_id.hex)
        return SendReceipt(provider_message_id=provider_id, address=mask(Channel.SMS, phone))

    def close(self) -> None:
        return None


def senders_from_settings() -> dict[str, Sender]:
    """The channels configured here; a channel without a sender keeps its deliveries pending."""
    senders: dict[str, Sender] = {}
    if conf.wechat_configured():
        senders[Channel.WECHAT] = WechatSender(WechatClient.from_settings())
    if conf.email_enabled():
        senders[Channel.EMAIL] = EmailSender()
    provider = load_sms_provider(conf.sms_provider_name())
    if provider is not None:
        senders[Channel.SMS] = SmsSender(provider)
    return senders
