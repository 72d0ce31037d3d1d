"""Fixtures for the notification tests: a clinic with a session, patients with their channels,
the WeChat stand-in, a local SMTP server, and helpers that run the outbox and the sender."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from smartclinic.booking.models import Appointment
from smartclinic.booking.services import appointment_book
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.identity.models import Member, User
from smartclinic.notifications.dispatcher import SendReport, deliveries_send_until_idle
from smartclinic.notifications.models import NotificationPreference, WechatRecipient
from smartclinic.notifications.wechat_standin import WechatStandIn
from smartclinic.outbox.dispatcher import dispatch_until_idle
from smartclinic.outbox.models import HandlerDelivery, OutboxMessage
from smartclinic.outbox.registry import handlers_for
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, Slot
from smartclinic.scheduling.services import session_create_one_off

APPID = "wx-test-app"
SECRET = "test-secret"
TEMPLATE = "tmpl-generic"

_seq = {"n": 0}


def _n() -> int:
    _seq["n"] += 1
    return _seq["n"]


@pytest.fixture(autouse=True)
def _no_external_channels(settings: Any) -> None:
    """Unit tests start with only the inbox; a test turns on the channel it exercises."""
    settings.WECHAT_APP_ID = ""
    settings.WECHAT_APP_SECRET = ""
    settings.NOTIFICATIONS_EMAIL = False
    settings.SMS_PROVIDER = ""
    settings.NOTIFICATIONS_PUBLIC_BASE_URL = "https://clinic.example.edu"


@pytest.fixture
def make_clinic_session(make_user: Callable[..., User]) -> Callable[..., ClinicSession]:
    def make(
        *,
        days_ahead: int = 1,
        start: dt.time = dt.time(8, 0),
        end: dt.time = dt.time(9, 0),
        department: Department | None = None,
        doctor: Doctor | None = None,
    ) -> ClinicSession:
        n = _n()
        department = department or Department.objects.create(
            code=f"N{n}", name="内科", name_en="Internal Medicine", location="门诊楼二层"
        )
        if doctor is None:
            doctor = Doctor.objects.create(user=make_user("doctor"), name="李华", title="attending", room="201")
            doctor.departments.set([department])
        session = session_create_one_off(
            actor=Actor.system(reason="test"),
            doctor=doctor,
            department=department,
            date=clock.today() + dt.timedelta(days=days_ahead),
            period="morning" if start.hour < 12 else "afternoon",
            start=start,
            end=end,
            slot_minutes=15,
            per_slot=2,
            walkin_percent=0,
        )
        ClinicSession.objects.filter(pk=session.pk).update(opens_at=clock.now() - dt.timedelta(days=30))
        session.refresh_from_db()
        return session

    return make


@pytest.fixture
def session(make_clinic_session: Callable[..., ClinicSession]) -> ClinicSession:
    return make_clinic_session()


def first_slot(session: ClinicSession, index: int = 0) -> Slot:
    return list(
        Slot.objects.filter(session=session)
        .select_related("session", "session__department", "session__doctor")
        .order_by("starts_at")
    )[index]


@pytest.fixture
def patient(make_user: Callable[..., User], make_member: Callable[..., Member]) -> Callable[..., tuple[User, Member]]:
    """A student with a bound card; ``language="en"`` stores an English preference, ``openid``
    attaches WeChat, ``email`` sets the account's address, ``prefs`` the stored preference's fields."""

    def make(
        *,
        language: str | None = None,
        openid: str | None = None,
        email: str = "",
        name: str = "张小明",
        prefs: dict[str, Any] | None = None,
    ) -> tuple[User, Member]:
        user = make_user(email=email)
        member = make_member(account=user, bound_at=clock.now(), name=name, phone="13800138000")
        if language is not None or prefs:
            NotificationPreference.objects.create(user=user, language=language or "zh-hans", **(prefs or {}))
        if openid is not None:
            WechatRecipient.objects.create(user=user, appid=APPID, openid=openid)
        return user, member

    return make


def book(user: User, member: Member, slot: Slot) -> Appointment:
    return appointment_book(actor=Actor.of(user), member=member, slot=slot)


def run_outbox() -> None:
    report = dispatch_until_idle()
    assert report.dead == 0


def emit(name: str, payload: dict[str, Any]) -> OutboxMessage:
    """Publish a raw event as its producer would (payload values as strings) and deliver it to
    the notification handlers the way the outbox worker does (effect + delivery record in one
    transaction). Other contexts' handlers are left out: their rules are not under test here."""
    with transaction.atomic():
        message = OutboxMessage.objects.create(
            name=name,
            payload={k: (str(v) if v is not None else None) for k, v in payload.items()},
            available_at=clock.now(),
        )
    for handler in handlers_for(name):
        if handler.key.startswith("notifications."):
            with transaction.atomic():
                handler.func(message.payload)
                HandlerDelivery.objects.create(message=message, handler=handler.key)
    return message


def send() -> SendReport:
    return deliveries_send_until_idle()


@pytest.fixture
def wechat(settings: Any) -> Iterator[WechatStandIn]:
    """The WeChat stand-in, and the settings that point the client at it."""
    standin = WechatStandIn(appid=APPID, secret=SECRET, templates={TEMPLATE}).start()
    settings.WECHAT_API_BASE = standin.url
    settings.WECHAT_APP_ID = APPID
    settings.WECHAT_APP_SECRET = SECRET
    settings.WECHAT_TEMPLATE_IDS = {"*": TEMPLATE}
    settings.WECHAT_TIMEOUT_SECONDS = 5
    yield standin
    standin.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MailCollector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd in a thread on a free loopback port; ``stop()``/``start()`` take it down and up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.collector = MailCollector()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collector.messages


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.NOTIFICATIONS_EMAIL = True
    settings.DEFAULT_FROM_EMAIL = "SmartClinic <clinic@example.edu>"
    yield server
    server.stop()
