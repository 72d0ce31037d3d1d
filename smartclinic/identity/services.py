"""Writes of the identity context: sign-in tokens, card binding, dependants."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from django.utils import formats, timezone

from smartclinic.audit.services import audit_record
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.compiled import CompiledQuery, Lookup, first_of_each
from smartclinic.core.crypto import lookup_hash
from smartclinic.core.idempotency import StoredAsRead
from smartclinic.core.models import IdempotencyRecord
from smartclinic.identity.choices import MemberKind, Relation
from smartclinic.identity.errors import (
    AccountAlreadyBound,
    BindingLocked,
    BindingMismatch,
    DependantsStaffOnly,
    DuplicateDependant,
    InvalidCredentials,
    InvalidNationalId,
    MemberAlreadyBound,
    MemberInactive,
    NotBound,
    TokenExpired,
)
from smartclinic.identity.events import CardBound, CardUnbound
from smartclinic.identity.models import ApiToken, BindingAttempt, Dependant, Member, User
from smartclinic.identity.token_use import token_used
from smartclinic.identity.validators import is_valid_national_id, normalize_national_id, same_name
from smartclinic.outbox.services import outbox_publish

TOKEN_PREFIX = "sc_"


# --- sign-in tokens ----------------------------------------------------------------------------


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    raw: str
    token: ApiToken


def account_authenticate(*, username: str, password: str) -> User:
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials()
    assert isinstance(user, User)
    return user


@transaction.atomic
def token_issue(*, actor: Actor, user: User) -> IssuedToken:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        key_hash=_token_hash(raw),
        expires_at=clock.now() + dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS),
    )
    audit_record(actor=actor, action="identity.token_issued", subject=token, new={"expires_at": token.expires_at})
    return IssuedToken(raw=raw, token=token)


# Every API request looks its token up: compiled once per process, not on each request. The
# account's campus member comes in the same round trip (``user.member``, the encrypted national
# ID left out until someone reads it), for the endpoints that need it at once (booking).
_LIVE_TOKENS = ApiToken.objects.select_related("user", "user__member").filter(revoked_at__isnull=True)
_LIVE_TOKEN: CompiledQuery[ApiToken] = CompiledQuery(
    _LIVE_TOKENS.defer("user__member__national_id"), "key_hash", prepared=True
)


def token_authenticate(*, raw: str) -> User | None:
    """The user of a live token; ``None`` for an unknown or revoked one; expired raises."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    return _user_of(_LIVE_TOKEN.first(key_hash=_token_hash(raw)))


# The patient's write that reads its token along with what it writes about (the booking
# request): the token, the account as an actor, and the member as a patient (who, and whether
# active): 14 of the three tables' 44 columns, the others would be read, converted and set on
# each such request for nothing. A field left out would load on first use, one statement more:
# the booking's ``test_a_booking_request_reads_the_token_and_the_slot_once`` counts them.
_LIVE_TOKEN_OF_PATIENT: CompiledQuery[ApiToken] = CompiledQuery(
    _LIVE_TOKENS.only(
        "user",
        "expires_at",
        "last_used_at",
        "user__username",
        "user__is_active",
        "user__member__public_id",
        "user__member__account",
        "user__member__number",
        "user__member__kind",
        "user__member__name",
        "user__member__status",
    ),
    "key_hash",
    prepared=True,
)


# The answer stored for an Idempotency-Key of the token's account, found through the token.
_KEY_RECORD_OF_TOKEN: CompiledQuery[IdempotencyRecord] = CompiledQuery(
    IdempotencyRecord.objects.order_by(), "user__api_tokens__key_hash", "key", prepared=True
)


def token_authenticate_along(
    *, raw: str, lookup: Lookup, idempotency_key: str | None = None
) -> tuple[User | None, Any, StoredAsRead | None]:
    """``token_authenticate`` and another unique lookup's row (``lookup.first(**values)``, or
    ``None``) in one round trip to the database: the booking request's token and slot. The user
    comes with the fields a patient's write reads (``_LIVE_TOKEN_OF_PATIENT``). With an
    ``idempotency_key``, the answer stored for it is read in the same statement (as of the same
    moment as the row); otherwise, or without a token, the third value is ``None``."""
    query, values = lookup
    if not raw.startswith(TOKEN_PREFIX):
        return None, query.first(**values), None
    key_hash = _token_hash(raw)
    lookups = [(_LIVE_TOKEN_OF_PATIENT, {"key_hash": key_hash}), lookup]
    if idempotency_key is not None:
        lookups.append((_KEY_RECORD_OF_TOKEN, {"user__api_tokens__key_hash": key_hash, "key": idempotency_key}))
    token, found, *record = first_of_each(*lookups)
    return _user_of(token), found, StoredAsRead(record[0]) if record else None


def _user_of(token: ApiToken | None) -> User | None:
    if token is None or not token.user.is_active:
        return None
    now = clock.now()
    if token.expires_at <= now:
        raise TokenExpired()
    # Coarse last-use tracking: one stamp per token per minute, written later, in a batch.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        token_used(token.pk, now)
    return token.user


@transaction.atomic
def token_revoke(*, actor: Actor, raw: str) -> None:
    token = ApiToken.objects.filter(key_hash=_token_hash(raw), revoked_at__isnull=True).first()
    if token is None:
        return
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=clock.now())
    audit_record(actor=actor, action="identity.token_revoked", subject=token)


# --- card binding ------------------------------------------------------------------------------


def binding_locked_until(*, user: User) -> dt.datetime | None:
    """When the lock ends, if the latest failures reached the limit within one window; the lock
    then lasts a full window from the failure that reached it."""
    window = dt.timedelta(minutes=settings.CARD_BINDING_LOCK_MINUTES)
    limit = settings.CARD_BINDING_MAX_FAILURES
    now = clock.now()
    latest = list(
        BindingAttempt.objects.filter(user=user, attempted_at__gt=now - 2 * window)
        .order_by("-attempted_at")
        .values_list("attempted_at", flat=True)[:limit]
    )
    if len(latest) < limit or latest[0] - latest[-1] > window:
        return None
    until = latest[0] + window
    return until if until > now else None


def _raise_if_locked(user: User) -> None:
    until = binding_locked_until(user=user)
    if until is not None:
        shown = formats.date_format(timezone.localtime(until), "Y-m-d H:i")
        raise BindingLocked(BindingLocked.message % {"until": shown}, locked_until=until.isoformat())


def card_bind(
    *,
    actor: Actor,
    user: User,
    member_number: str,
    name: str,
    card_number: str = "",
    national_id_last6: str = "",
) -> Member:
    """Bind the signed-in account to its campus member, checked against the local roster copy.

    A failed check is recorded in its own transaction (so the rollback of the attempt cannot
    erase it) and counts towards the lockout."""
    _raise_if_locked(user)
    try:
        return _card_bind(
            actor=actor,
            user=user,
            member_number=member_number.strip(),
            name=name,
            card_number=card_number.strip(),
            national_id_last6=national_id_last6.strip().upper(),
        )
    except BindingMismatch:
        with transaction.atomic():
            BindingAttempt.objects.create(user=user, attempted_at=clock.now(), member_number=member_number[:32])
        _raise_if_locked(user)
        raise


def _secret_matches(member: Member, card_number: str, national_id_last6: str) -> bool:
    if card_number:
        return secrets.compare_digest(member.card_number, card_number)
    if len(national_id_last6) == 6 and member.national_id:
        return secrets.compare_digest(normalize_national_id(member.national_id)[-6:], national_id_last6)
    return False


@transaction.atomic
def _card_bind(
    *, actor: Actor, user: User, member_number: str, name: str, card_number: str, national_id_last6: str
) -> Member:
    member = Member.objects.select_for_update().filter(number=member_number).first()
    if (
        member is None
        or not same_name(member.name, name)
        or not _secret_matches(member, card_number, national_id_last6)
    ):
        raise BindingMismatch()
    if not member.is_active_member:
        raise MemberInactive()
    if member.account_id == user.pk:
        return member
    if member.account_id is not None:
        raise MemberAlreadyBound()
    if Member.objects.filter(account=user).exists():
        raise AccountAlreadyBound()
    member.account = user
    member.bound_at = clock.now()
    try:
        with transaction.atomic():
            member.save(update_fields=["account", "bound_at", "updated_at"])
    except IntegrityError as exc:  # a concurrent bind of the same account won the race
        raise AccountAlreadyBound() from exc
    audit_record(actor=actor, action="identity.card_bound", subject=member, new={"account": user.public_id})
    outbox_publish(CardBound(member_id=member.public_id, account_id=user.public_id))
    return member


@transaction.atomic
def card_unbind(*, actor: Actor, member: Member) -> Member:
    """Unbind a member's card (the person themselves, or staff with ``identity.unbind_card``)."""
    locked = Member.objects.select_for_update(of=("self",)).select_related("account").get(pk=member.pk)
    if locked.account is None:
        raise NotBound()
    account = locked.account
    by_staff = actor.user is None or actor.user.pk != account.pk
    Member.objects.filter(pk=locked.pk).update(account=None, bound_at=None, updated_at=clock.now())
    audit_record(
        actor=actor,
        action="identity.card_unbound",
        subject=locked,
        old={"account": account.public_id},
        new={"account": None, "by_staff": by_staff},
    )
    outbox_publish(CardUnbound(member_id=locked.public_id, account_id=account.public_id, by_staff=by_staff))
    locked.refresh_from_db()
    return locked


# --- dependants --------------------------------------------------------------------------------


@transaction.atomic
def dependant_add(
    *,
    actor: Actor,
    owner: Member,
    name: str,
    relation: str,
    gender: str = "",
    birth_date: dt.date | None = None,
    phone: str = "",
    national_id: str = "",
) -> Dependant:
    if owner.kind != MemberKind.STAFF or not owner.is_active_member:
        raise DependantsStaffOnly()
    national_id = normalize_national_id(national_id) if national_id else ""
    if national_id and not is_valid_national_id(national_id):
        raise InvalidNationalId(field="national_id")
    if relation not in Relation.values:
        relation = Relation.OTHER
    id_hash = lookup_hash(national_id) if national_id else ""
    try:
        with transaction.atomic():
            dependant = Dependant.objects.create(
                owner=owner,
                name=name.strip(),
                relation=relation,
                gender=gender,
                birth_date=birth_date,
                phone=phone.strip(),
                national_id=national_id,
                national_id_hash=id_hash,
            )
    except IntegrityError as exc:
        raise DuplicateDependant() from exc
    audit_record(
        actor=actor,
        action="identity.dependant_added",
        subject=dependant,
        new={"owner": owner.public_id, "relation": relation},
    )
    return dependant


@transaction.atomic
def dependant_remove(*, actor: Actor, dependant: Dependant) -> None:
    """Dependants are deactivated, not deleted: past appointments still refer to them."""
    updated = Dependant.objects.filter(pk=dependant.pk, active=True).update(active=False, updated_at=clock.now())
    if updated:
        audit_record(
            actor=actor,
            action="identity.dependant_removed",
            subject=dependant,
            old={"active": True},
            new={"active": False},
        )
