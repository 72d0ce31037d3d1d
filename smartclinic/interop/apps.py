from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InteropConfig(AppConfig):
    name = "smartclinic.interop"
    label = "interop"
    verbose_name = _("Interoperability (FHIR, HIS)")

    def ready(self) -> None:
        from smartclinic.identity.choices import Role
        from smartclinic.identity.roles import grant
        from smartclinic.interop import handlers, jobs  # noqa: F401 - registers handlers and the send job

        grant(Role.MANAGER, "interop.read_fhir", "interop.view_hisexport")
        grant(Role.ADMIN, "interop.read_fhir", "interop.view_hisexport", "interop.resend_hisexport")
