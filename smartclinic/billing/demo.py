"""Demo data for billing (the lead wires it into ``seed_demo``)."""

from __future__ import annotations

from collections.abc import Iterable

from smartclinic.billing.cards import card_top_up
from smartclinic.billing.choices import CardTransactionKind, TopUpMethod
from smartclinic.billing.models import CardTransaction
from smartclinic.core.actor import Actor
from smartclinic.identity.models import Member


def seed_card_balances(*, members: Iterable[Member], amount: int = 50000) -> int:
    """Give every member whose card account has never been topped up a starting balance (¥500 by
    default). Idempotent: running it again tops up nobody twice. Returns how many got one."""
    actor = Actor.system(reason="seed_demo")
    members = list(members)
    already = set(
        CardTransaction.objects.filter(kind=CardTransactionKind.TOP_UP, account__member__in=members).values_list(
            "account__member_id", flat=True
        )
    )
    topped = 0
    for member in members:
        if member.pk in already:
            continue
        card_top_up(
            actor=actor,
            member=member,
            amount=amount,
            method=TopUpMethod.GRANT,
            idempotency_key=f"demo-seed:{member.public_id}",
        )
        topped += 1
    return topped
