from django.utils.translation import gettext_lazy as _

from smartclinic.core.errors import ApplicationError


class CardNotBound(ApplicationError):
    code = "booking.card_not_bound"
    status = 403
    message = _("Bind your campus card before booking.")


class MemberNotActive(ApplicationError):
    code = "booking.member_inactive"
    status = 403
    message = _("Only active campus members can book.")


class SlotFull(ApplicationError):
    code = "booking.slot_full"
    status = 409
    message = _("This slot is fully booked. Choose another time or join the waitlist.")


class DuplicateBooking(ApplicationError):
    code = "booking.duplicate"
    status = 409
    message = _("You already have an appointment in this department on this day.")


class TooManyAppointments(ApplicationError):
    code = "booking.too_many"
    status = 409
    message = _("You already hold the maximum number of appointments (%(limit)d). Cancel one first.")


class BookingBlocked(ApplicationError):
    code = "booking.blocked"
    status = 403
    message = _("Booking is blocked until %(until)s because of repeated no-shows.")


class NotOpenYet(ApplicationError):
    code = "booking.not_open_yet"
    status = 409
    message = _("Booking for this session opens at %(opens_at)s.")


class BookingClosed(ApplicationError):
    code = "booking.closed"
    status = 409
    message = _("Booking for this slot has closed.")


class SessionSuspended(ApplicationError):
    code = "booking.session_suspended"
    status = 409
    message = _("This session has been suspended by the clinic.")


class CancelTooLate(ApplicationError):
    code = "booking.cancel_too_late"
    status = 409
    message = _("It is too late to cancel online (the deadline was %(deadline)s). Please contact the clinic.")


class NotCancellable(ApplicationError):
    code = "booking.not_cancellable"
    status = 409
    message = _("This appointment can no longer be changed.")


class SlotsStillAvailable(ApplicationError):
    code = "booking.slots_available"
    status = 409
    message = _("There are still free slots: book one instead of joining the waitlist.")


class AlreadyWaitlisted(ApplicationError):
    code = "booking.already_waitlisted"
    status = 409
    message = _("You are already on the waitlist for this department on this day.")


class OfferExpired(ApplicationError):
    code = "booking.offer_expired"
    status = 409
    message = _("The time to confirm this waitlist offer has passed.")


class NoEquivalentSlot(ApplicationError):
    code = "booking.no_equivalent_slot"
    status = 409
    message = _("No equivalent slot is free right now. Choose another one.")
