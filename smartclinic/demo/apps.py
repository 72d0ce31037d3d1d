from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo campus seed (``manage.py seed_demo``); it owns no tables."""

    name = "smartclinic.demo"
    label = "demo"
    verbose_name = _("Demo")
