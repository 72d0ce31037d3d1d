from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from smartclinic.audit.models import AuditEntry
from smartclinic.core.actor import Actor
from smartclinic.identity.choices import MemberStatus
from smartclinic.identity.errors import (
    AccountAlreadyBound,
    BindingLocked,
    BindingMismatch,
    MemberAlreadyBound,
    MemberInactive,
    NotBound,
)
from smartclinic.identity.models import BindingAttempt, Member
from smartclinic.identity.services import binding_locked_until, card_bind, card_unbind
from smartclinic.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


def bind(user, member, **overrides):
    fields = {"member_number": member.number, "name": member.name, "card_number": member.card_number}
    fields.update(overrides)
    return card_bind(actor=Actor.of(user), user=user, **fields)


def test_bind_with_card_number_links_member_audits_and_publishes(make_user, make_member):
    user = make_user()
    member = make_member(name="李华")

    bound = bind(user, member)

    assert bound.pk == member.pk
    member.refresh_from_db()
    assert member.account == user
    assert member.bound_at is not None
    entry = AuditEntry.objects.get(action="identity.card_bound")
    assert entry.subject_id == str(member.public_id)
    assert entry.actor_id == user.pk
    assert entry.new_values == {"account": str(user.public_id)}
    message = OutboxMessage.objects.get(name="identity.card_bound")
    assert message.payload == {"member_id": str(member.public_id), "account_id": str(user.public_id)}


def test_bind_with_last_six_of_national_id(make_user, make_member):
    user = make_user()
    member = make_member(national_id="11010519491231002X")

    bind(user, member, card_number="", national_id_last6="31002x")

    assert Member.objects.get(pk=member.pk).account == user


def test_name_compares_without_spaces(make_user, make_member):
    user = make_user()
    member = make_member(name="欧阳 娜娜")
    bind(user, member, name="欧阳娜娜 ")
    assert Member.objects.get(pk=member.pk).account == user


@pytest.mark.parametrize(
    "overrides",
    [
        {"card_number": "WRONG"},
        {"name": "王五"},
        {"member_number": "does-not-exist"},
        {"card_number": "", "national_id_last6": "000000"},
        {"card_number": "", "national_id_last6": ""},
    ],
)
def test_mismatch_changes_nothing_and_counts_a_failure(make_user, make_member, overrides):
    user = make_user()
    member = make_member()

    with pytest.raises(BindingMismatch):
        bind(user, member, **overrides)

    assert Member.objects.get(pk=member.pk).account is None
    assert BindingAttempt.objects.filter(user=user).count() == 1
    assert not AuditEntry.objects.filter(action="identity.card_bound").exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("status", [MemberStatus.GRADUATED, MemberStatus.LEFT, MemberStatus.SUSPENDED])
def test_inactive_member_cannot_bind(make_user, make_member, status):
    user = make_user()
    member = make_member(status=status)
    with pytest.raises(MemberInactive):
        bind(user, member)
    assert Member.objects.get(pk=member.pk).account is None


def test_second_account_cannot_bind_the_same_member(make_user, make_member):
    first, second = make_user(), make_user()
    member = make_member()
    bind(first, member)

    with pytest.raises(MemberAlreadyBound):
        bind(second, member)

    assert Member.objects.get(pk=member.pk).account == first


def test_account_cannot_bind_two_members(make_user, make_member):
    user = make_user()
    bind(user, make_member())
    other = make_member()
    with pytest.raises(AccountAlreadyBound):
        bind(user, other)
    assert Member.objects.get(pk=other.pk).account is None


def test_binding_again_to_the_same_member_is_a_no_op(make_user, make_member):
    user = make_user()
    member = make_member()
    bind(user, member)
    bind(user, member)
    assert AuditEntry.objects.filter(action="identity.card_bound").count() == 1


def test_five_failures_in_an_hour_lock_binding_for_an_hour(make_user, make_member):
    user = make_user()
    member = make_member()
    start = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        for minute in range(4):
            traveller.move_to(start + dt.timedelta(minutes=minute * 10))
            with pytest.raises(BindingMismatch):
                bind(user, member, card_number="WRONG")
        traveller.move_to(start + dt.timedelta(minutes=50))
        with pytest.raises(BindingLocked) as locked:
            bind(user, member, card_number="WRONG")
        assert locked.value.extra["locked_until"] == (start + dt.timedelta(minutes=110)).isoformat()

        # Even the right details are refused while locked.
        traveller.move_to(start + dt.timedelta(minutes=109))
        with pytest.raises(BindingLocked):
            bind(user, member)
        assert Member.objects.get(pk=member.pk).account is None

        traveller.move_to(start + dt.timedelta(minutes=111))
        assert binding_locked_until(user=user) is None
        bind(user, member)
    assert Member.objects.get(pk=member.pk).account == user


def test_failures_spread_over_more_than_an_hour_do_not_lock(make_user, make_member):
    user = make_user()
    member = make_member()
    start = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        for step in range(6):
            traveller.move_to(start + dt.timedelta(minutes=step * 16))
            with pytest.raises(BindingMismatch):
                bind(user, member, card_number="WRONG")


def test_lockout_is_per_account(make_user, make_member):
    attacker, student = make_user(), make_user()
    member = make_member()
    for _ in range(5):
        with pytest.raises((BindingMismatch, BindingLocked)):
            bind(attacker, member, card_number="WRONG")
    bind(student, member)
    assert Member.objects.get(pk=member.pk).account == student


def test_unbind_by_self_and_by_staff(make_user, make_member):
    patient, nurse = make_user(), make_user("nurse")
    member = make_member()
    bind(patient, member)

    card_unbind(actor=Actor.of(patient), member=member)
    member.refresh_from_db()
    assert member.account is None and member.bound_at is None

    bind(patient, member)
    card_unbind(actor=Actor.of(nurse), member=member)
    entries = list(AuditEntry.objects.filter(action="identity.card_unbound").order_by("id"))
    assert [e.new_values["by_staff"] for e in entries] == [False, True]
    assert entries[1].actor_id == nurse.pk
    assert OutboxMessage.objects.filter(name="identity.card_unbound").count() == 2


def test_unbind_when_not_bound_is_an_error(make_member, system_actor):
    with pytest.raises(NotBound):
        card_unbind(actor=system_actor, member=make_member())
