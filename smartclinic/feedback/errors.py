from django.utils.translation import gettext_lazy as _

from smartclinic.core.errors import ApplicationError


class NotFinished(ApplicationError):
    code = "feedback.not_finished"
    status = 409
    message = _("You can rate a visit once it is finished.")


class AlreadySubmitted(ApplicationError):
    code = "feedback.already_submitted"
    status = 409
    message = _("You have already rated this visit. Thank you!")


class WindowClosed(ApplicationError):
    code = "feedback.window_closed"
    status = 409
    message = _("Visits can be rated within %(days)d days; this one can no longer be rated.")


class NotYourEvaluation(ApplicationError):
    code = "feedback.not_your_patient"
    status = 403
    message = _("Only the doctor who saw the patient can reply.")


class AlreadyReplied(ApplicationError):
    code = "feedback.already_replied"
    status = 409
    message = _("You have already replied to this comment.")


class NothingToReply(ApplicationError):
    code = "feedback.no_comment"
    status = 409
    message = _("There is no comment to reply to.")
