from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "smartclinic.booking"
    label = "booking"
    verbose_name = _("Booking")

    def ready(self) -> None:
        from smartclinic.booking import handlers, jobs  # noqa: F401 - registers handlers and periodic jobs
        from smartclinic.identity.choices import Role
        from smartclinic.identity.roles import grant

        grant(Role.NURSE, "booking.view_appointment", "scheduling.view_clinicsession")
        grant(Role.DOCTOR, "booking.view_appointment", "scheduling.view_clinicsession")
        grant(Role.CASHIER, "booking.view_appointment")
        grant(
            Role.MANAGER,
            "booking.view_appointment",
            "scheduling.view_clinicsession",
            "scheduling.suspend_session",
            "scheduling.add_clinicsession",
            "scheduling.change_scheduletemplate",
            "scheduling.add_scheduletemplate",
            "scheduling.add_scheduleexception",
        )
        grant(Role.ADMIN, "booking.view_appointment", "scheduling.view_clinicsession", "scheduling.suspend_session")
