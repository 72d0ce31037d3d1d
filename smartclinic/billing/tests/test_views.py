"""The billing pages: the patient pays and sees the card; the cashier's station; reconciliation."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from smartclinic.billing.models import CampusCardAccount, CardTransaction, Order, ReconciliationRun, Refund
from smartclinic.billing.services import order_for_appointment
from smartclinic.billing.tests.test_reconciliation import SAMPLE
from smartclinic.booking.models import Appointment
from smartclinic.booking.services import appointment_cancel
from smartclinic.core.actor import Actor
from smartclinic.outbox.dispatcher import dispatch_until_idle

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _token(response) -> str:
    return response.context["form"]["token"].value()


def test_the_patient_pays_from_the_card_on_the_page(booked):
    user, member, appointment = booked(balance=1500)
    client = signed_in(user)

    start = client.get(reverse("billing:pay_appointment", args=[appointment.public_id]))
    order = Order.objects.get(appointment=appointment)
    assert start.status_code == 302 and start["Location"] == reverse("billing:order", args=[order.public_id])
    page = client.get(start["Location"])
    assert page.status_code == 200
    content = page.content.decode()
    assert "¥10.00" in content and "balance ¥15.00" in content
    assert 'data-testid="wechat-unavailable"' in content

    paid = client.post(start["Location"], {"method": "campus_card", "token": _token(page)}, follow=True)
    again = client.post(start["Location"], {"method": "campus_card", "token": _token(page)}, follow=True)

    assert paid.status_code == again.status_code == 200
    assert 'data-testid="paid"' in paid.content.decode()
    assert CampusCardAccount.objects.get(member=member).balance == 500
    assert Appointment.objects.get(pk=appointment.pk).status == "paid"
    card = client.get(reverse("billing:card")).content.decode()
    assert "¥5.00" in card and card.count('data-testid="statement-line"') == 2


def test_insufficient_balance_on_the_page(booked):
    user, _, appointment = booked(balance=100)
    client = signed_in(user)
    order = order_for_appointment(actor=Actor.of(user), appointment=appointment)
    url = reverse("billing:order", args=[order.public_id])
    page = client.get(url)
    response = client.post(url, {"method": "campus_card", "token": _token(page)})
    assert response.status_code == 422
    assert "Your campus card balance is not enough" in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == "pending"


def test_the_demo_pays_with_wechat_through_the_stand_in(booked, settings, tmp_path):
    from smartclinic.billing.wechat import _client_for
    from smartclinic.billing.wechat_standin import WechatPayStandin, load_or_create_keys

    settings.WECHATPAY_MCHID = ""
    settings.WECHATPAY_STANDIN = True
    settings.WECHATPAY_STANDIN_KEY_DIR = tmp_path
    server = WechatPayStandin(load_or_create_keys(tmp_path)).start()
    settings.WECHATPAY_STANDIN_URL = server.url
    settings.WECHATPAY_NOTIFY_URL = "http://127.0.0.1:9/unreachable"  # the query must take over
    _client_for.cache_clear()
    try:
        user, _, appointment = booked()
        client = signed_in(user)
        order = order_for_appointment(actor=Actor.of(user), appointment=appointment)
        url = reverse("billing:order", args=[order.public_id])
        page = client.get(url)
        started = client.post(url, {"method": "wechat", "token": _token(page)})
        content = started.content.decode()
        assert started.status_code == 200 and 'id="wechat-jsapi"' in content
        assert 'data-testid="wechat-standin-pay"' in content

        done = client.post(reverse("billing:wechat_standin_pay", args=[order.public_id]), follow=True)

        assert 'data-testid="paid"' in done.content.decode()
        assert Order.objects.get(pk=order.pk).paid_method == "wechat"
    finally:
        server.stop()
        _client_for.cache_clear()


def test_other_peoples_orders_are_404_on_the_pages(booked, patient):
    owner, _, appointment = booked()
    order = order_for_appointment(actor=Actor.of(owner), appointment=appointment)
    stranger = signed_in(patient()[0])
    assert stranger.get(reverse("billing:order", args=[order.public_id])).status_code == 404
    assert stranger.get(reverse("billing:pay_appointment", args=[appointment.public_id])).status_code == 404


@pytest.mark.parametrize(
    ("persona", "cashier", "reconciliation"),
    [
        ("patient", 403, 403),
        ("nurse", 403, 403),
        ("doctor", 403, 403),
        ("cashier", 200, 403),
        ("manager", 403, 200),
        ("admin", 403, 200),
    ],
)
def test_staff_pages_by_role(make_user, persona, cashier, reconciliation):
    client = signed_in(make_user(persona))
    assert client.get(reverse("billing:cashier")).status_code == cashier
    assert client.get(reverse("billing:cashier_refunds")).status_code == cashier
    assert client.get(reverse("billing:reconciliation")).status_code == reconciliation


def test_anonymous_staff_pages_ask_to_sign_in():
    response = Client().get(reverse("billing:cashier"))
    assert response.status_code == 302 and reverse("identity:staff_login") in response["Location"]


def test_the_cashier_station(booked, make_user):
    user, member, appointment = booked()
    client = signed_in(make_user("cashier"))

    found = client.get(reverse("billing:cashier"), {"q": member.number})
    member_url = reverse("billing:cashier_member", args=[member.public_id])
    assert found.status_code == 302 and found["Location"] == member_url
    page = client.get(member_url).content.decode()
    assert page.count('data-testid="due-appointment"') == 1

    paid = client.post(
        reverse("billing:cashier_pay_appointment", args=[appointment.public_id]),
        {"method": "cash", "reference": "S-1"},
        follow=True,
    )
    assert "¥10.00 received (cash)." in paid.content.decode()
    assert Appointment.objects.get(pk=appointment.pk).status == "paid"
    assert 'data-testid="nothing-due"' in paid.content.decode()

    token = client.get(member_url).context["top_up_form"]["token"].value()
    for _ in range(2):  # a double submit tops up once
        client.post(
            reverse("billing:cashier_top_up", args=[member.public_id]),
            {"amount": "50.00", "method": "cash", "token": token},
        )
    assert CampusCardAccount.objects.get(member=member).balance == 5000
    assert CardTransaction.objects.filter(kind="top_up").count() == 1

    appointment_cancel(actor=Actor.of(user), appointment=Appointment.objects.get(pk=appointment.pk))
    dispatch_until_idle()
    refunds = client.get(reverse("billing:cashier_refunds")).content.decode()
    assert refunds.count('data-testid="refund-row"') == 1
    refund = Refund.objects.get()
    client.post(reverse("billing:cashier_refund_complete", args=[refund.public_id]), {"reference": "S-1-R"})
    assert Refund.objects.get().status == "succeeded"


def test_the_manager_reconciles_on_the_page(make_user):
    client = signed_in(make_user("manager"))
    response = client.post(
        reverse("billing:reconciliation"),
        {"date": "2026-11-20", "statement": SimpleUploadedFile("bill.csv", SAMPLE.encode("utf-8"), "text/csv")},
    )
    run = ReconciliationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "billing:reconciliation_detail", args=[run.public_id]
    )
    detail = client.get(response["Location"]).content.decode()
    assert detail.count('data-testid="difference"') == 2
    listing = client.get(reverse("billing:reconciliation")).content.decode()
    assert listing.count('data-testid="run"') == 1
    bad = client.post(
        reverse("billing:reconciliation"),
        {"date": "2026-11-20", "statement": SimpleUploadedFile("bill.csv", b"hello", "text/csv")},
    )
    assert bad.status_code == 422 and ReconciliationRun.objects.count() == 1
