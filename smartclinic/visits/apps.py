from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "smartclinic.visits"
    label = "visits"
    verbose_name = _("Visits")

    def ready(self) -> None:
        from smartclinic.identity.choices import Role
        from smartclinic.identity.roles import grant
        from smartclinic.visits.reference_data import ensure_reference_data

        # Doctors see patients (their own queue only, see access.py); doctors, nurses and
        # managers see the clinic's day list, which carries codes and statuses, never free text.
        grant(Role.DOCTOR, "visits.conduct_visit", "visits.view_encounter", "visits.export_visit_log")
        grant(Role.NURSE, "visits.view_encounter", "visits.export_visit_log")
        grant(Role.MANAGER, "visits.view_encounter", "visits.export_visit_log")
        post_migrate.connect(ensure_reference_data, sender=self, dispatch_uid="visits.ensure_reference_data")
