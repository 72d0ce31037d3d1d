"""The fee schedule: what a registration costs and what a member pays after their category's
discount. Pure reads; the order stores the result, so a later change of the schedule never
changes an order already made."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from smartclinic.billing.choices import OrderKind
from smartclinic.billing.models import FeeCategory, FeeRule
from smartclinic.booking.models import Appointment
from smartclinic.identity.models import Dependant, Member


@dataclass(frozen=True)
class Quote:
    list_amount: int
    discount: int
    category_code: str = ""

    @property
    def amount(self) -> int:
        return self.list_amount - self.discount


def registration_list_price(*, department_id: int, title: str, fallback: int) -> int:
    """The most specific active rule: department and title, title alone, department alone;
    ``fallback`` (the session's fee) without one."""
    rules = FeeRule.objects.filter(active=True).filter(
        Q(department_id=department_id, title=title)
        | Q(department__isnull=True, title=title)
        | Q(department_id=department_id, title="")
    )
    best: tuple[int, int] | None = None
    for rule in rules:
        rank = 3 if rule.department_id is not None and rule.title else 2 if rule.title else 1
        if best is None or rank > best[0]:
            best = (rank, rule.amount)
    return best[1] if best is not None else fallback


def best_category(*, member: Member, dependant: Dependant | None, kind: str) -> tuple[str, int]:
    """The category giving the member the largest discount for orders of ``kind`` (code, percent).
    Dependants are not covered by the members' plans."""
    if dependant is not None:
        return "", 0
    field = "registration_discount_percent" if kind == OrderKind.REGISTRATION else "visit_discount_percent"
    categories = (
        FeeCategory.objects.filter(active=True, **{f"{field}__gt": 0})
        .filter(Q(member_kind=member.kind) | Q(members=member))
        .distinct()
        .order_by(f"-{field}", "code")
        .values_list("code", field)
    )
    first = categories.first()
    return (first[0], first[1]) if first is not None else ("", 0)


def discounted(*, list_amount: int, percent: int) -> int:
    """The discount in fen; rounding favours the patient (the amount due is rounded down)."""
    payable = list_amount * (100 - percent) // 100
    return list_amount - payable


def quote_registration(*, appointment: Appointment) -> Quote:
    list_amount = registration_list_price(
        department_id=appointment.department_id, title=appointment.doctor.title, fallback=appointment.fee
    )
    code, percent = best_category(
        member=appointment.member, dependant=appointment.dependant, kind=OrderKind.REGISTRATION
    )
    return Quote(
        list_amount=list_amount, discount=discounted(list_amount=list_amount, percent=percent), category_code=code
    )


def quote_visit(*, member: Member, dependant: Dependant | None, list_amount: int) -> Quote:
    code, percent = best_category(member=member, dependant=dependant, kind=OrderKind.VISIT)
    return Quote(
        list_amount=list_amount, discount=discounted(list_amount=list_amount, percent=percent), category_code=code
    )
