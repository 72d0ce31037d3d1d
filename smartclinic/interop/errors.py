from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from smartclinic.core.errors import NotFound


class RecordNotFound(NotFound):
    code = "interop.not_found"
    message = _("No such record.")
