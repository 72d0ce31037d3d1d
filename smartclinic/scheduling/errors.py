from django.utils.translation import gettext_lazy as _

from smartclinic.core.errors import ApplicationError


class SessionNotOpen(ApplicationError):
    code = "scheduling.session_suspended"
    status = 409
    message = _("This session has been suspended by the clinic.")


class InvalidSchedule(ApplicationError):
    code = "scheduling.invalid_schedule"
    status = 422
    message = _("The schedule is not valid.")
