from __future__ import annotations

from uuid import UUID

from smartclinic.booking.models import Appointment, WaitlistEntry
from smartclinic.core.actor import Actor
from smartclinic.core.compiled import CompiledQuery, Lookup
from smartclinic.core.errors import NotFound
from smartclinic.identity.models import Dependant, Member
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, Slot


def access_appointment(*, actor: Actor, public_id: UUID) -> Appointment:
    """The patient's own appointment (or their dependant's); staff who may view appointments see any."""
    user = actor.user
    appointment = (
        Appointment.objects.select_related(
            "member", "slot", "session", "department", "doctor", "dependant", "rebook_offer"
        )
        .filter(public_id=public_id)
        .first()
    )
    if appointment is None or user is None:
        raise NotFound()
    if appointment.member.account_id == user.pk or user.has_perm("booking.view_appointment"):
        return appointment
    raise NotFound()


def access_own_waitlist_entry(*, actor: Actor, public_id: UUID) -> WaitlistEntry:
    entry = WaitlistEntry.objects.select_related("member").filter(public_id=public_id).first()
    if entry is None or actor.user is None or entry.member.account_id != actor.user.pk:
        raise NotFound()
    return entry


# On every booking request: compiled once per process.
_SLOT_BY_PUBLIC_ID: CompiledQuery[Slot] = CompiledQuery(
    Slot.objects.select_related("session", "session__department", "session__doctor").order_by(),
    "public_id",
    prepared=True,
)


def access_bookable_slot(*, public_id: UUID) -> Slot:
    return found_slot_or_not_found(_SLOT_BY_PUBLIC_ID.first(public_id=public_id))


def bookable_slot_lookup(*, public_id: UUID) -> Lookup:
    """``access_bookable_slot``'s read, for ``first_of_each`` (read along with the token)."""
    return (_SLOT_BY_PUBLIC_ID, {"public_id": public_id})


def found_slot_or_not_found(slot: Slot | None) -> Slot:
    if slot is None:
        raise NotFound()
    return slot


def access_own_dependant_or_none(*, member: Member | None, public_id: UUID | None) -> Dependant | None:
    if public_id is None:
        return None
    dependant = Dependant.objects.filter(public_id=public_id, active=True).first()
    if dependant is None or member is None or dependant.owner_id != member.pk:
        raise NotFound()
    return dependant


# On every slot list refresh.
_DEPARTMENT_BY_CODE: CompiledQuery[Department] = CompiledQuery(Department.objects.all(), "code")


def department_by_ref(*, ref: str) -> Department:
    """A department by its code (NK) or public id."""
    department = _DEPARTMENT_BY_CODE.first(code=ref.upper())
    if department is None:
        try:
            department = Department.objects.filter(public_id=UUID(ref)).first()
        except ValueError:
            department = None
    if department is None or not department.active:
        raise NotFound()
    return department


def doctor_by_id(*, public_id: UUID) -> Doctor:
    doctor = Doctor.objects.filter(public_id=public_id, active=True).prefetch_related("departments").first()
    if doctor is None:
        raise NotFound()
    return doctor


def session_by_id(*, public_id: UUID) -> ClinicSession:
    session = ClinicSession.objects.select_related("department", "doctor").filter(public_id=public_id).first()
    if session is None:
        raise NotFound()
    return session
