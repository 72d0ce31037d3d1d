from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "smartclinic.feedback"
    label = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from smartclinic.identity.choices import Role
        from smartclinic.identity.roles import grant

        grant(Role.MANAGER, "feedback.view_evaluation", "feedback.handle_complaint")
        grant(Role.ADMIN, "feedback.view_evaluation", "feedback.handle_complaint")
