"""Billing through the API, end to end: pay by campus card and by WeChat Pay (the stand-in plays
the payer), the doctor's orders, the card account, the cashier, reconciliation; permissions and
localized errors."""

from __future__ import annotations

import base64
import uuid

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from smartclinic.billing.cards import card_top_up
from smartclinic.billing.models import CampusCardAccount, Order, Payment, Refund
from smartclinic.billing.services import OrderLineIn, order_create_for_visit, order_for_appointment
from smartclinic.booking.models import Appointment
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_pay_an_appointment_from_the_campus_card(api, booked):
    user, _member, appointment = booked(balance=3000)
    client = api(user, language="en")

    paid = client.post(f"/appointments/{appointment.public_id}/pay", {"method": "campus_card"})

    assert paid.status_code == 200, paid.data
    order = paid.data["order"]
    assert (order["status"], order["method"], order["amount"], order["kind"]) == (
        "paid",
        "campus_card",
        1000,
        "registration",
    )
    assert order["appointment_id"] == str(appointment.public_id) and paid.data["wechat"] is None
    assert Appointment.objects.get(pk=appointment.pk).status == "paid"
    assert [o["id"] for o in client.get("/orders").data] == [order["id"]]
    card = client.get("/me/card-account").data
    assert card["balance"] == 2000
    assert [(t["kind"], t["signed_amount"], t["balance_after"]) for t in card["transactions"]] == [
        ("payment", -1000, 2000),
        ("top_up", 3000, 3000),
    ]


def test_insufficient_balance_is_a_localized_409_and_changes_nothing(api, booked):
    user, member, appointment = booked(balance=500)
    zh = api(user).post(f"/appointments/{appointment.public_id}/pay", {"method": "campus_card"})
    en = api(user, language="en").post(f"/appointments/{appointment.public_id}/pay", {"method": "campus_card"})

    assert zh.status_code == en.status_code == 409
    assert zh.data["code"] == en.data["code"] == "billing.insufficient_balance"
    assert set(zh.data) == {"code", "message", "extra"}
    assert en.data["message"].startswith("Your campus card balance is not enough")
    assert zh.data["extra"] == {"balance": 500, "amount": 1000}
    assert CampusCardAccount.objects.get(member=member).balance == 500
    assert Order.objects.get().status == "pending" and not Payment.objects.exists()


def test_pay_with_wechat_through_the_stand_in(api, booked, standin, notify):
    user, _member, appointment = booked()
    client = api(user)

    started = client.post(
        f"/appointments/{appointment.public_id}/pay", {"method": "wechat", "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}
    )

    assert started.status_code == 200, started.data
    assert started.data["order"]["status"] == "pending"
    jsapi = started.data["wechat"]["jsapi"]
    assert jsapi["appId"] == standin.keys.appid and jsapi["signType"] == "RSA"
    trade = standin.trades[started.data["wechat"]["out_trade_no"]]
    assert jsapi["package"] == f"prepay_id={trade.prepay_id}"
    assert (trade.amount, trade.openid) == (1000, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    merchant = serialization.load_pem_public_key(standin.keys.merchant_public_pem.encode())
    message = f"{jsapi['appId']}\n{jsapi['timeStamp']}\n{jsapi['nonceStr']}\n{jsapi['package']}\n".encode()
    merchant.verify(base64.b64decode(jsapi["paySign"]), message, padding.PKCS1v15(), hashes.SHA256())
    assert all(call.authorized for call in standin.calls)
    # Asking again reuses the prepay order.
    again = client.post(f"/appointments/{appointment.public_id}/pay", {"method": "wechat", "openid": "o1"})
    assert again.data["wechat"]["jsapi"]["package"] == jsapi["package"] and len(standin.trades) == 1

    standin.pay(trade.out_trade_no)
    assert notify(*standin.payment_notification(trade.out_trade_no)).status_code == 204

    shown = client.get(f"/orders/{started.data['order']['id']}").data
    assert (shown["status"], shown["method"]) == ("paid", "wechat")
    assert client.post(f"/orders/{shown['id']}/wechat/query").data["status"] == "paid"


def test_the_pay_page_button_asks_wechat_pay_when_no_notification_came(api, booked, standin):
    user, _, appointment = booked()
    client = api(user)
    started = client.post(f"/appointments/{appointment.public_id}/pay", {"method": "wechat", "openid": "o1"}).data
    standin.pay(started["wechat"]["out_trade_no"])
    checked = client.post(f"/orders/{started['order']['id']}/wechat/query")
    assert checked.status_code == 200 and checked.data["status"] == "paid"
    assert OutboxMessage.objects.filter(name="billing.order_paid").count() == 1


def test_wechat_unavailable_and_openid_required(api, booked, settings, standin):
    user, _, appointment = booked()
    no_openid = api(user, language="en").post(f"/appointments/{appointment.public_id}/pay", {"method": "wechat"})
    assert no_openid.status_code == 422 and no_openid.data["code"] == "billing.wechat_openid_required"
    settings.WECHATPAY_MCHID = ""
    unavailable = api(user).post(f"/appointments/{appointment.public_id}/pay", {"method": "wechat", "openid": "o"})
    assert unavailable.status_code == 409 and unavailable.data["code"] == "billing.wechat_unavailable"
    unknown = api(user).post(f"/appointments/{appointment.public_id}/pay", {"method": "bitcoin"})
    assert unknown.status_code == 422 and unknown.data["code"] == "billing.method_not_allowed"


def test_stand_in_mode_needs_no_openid(api, booked, settings, tmp_path, wechat_keys):
    from smartclinic.billing.wechat import _client_for
    from smartclinic.billing.wechat_standin import WechatPayStandin, load_or_create_keys

    settings.WECHATPAY_MCHID = ""
    settings.WECHATPAY_STANDIN = True
    settings.WECHATPAY_STANDIN_KEY_DIR = tmp_path
    keys = load_or_create_keys(tmp_path)
    assert load_or_create_keys(tmp_path) == keys
    server = WechatPayStandin(keys).start()
    settings.WECHATPAY_STANDIN_URL = server.url
    _client_for.cache_clear()
    try:
        user, _, appointment = booked()
        started = api(user).post(f"/appointments/{appointment.public_id}/pay", {"method": "wechat"})
        assert started.status_code == 200, started.data
        assert started.data["wechat"]["standin"] is True
        assert next(iter(server.trades.values())).openid.startswith("standin-")
    finally:
        server.stop()
        _client_for.cache_clear()


def test_idempotency_key_on_pay_returns_the_first_answer(api, booked):
    user, member, appointment = booked(balance=3000)
    client = api(user)
    first = client.post(
        f"/appointments/{appointment.public_id}/pay", {"method": "campus_card"}, HTTP_IDEMPOTENCY_KEY="p1"
    )
    again = client.post(
        f"/appointments/{appointment.public_id}/pay", {"method": "campus_card"}, HTTP_IDEMPOTENCY_KEY="p1"
    )
    assert first.status_code == again.status_code == 200 and first.data == again.data
    without_key = client.post(f"/appointments/{appointment.public_id}/pay", {"method": "campus_card"})
    assert without_key.status_code == 409 and without_key.data["code"] == "billing.order_not_payable"
    assert CampusCardAccount.objects.get(member=member).balance == 2000


def test_pay_the_doctors_orders_from_the_phone(api, patient, make_user):
    user, member = patient()
    card_top_up(actor=Actor.system(reason="t"), member=member, amount=10000)
    order = order_create_for_visit(
        actor=Actor.of(make_user("doctor")),
        member=member,
        lines=[OrderLineIn(code="CBC", name="血常规", kind="test", unit_price=2500, quantity=1)],
        encounter_id=uuid.uuid4(),
    )
    client = api(user)
    listed = client.get("/orders").data
    assert [(o["id"], o["kind"], o["status"], len(o["lines"])) for o in listed] == [
        (str(order.public_id), "visit", "pending", 1)
    ]

    paid = client.post(f"/orders/{order.public_id}/pay", {"method": "campus_card"})

    assert paid.status_code == 200 and paid.data["order"]["status"] == "paid"
    event = OutboxMessage.objects.get(name="billing.order_paid")
    assert (event.payload["kind"], event.payload["appointment_id"], event.payload["amount"]) == ("visit", None, "2500")


def test_other_peoples_orders_are_not_found(api, booked, patient):
    owner, _, appointment = booked(balance=3000)
    stranger, _ = patient()
    order = order_for_appointment(actor=Actor.of(owner), appointment=appointment)
    for path in (f"/appointments/{appointment.public_id}/pay", f"/orders/{order.public_id}/pay"):
        response = api(stranger).post(path, {"method": "campus_card"})
        assert response.status_code == 404 and response.data["code"] == "core.not_found"
    assert api(stranger).get(f"/orders/{order.public_id}").status_code == 404
    assert api(stranger).get("/orders").data == []
    assert Order.objects.get().status == "pending"


def test_cashier_takes_payment_tops_up_and_completes_refunds(api, booked, make_user):
    user, member, appointment = booked()
    cashier = api(make_user("cashier"))

    found = cashier.get(f"/cashier/members?q={member.number}").data
    assert [m["id"] for m in found] == [str(member.public_id)]
    assert [a["id"] for a in found[0]["unpaid_appointments"]] == [str(appointment.public_id)]

    paid = cashier.post(
        f"/cashier/appointments/{appointment.public_id}/pay", {"method": "insurance", "reference": "YB-1"}
    )
    assert paid.status_code == 200 and (paid.data["status"], paid.data["method"]) == ("paid", "insurance")
    assert Payment.objects.get().reference == "YB-1"

    topped = cashier.post(
        f"/cashier/members/{member.public_id}/card/top-ups", {"amount": 2000}, HTTP_IDEMPOTENCY_KEY="slip-9"
    )
    again = cashier.post(
        f"/cashier/members/{member.public_id}/card/top-ups", {"amount": 2000}, HTTP_IDEMPOTENCY_KEY="slip-9"
    )
    assert topped.status_code == again.status_code == 201 and topped.data["id"] == again.data["id"]
    assert CampusCardAccount.objects.get(member=member).balance == 2000

    from smartclinic.booking.services import appointment_cancel
    from smartclinic.outbox.dispatcher import dispatch_until_idle

    appointment_cancel(actor=Actor.of(user), appointment=Appointment.objects.get(pk=appointment.pk))
    dispatch_until_idle()
    awaiting = cashier.get("/cashier/refunds").data
    assert [(r["method"], r["status"], r["amount"]) for r in awaiting] == [("insurance", "requested", 1000)]
    done = cashier.post(f"/cashier/refunds/{awaiting[0]['id']}/complete", {"reference": "YB-1-R"})
    assert done.status_code == 200 and done.data["status"] == "succeeded"
    assert cashier.get("/cashier/refunds").data == []
    assert Refund.objects.get().completed_at is not None


def test_cashier_pays_a_visit_order_on_site(api, patient, make_user):
    _, member = patient()
    order = order_create_for_visit(
        actor=Actor.of(make_user("doctor")),
        member=member,
        lines=[OrderLineIn(code="INJ", name="肌肉注射", kind="procedure", unit_price=800, quantity=1)],
        encounter_id=uuid.uuid4(),
    )
    response = api(make_user("cashier")).post(f"/cashier/orders/{order.public_id}/pay", {"method": "cash"})
    assert response.status_code == 200 and response.data["method"] == "cash"
    bad = api(make_user("cashier")).post(f"/cashier/orders/{order.public_id}/pay", {"method": "wechat"})
    assert bad.status_code == 422 and bad.data["code"] == "billing.method_not_allowed"


COUNTER = ["cashier"]
RECONCILE = ["manager", "admin"]


@pytest.mark.parametrize("persona", ["anonymous", "patient", "nurse", "doctor", "cashier", "manager", "admin"])
def test_permission_matrix(api, booked, make_user, persona):
    _, member, appointment = booked()
    client = api(None if persona == "anonymous" else make_user(persona))
    expected_denied = 401 if persona == "anonymous" else 403

    counter = [
        client.post(f"/cashier/appointments/{appointment.public_id}/pay", {"method": "cash"}),
        client.post(f"/cashier/members/{member.public_id}/card/top-ups", {"amount": 100}),
        client.get(f"/cashier/members?q={member.number}"),
        client.get("/cashier/refunds"),
    ]
    reconcile = [
        client.post("/reconciliations", {"date": str(clock.today()), "statement": "x"}),
        client.get("/reconciliations"),
    ]

    if persona in COUNTER:
        assert [r.status_code for r in counter] == [200, 201, 200, 200]
    else:
        assert [r.status_code for r in counter] == [expected_denied] * 4
        assert all("order" not in (r.data or {}) for r in counter)
        assert not Payment.objects.exists() and not CampusCardAccount.objects.exists()
    if persona in RECONCILE:
        assert [r.status_code for r in reconcile] == [422, 200]
        assert reconcile[0].data["code"] == "billing.invalid_statement"
    else:
        assert [r.status_code for r in reconcile] == [expected_denied] * 2


def test_manager_reconciles_through_the_api(api, make_user):
    from smartclinic.billing.tests.test_reconciliation import SAMPLE

    client = api(make_user("manager"))
    created = client.post("/reconciliations", {"date": "2026-11-20", "statement": SAMPLE})
    assert created.status_code == 201
    assert [(d["kind"], d["record"]) for d in created.data["differences"]] == [
        ("missing_ours", "payment"),
        ("missing_ours", "refund"),
    ]
    listed = client.get("/reconciliations").data
    assert [r["id"] for r in listed] == [created.data["id"]]
    assert client.get(f"/reconciliations/{created.data['id']}").data["differences"] == created.data["differences"]
