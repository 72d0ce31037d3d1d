"""``POST /api/v1/appointments`` once the caller is known: shared by the API view and the ASGI
fast path (``fastpath.py``), so both apply the same limits, rules and Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from uuid import UUID

from smartclinic.booking import services
from smartclinic.booking.access import access_own_dependant_or_none, access_slot_to_book
from smartclinic.booking.presenters import appointment_out
from smartclinic.booking.schemas import AppointmentOut, SlotBrief
from smartclinic.core.actor import Actor
from smartclinic.core.idempotency import Receipt, StoredAsRead, fingerprint_of, run_idempotent_storing
from smartclinic.core.ratelimit import limit_booking_writes_from
from smartclinic.identity.models import Member, User
from smartclinic.identity.selectors import member_of_user
from smartclinic.scheduling.models import Slot

BOOK_PATH = "/api/v1/appointments"


def appointment_body(appointment: Any) -> dict[str, Any]:
    """The 201 answer to a booking, rendered by ``AppointmentOut`` as the API renders it, then
    sent (and stored for its Idempotency-Key) as it is. The presenter's values are the model's
    own, of the schema's types, so they are not validated again on this path (half the cost);
    ``test_the_booking_answer_is_the_schemas_rendering`` holds the two renderings equal."""
    data = appointment_out(appointment)
    if data["rebook_offer"] is not None:
        data["rebook_offer"] = SlotBrief.model_construct(**data["rebook_offer"])
    return AppointmentOut.model_construct(**data).model_dump(mode="json")


def _member_of(user: User) -> Member | None:
    """The account's campus member: loaded with the bearer token when the request came with one
    (``token_authenticate``), looked up otherwise."""
    related = User.member.related
    if related.is_cached(user):
        return cast("Member | None", related.get_cached_value(user))
    return member_of_user(user=user)


def book_for_caller(
    *,
    actor: Actor,
    user: User,
    address: str,
    slot_id: UUID,
    dependant_id: UUID | None,
    idempotency_key: str | None,
    path: str = BOOK_PATH,
    slot_of: Callable[[UUID], Slot] = lambda public_id: access_slot_to_book(public_id=public_id),
    stored_as_read: StoredAsRead | None = None,
) -> tuple[int, dict[str, Any]]:
    """Rate limits, then the booking (its answer stored with its Idempotency-Key in the same
    transaction). Returns (201, the appointment) or the first answer to the same key; raises
    an ``ApplicationError`` when a rule says no. ``slot_of`` gives the slot (with its session,
    department and doctor) or raises ``NotFound``: the fast path read it along with the token,
    and ``stored_as_read``, the key's stored answer, in the same statement."""
    limit_booking_writes_from(address=address, user_id=user.pk)
    # Read before the transaction, so that it holds only the booking's writes: the member, and
    # the slot with its session, department and doctor (each one compiled query). A stored
    # answer to an Idempotency-Key always names an existing slot (appointments protect theirs).
    member = _member_of(user)
    slot = slot_of(slot_id)

    def book(receipt: Receipt | None) -> tuple[int, Any]:
        rendered: list[dict[str, Any]] = []  # the answer is validated once, stored and sent as is

        def answer(made: Any) -> dict[str, Any]:
            assert receipt is not None
            rendered.append(appointment_body(made))
            return receipt.values(201, rendered[0])

        appointment = services.appointment_book(
            actor=actor,
            member=member,
            slot=slot,
            dependant=access_own_dependant_or_none(member=member, public_id=dependant_id),
            answer=answer if receipt else None,
        )
        return 201, rendered[0] if rendered else appointment_body(appointment)

    request_body = {"slot_id": str(slot_id), "dependant_id": str(dependant_id) if dependant_id else None}
    return run_idempotent_storing(
        user_id=user.pk,
        key=idempotency_key,
        fingerprint=fingerprint_of(method="POST", path=path, body=request_body),
        action=book,
        # A booking stores its answer in its own statement: a repeat of the key is refused there
        # (or earlier, by one live appointment per department and day) and finds the answer then.
        look_first=False,
        read_along=stored_as_read,
        # The slot and the member were read with the key's answer: a refusal they decide needs
        # no look-up of the key afterwards ("slot full" is most answers in a rush).
        precheck=(lambda: services.check_refused_as_read(member=member, slot=slot)) if dependant_id is None else None,
    )
