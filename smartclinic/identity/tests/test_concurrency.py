"""Binding races with real concurrent connections (threads), on both databases."""

from __future__ import annotations

import pytest

from smartclinic.core.actor import Actor
from smartclinic.core.testing import run_concurrently
from smartclinic.identity.errors import AccountAlreadyBound, MemberAlreadyBound
from smartclinic.identity.models import Member
from smartclinic.identity.services import card_bind

pytestmark = pytest.mark.django_db(transaction=True)


def test_many_accounts_racing_for_one_card_leave_exactly_one_bound(make_user, make_member):
    member = make_member()
    users = [make_user() for _ in range(12)]

    def bind_as(user):
        return lambda: card_bind(
            actor=Actor.of(user),
            user=user,
            member_number=member.number,
            name=member.name,
            card_number=member.card_number,
        )

    results = run_concurrently([bind_as(u) for u in users])

    winners = [r for r in results if isinstance(r, Member)]
    losers = [r for r in results if not isinstance(r, Member)]
    assert len(winners) == 1
    assert all(isinstance(r, MemberAlreadyBound) for r in losers), losers
    member.refresh_from_db()
    assert member.account_id == winners[0].account_id


def test_one_account_racing_for_two_cards_binds_at_most_one(make_user, make_member):
    user = make_user()
    members = [make_member() for _ in range(6)]

    def bind_to(member):
        return lambda: card_bind(
            actor=Actor.of(user),
            user=user,
            member_number=member.number,
            name=member.name,
            card_number=member.card_number,
        )

    results = run_concurrently([bind_to(m) for m in members])

    assert sum(isinstance(r, Member) for r in results) == 1
    assert all(isinstance(r, Member | AccountAlreadyBound) for r in results), results
    assert Member.objects.filter(account=user).count() == 1
