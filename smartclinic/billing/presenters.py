"""Plain dicts of what the API and the pages show about orders, refunds and the card."""

from __future__ import annotations

from typing import Any

from smartclinic.billing.models import CardTransaction, Order, ReconciliationRun, Refund


def yuan(fen: int | None) -> str:
    """Integer fen as a price a person reads: 1000 → "¥10.00"."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100}.{fen % 100:02d}"


def refund_out(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.public_id,
        "order_id": refund.order.public_id,
        "status": refund.status,
        "status_display": str(refund.get_status_display()),
        "method": refund.method,
        "method_display": str(refund.get_method_display()),
        "amount": refund.amount,
        "amount_display": yuan(refund.amount),
        "reason": refund.reason,
        "reason_display": str(refund.get_reason_display()),
        "attempts": refund.attempts,
        "requested_at": refund.created_at,
        "completed_at": refund.completed_at,
    }


def order_out(order: Order) -> dict[str, Any]:
    appointment = order.appointment
    return {
        "id": order.public_id,
        "kind": order.kind,
        "kind_display": str(order.get_kind_display()),
        "status": order.status,
        "status_display": str(order.get_status_display()),
        "description": order.description,
        "list_amount": order.list_amount,
        "list_amount_display": yuan(order.list_amount),
        "discount": order.discount,
        "amount": order.amount,
        "amount_display": yuan(order.amount),
        "category": order.category_code,
        "method": order.paid_method,
        "method_display": str(order.get_paid_method_display()) if order.paid_method else "",
        "paid_at": order.paid_at,
        "appointment_id": appointment.public_id if appointment is not None else None,
        "encounter_id": order.encounter_id,
        "patient_name": order.dependant.name if order.dependant_id and order.dependant else order.member.name,
        "out_trade_no": order.out_trade_no,
        "created_at": order.created_at,
        "lines": [
            {
                "code": line.code,
                "name": line.name,
                "kind": line.kind,
                "unit_price": line.unit_price,
                "quantity": line.quantity,
                "amount": line.amount,
                "amount_display": yuan(line.amount),
            }
            for line in order.lines.all()
        ],
        "refunds": [refund_out(refund) for refund in order.refunds.all()],
    }


def card_transaction_out(line: CardTransaction) -> dict[str, Any]:
    return {
        "id": line.public_id,
        "kind": line.kind,
        "kind_display": str(line.get_kind_display()),
        "amount": line.amount,
        "signed_amount": line.amount if line.kind != "payment" else -line.amount,
        "balance_after": line.balance_after,
        "amount_yuan": yuan(line.amount),
        "balance_yuan": yuan(line.balance_after),
        "order_id": line.order.public_id if line.order_id and line.order else None,
        "description": line.order.description
        if line.order_id and line.order
        else str(line.get_top_up_method_display()),
        "created_at": line.created_at,
    }


def reconciliation_out(run: ReconciliationRun, *, with_differences: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": run.public_id,
        "date": run.date,
        "provider": run.provider,
        "their_rows": run.their_rows,
        "our_rows": run.our_rows,
        "matched": run.matched,
        "their_total": run.their_total,
        "our_total": run.our_total,
        "created_at": run.created_at,
        "difference_count": None,
        "differences": [],
    }
    if with_differences:
        differences = list(run.differences.all())
        out["difference_count"] = len(differences)
        out["differences"] = [
            {
                "kind": d.kind,
                "kind_display": str(d.get_kind_display()),
                "record": d.record,
                "out_trade_no": d.out_trade_no,
                "transaction_id": d.transaction_id,
                "out_refund_no": d.out_refund_no,
                "our_amount": d.our_amount,
                "their_amount": d.their_amount,
                "our_status": d.our_status,
                "their_status": d.their_status,
                "note": d.note,
            }
            for d in differences
        ]
    return out
