from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueueingConfig(AppConfig):
    name = "smartclinic.queueing"
    label = "queueing"
    verbose_name = _("Queueing")

    def ready(self) -> None:
        from smartclinic.queueing import handlers  # noqa: F401 - registers outbox handlers
