from __future__ import annotations

from django.db.models import Q, QuerySet

from smartclinic.core.compiled import CompiledQuery
from smartclinic.core.crypto import lookup_hash
from smartclinic.identity.models import Dependant, Member, User
from smartclinic.identity.validators import is_valid_national_id

_MEMBER_OF_ACCOUNT: CompiledQuery[Member] = CompiledQuery(Member.objects.all(), "account")


def member_of_user(*, user: User) -> Member | None:
    """The campus member bound to the account (at most one: the binding is one-to-one)."""
    return _MEMBER_OF_ACCOUNT.first(account=user.pk)


def dependant_list_for_owner(*, owner: Member) -> QuerySet[Dependant]:
    return Dependant.objects.filter(owner=owner, active=True).order_by("created_at")


def member_search(*, query: str, limit: int = 20) -> QuerySet[Member]:
    """Staff look-up by member number, card number, name, or a full national ID (by keyed hash)."""
    query = query.strip()
    if not query:
        return Member.objects.none()
    condition = Q(number=query) | Q(card_number=query) | Q(name__startswith=query)
    if is_valid_national_id(query):
        condition |= Q(national_id_hash=lookup_hash(query))
    return Member.objects.filter(condition).select_related("account").order_by("number")[:limit]
