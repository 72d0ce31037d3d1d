from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "smartclinic.identity"
    label = "identity"
    verbose_name = _("Identity")

    def ready(self) -> None:
        from smartclinic.identity.roles import ensure_role_groups

        post_migrate.connect(ensure_role_groups, dispatch_uid="identity.ensure_role_groups")
