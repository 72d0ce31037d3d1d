from django.utils.translation import gettext_lazy as _

from smartclinic.core.errors import ApplicationError


class TicketStateError(ApplicationError):
    code = "queueing.invalid_transition"
    status = 409
    message = _("This ticket cannot do that now (it is %(status)s).")


class NotPaid(ApplicationError):
    code = "queueing.not_paid"
    status = 409
    message = _("The registration fee is not paid yet, so there is no queue number.")


class QueueEmpty(ApplicationError):
    code = "queueing.queue_empty"
    status = 409
    message = _("Nobody checked in is waiting.")


class PatientAlreadyCalled(ApplicationError):
    code = "queueing.patient_already_called"
    status = 409
    message = _("%(code)s is already called: start the visit or mark them as skipped first.")


class WrongDay(ApplicationError):
    code = "queueing.wrong_day"
    status = 409
    message = _("Check-in is only possible on the day of the appointment.")


class InvalidCheckInCode(ApplicationError):
    code = "queueing.invalid_check_in_code"
    status = 400
    message = _("This check-in code is not valid or has expired. Scan the code at the clinic again.")


class NoSessionForDoctor(ApplicationError):
    code = "queueing.no_session_for_doctor"
    status = 409
    message = _("That doctor does not consult on this day.")


class PriorityReasonRequired(ApplicationError):
    code = "queueing.priority_reason_required"
    status = 422
    message = _("Give the reason for the priority (for example: fever of 39.5 °C, wheelchair).")


class InvalidVitals(ApplicationError):
    code = "queueing.invalid_vitals"
    status = 422
    message = _("These vital signs are not plausible: %(fields)s.")


class NothingToCheckIn(ApplicationError):
    code = "queueing.nothing_to_check_in"
    status = 404
    message = _("You have no paid appointment waiting for check-in today.")
