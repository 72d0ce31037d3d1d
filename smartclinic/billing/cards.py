"""The campus card's stored value (校园卡余额): top-ups at the cashier, debits that pay orders and
credits that refund them. Every change is one conditional ``F()`` update of the balance plus one
statement line carrying the balance right after it, in the caller's transaction."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from smartclinic.audit.services import audit_record
from smartclinic.billing.choices import CardTransactionKind, TopUpMethod
from smartclinic.billing.errors import InsufficientBalance, InvalidAmount, MethodNotAllowed
from smartclinic.billing.events import CardToppedUp
from smartclinic.billing.models import CampusCardAccount, CardTransaction, Order
from smartclinic.core.actor import Actor
from smartclinic.core.idempotency import IdempotencyKeyReused
from smartclinic.identity.models import Member
from smartclinic.outbox.services import outbox_publish


def card_account_for(*, member: Member) -> CampusCardAccount:
    """The member's account, opened (empty) on first use."""
    account = CampusCardAccount.objects.filter(member=member).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return CampusCardAccount.objects.create(member=member, balance=0)
    except IntegrityError:  # opened concurrently
        return CampusCardAccount.objects.get(member=member)


def card_balance(*, member: Member) -> int:
    return CampusCardAccount.objects.filter(member=member).values_list("balance", flat=True).first() or 0


def _balance_now(account_id: int) -> int:
    return int(CampusCardAccount.objects.filter(pk=account_id).values_list("balance", flat=True).get())


def card_top_up(
    *,
    actor: Actor,
    member: Member,
    amount: int,
    method: str = TopUpMethod.CASH,
    idempotency_key: str | None = None,
) -> CardTransaction:
    """Pay money into the member's account. With an idempotency key, a repeated request (a
    double-click at the counter, a retry after a lost answer) returns the first top-up."""
    high = settings.BILLING_TOP_UP_MAX_FEN
    if not isinstance(amount, int) or amount < 1 or amount > high:
        raise InvalidAmount(InvalidAmount.message % {"low": 1, "high": high}, low=1, high=high)
    if method not in TopUpMethod.values:
        raise MethodNotAllowed(method=str(method)[:20])
    key = f"top_up:{idempotency_key}" if idempotency_key else None
    if key is not None:
        previous = _previous_top_up(key=key, member=member, amount=amount)
        if previous is not None:
            return previous
    try:
        with transaction.atomic():
            account = card_account_for(member=member)
            CampusCardAccount.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
            balance = _balance_now(account.pk)
            line = CardTransaction.objects.create(
                account=account,
                kind=CardTransactionKind.TOP_UP,
                amount=amount,
                balance_after=balance,
                top_up_method=method,
                idempotency_key=key,
                recorded_by=actor.user,
            )
            audit_record(
                actor=actor,
                action="billing.card_topped_up",
                subject=account,
                old={"balance": balance - amount},
                new={"balance": balance, "amount": amount, "method": method},
            )
            outbox_publish(CardToppedUp(member_id=member.public_id, amount=amount, balance=balance))
    except IntegrityError:
        if key is not None:
            previous = _previous_top_up(key=key, member=member, amount=amount)
            if previous is not None:
                return previous
        raise
    return line


def _previous_top_up(*, key: str, member: Member, amount: int) -> CardTransaction | None:
    previous = CardTransaction.objects.select_related("account").filter(idempotency_key=key).first()
    if previous is None:
        return None
    if previous.account.member_id != member.pk or previous.amount != amount:
        raise IdempotencyKeyReused()
    return previous


def card_debit_for_order(*, actor: Actor, order: Order) -> CardTransaction:
    """Take the order's amount from its member's card, or raise ``InsufficientBalance`` having
    changed nothing. Runs in the transaction that marks the order paid."""
    account = CampusCardAccount.objects.filter(member_id=order.member_id).first()
    debited = (
        account is not None
        and CampusCardAccount.objects.filter(pk=account.pk, balance__gte=order.amount).update(
            balance=F("balance") - order.amount
        )
        == 1
    )
    if not debited or account is None:
        balance = account.balance if account is not None else 0
        raise InsufficientBalance(balance=balance, amount=order.amount)
    return CardTransaction.objects.create(
        account=account,
        kind=CardTransactionKind.PAYMENT,
        amount=order.amount,
        balance_after=_balance_now(account.pk),
        order=order,
        recorded_by=actor.user,
    )


def card_credit_for_refund(*, actor: Actor, order: Order, amount: int) -> CardTransaction:
    """Give a refund back to the card, in the refund's transaction (once per order)."""
    account = card_account_for(member=order.member)
    CampusCardAccount.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
    return CardTransaction.objects.create(
        account=account,
        kind=CardTransactionKind.REFUND,
        amount=amount,
        balance_after=_balance_now(account.pk),
        order=order,
        recorded_by=actor.user,
    )
