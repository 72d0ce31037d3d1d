"""Who may see which visit record. A doctor reads and writes only the encounters of tickets in
their own queue; a patient reads their own finished visits (and their dependants'). Anything
else is "not found": the answer never tells whether the record exists."""

from __future__ import annotations

from uuid import UUID

from smartclinic.core.actor import Actor
from smartclinic.core.errors import NotFound
from smartclinic.queueing.models import Ticket
from smartclinic.scheduling.models import Doctor
from smartclinic.visits import selectors
from smartclinic.visits.choices import EncounterStatus
from smartclinic.visits.models import ClinicalOrder, Encounter

CONDUCT_VISIT = "visits.conduct_visit"


def station_doctor(*, actor: Actor) -> Doctor:
    """The doctor the signed-in user is, if they may work the doctor's station."""
    user = actor.user
    if user is None or not user.is_active or not user.has_perm(CONDUCT_VISIT):
        raise NotFound()
    doctor = selectors.doctor_of_user(user_id=user.pk)
    if doctor is None:
        raise NotFound()
    return doctor


def access_station_ticket(*, actor: Actor, public_id: UUID) -> Ticket:
    """A ticket of the actor's own queue (``Ticket.doctor.user`` is the actor)."""
    doctor = station_doctor(actor=actor)
    ticket = (
        Ticket.objects.select_related("session__department", "doctor", "appointment", "member", "dependant")
        .filter(public_id=public_id, doctor=doctor)
        .first()
    )
    if ticket is None:
        raise NotFound()
    return ticket


def access_station_encounter(*, actor: Actor, ticket_public_id: UUID) -> Encounter:
    """The encounter of a ticket of the actor's own queue, with its record."""
    ticket = access_station_ticket(actor=actor, public_id=ticket_public_id)
    encounter = selectors.encounter_of_ticket(ticket=ticket)
    if encounter is None:
        raise NotFound()
    return encounter


def access_station_encounter_by_id(*, actor: Actor, public_id: UUID) -> Encounter:
    doctor = station_doctor(actor=actor)
    encounter = selectors.encounter_by_public_id(public_id=public_id)
    if encounter is None or encounter.ticket.doctor_id != doctor.pk:
        raise NotFound()
    return encounter


def access_encounter_order(*, encounter: Encounter, public_id: UUID) -> ClinicalOrder:
    order = ClinicalOrder.objects.filter(encounter=encounter, public_id=public_id).first()
    if order is None:
        raise NotFound()
    return order


def access_own_visit(*, actor: Actor, public_id: UUID) -> Encounter:
    """A finished visit of the actor's own account (or of one of their dependants)."""
    user = actor.user
    encounter = selectors.encounter_by_public_id(public_id=public_id)
    if (
        user is None
        or encounter is None
        or encounter.status != EncounterStatus.CLOSED
        or encounter.member.account_id != user.pk
    ):
        raise NotFound()
    return encounter
