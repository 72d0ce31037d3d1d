"""Every event that concerns a patient makes the right message, in the patient's language
(Chinese unless they chose English), once."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import formats, timezone, translation

from smartclinic.booking.choices import AppointmentStatus
from smartclinic.booking.models import Appointment
from smartclinic.booking.services import appointment_cancel, appointment_reschedule, clinic_session_suspend
from smartclinic.core.actor import Actor
from smartclinic.notifications.choices import Channel, DeliveryStatus, MessageKind
from smartclinic.notifications.models import Delivery, Message
from smartclinic.notifications.tests.conftest import book, emit, first_slot, run_outbox
from smartclinic.queueing.models import Ticket

pytestmark = pytest.mark.django_db


def only_message(user, kind=None) -> Message:
    messages = Message.objects.filter(recipient=user)
    if kind is not None:
        messages = messages.filter(kind=kind)
    assert messages.count() == 1, list(messages.values_list("kind", flat=True))
    return messages.get()


def booked(patient, session, **prefs):
    user, member = patient(**prefs)
    appointment = book(user, member, first_slot(session))
    run_outbox()
    return user, member, appointment


def local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment)


# --- booking -----------------------------------------------------------------------------------
def test_booking_confirmed_in_chinese_by_default(patient, session):
    user, _member, appointment = booked(patient, session)

    message = only_message(user)
    starts = local(appointment.slot.starts_at)
    assert message.kind == MessageKind.BOOKING_CONFIRMED
    assert message.language == "zh-hans"
    assert message.title == "预约成功"
    assert message.body.startswith("张小明，您已预约 ")
    assert f"{starts.year}年{starts.month}月{starts.day}日" in message.body
    assert "08:00 内科 李华医生" in message.body
    assert "就诊地点：201" in message.body
    assert message.link == f"/appointments/{appointment.public_id}/"
    assert message.source_key == f"appointment:{appointment.public_id}"
    assert message.read_at is None
    inbox = Delivery.objects.get(message=message)
    assert (inbox.channel, inbox.status, inbox.attempts) == (Channel.INBOX, DeliveryStatus.SENT, 1)
    assert inbox.sent_at is not None


def test_booking_confirmed_in_english_for_an_english_preference(patient, session):
    user, _member, _appointment = booked(patient, session, language="en")

    message = only_message(user)
    assert message.language == "en"
    assert message.title == "Appointment confirmed"
    assert "your appointment is booked" in message.body
    assert "at 08:00, Internal Medicine, Dr 李华. Room: 201." in message.body


def test_cancelled_by_the_patient(patient, session):
    user, _member, appointment = booked(patient, session)
    appointment_cancel(actor=Actor.of(user), appointment=appointment)
    run_outbox()

    message = only_message(user, MessageKind.BOOKING_CANCELLED)
    assert message.title == "预约已取消"
    assert "08:00 内科 李华医生 的预约已取消" in message.body
    assert "退回" not in message.body  # nothing was paid


def test_cancelled_by_the_clinic_says_why_and_that_the_fee_comes_back(patient, session, make_clinic_session):
    user, _member, appointment = booked(patient, session, language="en")
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.PAID)
    appointment.refresh_from_db()
    clinic_session_suspend(actor=Actor.system(reason="test"), session=session, reason="医生外出会诊")
    run_outbox()

    message = only_message(user, MessageKind.BOOKING_CANCELLED_BY_CLINIC)
    assert message.title == "The clinic cancelled your appointment"
    assert "Reason: 医生外出会诊." in message.body
    assert "Your fee will be refunded in full." in message.body


def test_rescheduled_makes_one_message_about_the_move_not_a_new_booking(patient, session):
    user, _member, appointment = booked(patient, session)
    new_slot = first_slot(session, 2)
    new = appointment_reschedule(actor=Actor.of(user), appointment=appointment, new_slot=new_slot)
    run_outbox()

    kinds = sorted(Message.objects.filter(recipient=user).values_list("kind", flat=True))
    assert kinds == [MessageKind.BOOKING_CONFIRMED, MessageKind.BOOKING_RESCHEDULED]
    message = only_message(user, MessageKind.BOOKING_RESCHEDULED)
    assert "08:00 改为" in message.body and "08:30" in message.body
    assert message.link == f"/appointments/{new.public_id}/"


def test_waitlist_offer_tells_the_deadline(patient, session):
    user, member, appointment = booked(patient, session, language="en")
    confirm_by = timezone.now().replace(microsecond=0) + dt.timedelta(minutes=30)
    emit(
        "booking.waitlist_offered",
        {
            "entry_id": uuid.uuid4(),
            "appointment_id": appointment.public_id,
            "member_id": member.public_id,
            "confirm_by": confirm_by.isoformat(),
        },
    )

    message = only_message(user, MessageKind.WAITLIST_OFFERED)
    assert message.title == "A place is free for you: please confirm"
    with translation.override("en"):
        day = formats.date_format(local(confirm_by), "DATE_FORMAT")
    assert f"Confirm or pay by {day} {local(confirm_by):%H:%M}, or it passes to the next person" in message.body


def test_a_waitlist_booking_is_not_confirmed_twice(patient, session):
    user, member = patient()
    appointment = book(user, member, first_slot(session))
    run_outbox()
    Message.objects.all().delete()
    emit(
        "booking.appointment_booked",
        {"appointment_id": appointment.public_id, "member_id": member.public_id, "source": "waitlist"},
    )
    assert not Message.objects.filter(recipient=user, kind=MessageKind.BOOKING_CONFIRMED).exists()


def test_no_show_recorded_explains_the_policy(patient, session, settings):
    settings.BOOKING_NO_SHOW_LIMIT = 3
    settings.BOOKING_NO_SHOW_WINDOW_DAYS = 90
    user, member, appointment = booked(patient, session)
    emit("booking.no_show_recorded", {"appointment_id": appointment.public_id, "member_id": member.public_id})

    message = only_message(user, MessageKind.NO_SHOW_RECORDED)
    assert message.title == "爽约记录"
    assert "90 天内爽约 3 次将暂停在线预约" in message.body


def test_booking_blocked_says_until_when(patient):
    user, member = patient(language="en")
    until = dt.datetime(2026, 12, 31, 9, 30, tzinfo=dt.UTC)
    emit(
        "booking.booking_blocked",
        {"member_id": member.public_id, "person_key": f"m:{member.pk}", "until": until.isoformat()},
    )

    message = only_message(user, MessageKind.BOOKING_BLOCKED)
    assert message.title == "Online booking paused"
    assert "paused until Dec. 31, 2026 17:30" in message.body  # Asia/Shanghai


# --- billing -----------------------------------------------------------------------------------
def test_payment_received_with_its_amount_method_and_visit(patient, session):
    user, member, appointment = booked(patient, session, language="en")
    emit(
        "billing.order_paid",
        {
            "order_id": uuid.uuid4(),
            "appointment_id": appointment.public_id,
            "member_id": member.public_id,
            "kind": "registration",
            "method": "campus_card",
            "amount": 1250,
        },
    )

    message = only_message(user, MessageKind.PAYMENT_RECEIVED)
    assert message.title == "Payment received"
    assert message.body.startswith("We received your payment of ¥12.50 (registration fee) by campus card.")
    assert "Internal Medicine, Dr 李华" in message.body


def test_payment_without_an_appointment(patient):
    user, member = patient()
    emit(
        "billing.order_paid",
        {
            "order_id": uuid.uuid4(),
            "appointment_id": "None",
            "member_id": member.public_id,
            "kind": "top_up",
            "method": "unknown",
            "amount": 5000,
        },
    )

    message = only_message(user, MessageKind.PAYMENT_RECEIVED)
    assert message.body == "已收到您的付款 50.00 元。"
    assert message.link.startswith("/pay/orders/")


def test_refund_succeeded(patient):
    user, member = patient()
    emit(
        "billing.refund_succeeded",
        {"refund_id": uuid.uuid4(), "order_id": uuid.uuid4(), "member_id": member.public_id, "amount": 1000},
    )

    message = only_message(user, MessageKind.REFUND_SUCCEEDED)
    assert (message.title, message.body) == ("退款成功", "您的退款 10.00 元已原路退回，请留意到账信息。")


def test_doctors_orders_to_pay_name_the_amount_not_the_orders(patient):
    from smartclinic.billing.models import Order

    user, member = patient(language="en")
    order = Order.objects.create(
        kind="visit",
        member=member,
        description="血常规 阿莫西林",
        list_amount=8650,
        amount=8650,
        out_trade_no="T-notif-1",
    )
    emit(
        "visits.orders_sent", {"encounter_id": uuid.uuid4(), "member_id": member.public_id, "order_id": order.public_id}
    )

    message = only_message(user, MessageKind.ORDERS_TO_PAY)
    assert message.title == "Your doctor's orders are ready to pay"
    assert "come to ¥86.50" in message.body
    assert "阿莫西林" not in message.body  # no clinical detail in a text that may go over WeChat
    assert message.link == f"/pay/orders/{order.public_id}/"


# --- queueing ----------------------------------------------------------------------------------
@pytest.fixture
def ticket(patient, session):
    user, member, appointment = booked(patient, session)
    ticket = Ticket.objects.create(
        session=session,
        doctor=session.doctor,
        appointment=appointment,
        member=member,
        number=7,
        code=f"{session.department.code}-007",
    )
    Message.objects.all().delete()
    return user, member, ticket


def test_ticket_issued(ticket):
    user, member, ticket = ticket
    emit(
        "queueing.ticket_issued",
        {
            "ticket_id": ticket.public_id,
            "appointment_id": ticket.appointment.public_id,
            "member_id": member.public_id,
            "code": ticket.code,
        },
    )

    message = only_message(user, MessageKind.TICKET_ISSUED)
    assert message.title == "排号成功"
    assert f"您的排队号为 {ticket.code}（内科 李华医生，" in message.body


def test_turn_near(ticket):
    user, member, ticket = ticket
    emit("queueing.turn_near", {"ticket_id": ticket.public_id, "member_id": member.public_id, "ahead": 3})

    message = only_message(user, MessageKind.TURN_NEAR)
    assert message.body == f"{ticket.code} 号 张小明，您前面还有 3 位，请到 201 诊室门口候诊。"


def test_ticket_called_and_called_again(ticket):
    user, member, ticket = ticket
    payload = {"ticket_id": ticket.public_id, "member_id": member.public_id, "room": "203"}
    Ticket.objects.filter(pk=ticket.pk).update(call_count=1)
    emit("queueing.ticket_called", payload)
    emit("queueing.ticket_called", payload)  # the same call published twice: still one message
    Ticket.objects.filter(pk=ticket.pk).update(call_count=2)
    emit("queueing.ticket_called", payload)  # a recall (叫号重呼) is a new call

    messages = list(Message.objects.filter(recipient=user, kind=MessageKind.TICKET_CALLED))
    assert len(messages) == 2
    assert {m.body for m in messages} == {f"请 {ticket.code} 号 张小明 到 203 诊室就诊。"}


# --- visits ------------------------------------------------------------------------------------
def test_visit_summary_links_to_the_evaluation(ticket):
    user, member, ticket = ticket
    encounter_id = uuid.uuid4()
    emit(
        "visits.visit_finished",
        {
            "encounter_id": encounter_id,
            "ticket_id": ticket.public_id,
            "appointment_id": ticket.appointment.public_id,
            "member_id": member.public_id,
            "doctor_id": ticket.doctor.public_id,
        },
    )

    message = only_message(user, MessageKind.VISIT_SUMMARY)
    assert message.title == "就诊完成，请评价"
    assert message.link == f"/visits/{encounter_id}/evaluate/"
    assert "您在 内科 的就诊已完成（李华医生）" in message.body


# --- who gets nothing --------------------------------------------------------------------------
def test_a_member_without_an_account_gets_nothing(patient, session, make_member, caplog):
    _user, _member, appointment = booked(patient, session)
    stranger = make_member(name="无账号")
    Message.objects.all().delete()
    emit("booking.no_show_recorded", {"appointment_id": appointment.public_id, "member_id": stranger.public_id})

    assert not Message.objects.exists()
    assert "has no bound account" in caplog.text


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_kind_has_a_text_in_both_languages(language):
    from smartclinic.notifications.models import MessageTemplate
    from smartclinic.notifications.template_defaults import DEFAULT_TEMPLATES

    assert set(DEFAULT_TEMPLATES) == set(MessageKind.values)
    seeded = set(MessageTemplate.objects.filter(language=language).values_list("kind", flat=True))
    assert seeded == set(MessageKind.values)
