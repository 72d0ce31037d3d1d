from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueueingConfig(AppConfig):
    name = "smartclinic.queueing"
    label = "queueing"
    verbose_name = _("Queueing")

    def ready(self) -> None:
        from smartclinic.identity.choices import Role
        from smartclinic.identity.roles import grant
        from smartclinic.queueing import handlers  # noqa: F401 - registers outbox handlers

        # The nurse runs the floor: every queue of the day, check-in, walk-ins, priority, vitals,
        # transfers. A doctor calls, recalls, skips and transfers the patients of their own queue
        # (the views check Doctor.user); they read the vitals of their patients.
        grant(
            Role.NURSE,
            "queueing.view_ticket",
            "queueing.check_in_ticket",
            "queueing.register_walk_in",
            "queueing.prioritize_ticket",
            "queueing.transfer_ticket",
            "queueing.add_vitals",
            "queueing.view_vitals",
        )
        grant(Role.DOCTOR, "queueing.call_ticket", "queueing.transfer_ticket", "queueing.view_vitals")
        grant(Role.CASHIER, "queueing.register_walk_in")
        grant(
            Role.MANAGER,
            "queueing.view_ticket",
            "queueing.view_screen",
            "queueing.add_screen",
            "queueing.change_screen",
        )
        grant(
            Role.ADMIN,
            "queueing.view_ticket",
            "queueing.view_screen",
            "queueing.add_screen",
            "queueing.change_screen",
            "queueing.view_queueevent",
        )
