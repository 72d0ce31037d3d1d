"""Who may touch which ticket. Each guard returns the object or raises: ``PermissionDenied``
when the role lacks the permission altogether, ``NotFound`` when the object is not theirs (it
does not reveal that it exists)."""

from __future__ import annotations

from uuid import UUID

from smartclinic.booking.access import access_appointment
from smartclinic.core.actor import Actor
from smartclinic.core.errors import NotFound, PermissionDenied, Unauthenticated
from smartclinic.identity.models import User
from smartclinic.queueing.models import Ticket
from smartclinic.scheduling.models import ClinicSession, Doctor

TICKET_RELATED = ("session__department", "doctor", "member", "dependant", "appointment__slot")


def _user(actor: Actor) -> User:
    if actor.user is None:
        raise Unauthenticated()
    return actor.user


def _require(user: User, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied()


def _ticket(public_id: UUID) -> Ticket:
    ticket = Ticket.objects.select_related(*TICKET_RELATED).filter(public_id=public_id).first()
    if ticket is None:
        raise NotFound()
    return ticket


def doctor_of(user: User) -> Doctor | None:
    return Doctor.objects.filter(user=user, active=True).first()


def access_ticket_for_staff(*, actor: Actor, public_id: UUID, permission: str) -> Ticket:
    """A ticket for the nurse's station (any ticket, given the permission)."""
    _require(_user(actor), permission)
    return _ticket(public_id)


def access_own_queue_ticket(*, actor: Actor, public_id: UUID) -> Ticket:
    """A ticket in the signed-in doctor's own queue (call again, skip)."""
    user = _user(actor)
    _require(user, "queueing.call_ticket")
    ticket = _ticket(public_id)
    if ticket.doctor.user_id != user.pk:
        raise NotFound()
    return ticket


def access_transferable_ticket(*, actor: Actor, public_id: UUID) -> Ticket:
    """Nurses transfer any patient; a doctor only one from their own queue."""
    user = _user(actor)
    _require(user, "queueing.transfer_ticket")
    ticket = _ticket(public_id)
    if user.has_perm("queueing.view_ticket") or ticket.doctor.user_id == user.pk:
        return ticket
    raise NotFound()


def access_own_queue_session(*, actor: Actor, public_id: UUID) -> ClinicSession:
    """The session whose queue the signed-in doctor calls from."""
    user = _user(actor)
    _require(user, "queueing.call_ticket")
    session = ClinicSession.objects.select_related("doctor", "department").filter(public_id=public_id).first()
    if session is None or session.doctor.user_id != user.pk:
        raise NotFound()
    return session


def access_patient_ticket(*, actor: Actor, appointment_id: UUID) -> Ticket:
    """The ticket of the patient's own appointment (or any, for staff who view appointments)."""
    appointment = access_appointment(actor=actor, public_id=appointment_id)
    ticket = Ticket.objects.select_related(*TICKET_RELATED).filter(appointment=appointment).first()
    if ticket is None:
        raise NotFound()
    return ticket


def access_own_ticket(*, actor: Actor, public_id: UUID) -> Ticket:
    """A ticket of the signed-in patient (or of their dependant)."""
    user = _user(actor)
    ticket = _ticket(public_id)
    if ticket.member.account_id != user.pk:
        raise NotFound()
    return ticket
