from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "smartclinic.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from smartclinic.identity.choices import Role
        from smartclinic.identity.roles import grant
        from smartclinic.notifications import handlers, jobs  # noqa: F401 - registers handlers and periodic jobs

        view_log = "notifications.view_delivery"
        grant(Role.NURSE, view_log)
        grant(Role.CASHIER, view_log)
        grant(Role.MANAGER, view_log, "notifications.requeue_delivery")
        grant(
            Role.ADMIN,
            view_log,
            "notifications.requeue_delivery",
            "notifications.view_message",
            "notifications.view_messagetemplate",
            "notifications.change_messagetemplate",
            "notifications.view_notificationpreference",
            "notifications.view_wechatrecipient",
            "notifications.add_wechatrecipient",
            "notifications.change_wechatrecipient",
        )
