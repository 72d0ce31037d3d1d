"""Billing fixtures: booked appointments to pay, campus card balances, and WeChat Pay's stand-in
(a real HTTP server on 127.0.0.1 with generated test keys) wired into the settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from smartclinic.billing.cards import card_top_up
from smartclinic.billing.wechat import _client_for
from smartclinic.billing.wechat_standin import StandinKeys, WechatPayStandin, generate_keys
from smartclinic.booking.models import Appointment
from smartclinic.booking.services import appointment_book
from smartclinic.booking.tests.conftest import (  # noqa: F401 - fixtures shared with booking's tests
    clinic,
    make_department,
    make_doctor,
    make_session,
    patient,
    slots_of,
)
from smartclinic.core.actor import Actor
from smartclinic.identity.models import Member, User

NOTIFY_PATH = "/api/v1/payments/wechat/notify"


@pytest.fixture(scope="session")
def wechat_keys() -> StandinKeys:
    return generate_keys()


@pytest.fixture(scope="session")
def other_keys() -> StandinKeys:
    """Someone else's keys: what a forger would sign with."""
    return generate_keys()


@pytest.fixture
def standin(wechat_keys: StandinKeys, settings: Any) -> Iterator[WechatPayStandin]:
    server = WechatPayStandin(wechat_keys).start()
    settings.WECHATPAY_MCHID = wechat_keys.mchid
    settings.WECHATPAY_APPID = wechat_keys.appid
    settings.WECHATPAY_MERCHANT_SERIAL_NO = wechat_keys.merchant_serial_no
    settings.WECHATPAY_PRIVATE_KEY = wechat_keys.merchant_private_pem
    settings.WECHATPAY_APIV3_KEY = wechat_keys.apiv3_key
    settings.WECHATPAY_PUBLIC_KEY = wechat_keys.platform_public_pem
    settings.WECHATPAY_PUBLIC_KEY_ID = wechat_keys.public_key_id
    settings.WECHATPAY_NOTIFY_URL = "http://testserver" + NOTIFY_PATH
    settings.WECHATPAY_BASE_URL = server.url
    settings.WECHATPAY_STANDIN = False
    _client_for.cache_clear()
    yield server
    server.stop()
    _client_for.cache_clear()


@pytest.fixture
def notify() -> Callable[[dict[str, str], bytes], Any]:
    """Deliver a notification to our notify URL as WeChat Pay would (no sign-in)."""
    client = Client()

    def send(headers: dict[str, str], body: bytes) -> Any:
        extra = {name: value for name, value in headers.items() if name.lower() != "content-type"}
        return client.post(NOTIFY_PATH, data=body, content_type="application/json", headers=extra)

    return send


@pytest.fixture
def booked(clinic, patient) -> Callable[..., tuple[User, Member, Appointment]]:  # noqa: F811
    """A patient with a booked (unpaid) appointment in the clinic fixture's session."""

    def make(*, slot_index: int = 0, balance: int = 0, **member_fields: Any) -> tuple[User, Member, Appointment]:
        user, member = patient(**member_fields)
        slot = slots_of(clinic["session"])[slot_index]
        appointment = appointment_book(actor=Actor.of(user), member=member, slot=slot)
        if balance:
            card_top_up(actor=Actor.system(reason="test"), member=member, amount=balance)
        return user, member, appointment

    return make


class Ledger:
    """What a step wrote to the audit log and the outbox (ids above a mark)."""

    def __init__(self) -> None:
        self.mark()

    def mark(self) -> None:
        from smartclinic.audit.models import AuditEntry
        from smartclinic.outbox.models import OutboxMessage

        self._audit = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        self._outbox = OutboxMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def audit(self) -> list[str]:
        from smartclinic.audit.models import AuditEntry

        return list(AuditEntry.objects.filter(id__gt=self._audit).order_by("id").values_list("action", flat=True))

    def audit_entries(self) -> list[Any]:
        from smartclinic.audit.models import AuditEntry

        return list(AuditEntry.objects.filter(id__gt=self._audit).order_by("id"))

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        from smartclinic.outbox.models import OutboxMessage

        return [
            (message.name, message.payload)
            for message in OutboxMessage.objects.filter(id__gt=self._outbox).order_by("id")
        ]


@pytest.fixture
def ledger() -> Callable[[], Ledger]:
    return Ledger


@pytest.fixture
def prepaid(booked, standin):
    """A booked appointment whose registration order has a WeChat prepay at the stand-in."""

    def make(**kwargs: Any) -> tuple[User, Member, Appointment, Any]:
        from smartclinic.billing.services import order_for_appointment
        from smartclinic.billing.wechat_payments import order_prepay_wechat

        user, member, appointment = booked(**kwargs)
        order = order_for_appointment(actor=Actor.of(user), appointment=appointment)
        order_prepay_wechat(actor=Actor.of(user), order=order, openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        order.refresh_from_db()
        return user, member, appointment, order

    return make
