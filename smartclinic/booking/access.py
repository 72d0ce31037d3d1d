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


# A slot with its session, department and doctor, unordered (a unique look-up needs no sort).
_SLOTS_WITH_SESSION = Slot.objects.select_related("session", "session__department", "session__doctor").order_by()

# On every booking request: compiled once per process.
_SLOT_BY_PUBLIC_ID: CompiledQuery[Slot] = CompiledQuery(_SLOTS_WITH_SESSION, "public_id", prepared=True)


# The booking request's slot: only what the booking's rules, its rows and its answer read (24 of
# the four tables' 58 columns). A field left out would load on first use, one statement more:
# ``test_a_booking_request_reads_the_token_and_the_slot_once`` counts them.
_SLOT_TO_BOOK: CompiledQuery[Slot] = CompiledQuery(
    _SLOTS_WITH_SESSION.only(
        "public_id",
        "session",
        "starts_at",
        "ends_at",
        "capacity",
        "booked",
        "session__department",
        "session__doctor",
        "session__date",
        "session__fee",
        "session__room",
        "session__status",
        "session__opens_at",
        "session__department__code",
        "session__department__name",
        "session__department__location",
        "session__department__booking_stop_minutes",
        "session__department__cancel_cutoff_minutes",
        "session__doctor__name",
        "session__doctor__title",
    ),
    "public_id",
    prepared=True,
)


def access_bookable_slot(*, public_id: UUID) -> Slot:
    return found_slot_or_not_found(_SLOT_BY_PUBLIC_ID.first(public_id=public_id))


def access_slot_to_book(*, public_id: UUID) -> Slot:
    """The slot a booking request names, with what the booking reads of it, its session,
    department and doctor."""
    return found_slot_or_not_found(_SLOT_TO_BOOK.first(public_id=public_id))


def slot_to_book_lookup(*, public_id: UUID) -> Lookup:
    """``access_slot_to_book``'s read, for ``first_of_each`` (read along with the token)."""
    return (_SLOT_TO_BOOK, {"public_id": public_id})


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
_DEPARTMENT_BY_CODE: CompiledQuery[Department] = CompiledQuery(Department.objects.all(), "code", prepared=True)


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
