from __future__ import annotations

import datetime as dt
from uuid import UUID

from ninja import Field, Schema


class OrderLineOut(Schema):
    code: str
    name: str
    kind: str
    unit_price: int
    quantity: int
    amount: int


class RefundOut(Schema):
    id: UUID
    order_id: UUID
    status: str
    status_display: str
    method: str
    amount: int
    reason: str
    attempts: int
    requested_at: dt.datetime
    completed_at: dt.datetime | None


class OrderOut(Schema):
    id: UUID
    kind: str
    status: str
    status_display: str
    description: str
    list_amount: int
    discount: int
    amount: int
    category: str
    method: str
    paid_at: dt.datetime | None
    appointment_id: UUID | None
    encounter_id: UUID | None
    out_trade_no: str
    created_at: dt.datetime
    lines: list[OrderLineOut]
    refunds: list[RefundOut]


class PayIn(Schema):
    method: str = Field(..., max_length=20, description="campus_card or wechat")
    openid: str | None = Field(
        None, max_length=128, description="the payer's openid (WeChat OAuth); optional with the stand-in"
    )


class WechatPayOut(Schema):
    out_trade_no: str
    standin: bool
    jsapi: dict[str, str]


class PayOut(Schema):
    order: OrderOut
    wechat: WechatPayOut | None = None


class CashierPayIn(Schema):
    method: str = Field(..., max_length=20, description="cash, bank_card, insurance or campus_card")
    reference: str = Field("", max_length=64, description="slip, terminal or claim number")


class TopUpIn(Schema):
    amount: int = Field(..., description="fen")
    method: str = Field("cash", max_length=12)


class CardTransactionOut(Schema):
    id: UUID
    kind: str
    amount: int
    signed_amount: int
    balance_after: int
    order_id: UUID | None
    description: str
    created_at: dt.datetime


class CardAccountOut(Schema):
    balance: int
    transactions: list[CardTransactionOut]


class UnpaidAppointmentOut(Schema):
    id: UUID
    date: dt.date
    department: str
    doctor: str
    fee: int


class CashierMemberOut(Schema):
    id: UUID
    number: str
    name: str
    kind: str
    card_tail: str
    balance: int
    unpaid_orders: list[OrderOut]
    unpaid_appointments: list[UnpaidAppointmentOut]
    refunds_awaiting: list[RefundOut]


class RefundCompleteIn(Schema):
    reference: str = Field("", max_length=64)


class ReconciliationIn(Schema):
    date: dt.date
    statement: str = Field(..., max_length=10_000_000, description="WeChat Pay trade bill (CSV text)")


class DifferenceOut(Schema):
    kind: str
    record: str
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    our_amount: int | None
    their_amount: int | None
    our_status: str
    their_status: str
    note: str


class ReconciliationOut(Schema):
    id: UUID
    date: dt.date
    provider: str
    their_rows: int
    our_rows: int
    matched: int
    their_total: int
    our_total: int
    created_at: dt.datetime
    difference_count: int | None
    differences: list[DifferenceOut]
