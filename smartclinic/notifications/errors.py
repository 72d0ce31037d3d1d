from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from smartclinic.core.errors import ApplicationError


class InvalidPreference(ApplicationError):
    code = "notifications.invalid_preference"
    status = 422
    message = _("Give a supported language, and both ends of the quiet hours or neither.")


class NotRequeueable(ApplicationError):
    code = "notifications.not_requeueable"
    status = 409
    message = _("Only a failed delivery can be sent again.")
