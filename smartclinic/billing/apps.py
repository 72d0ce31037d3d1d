from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "smartclinic.billing"
    label = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from smartclinic.billing import handlers, jobs  # noqa: F401 - registers handlers and periodic jobs
        from smartclinic.identity.choices import Role
        from smartclinic.identity.roles import grant

        grant(
            Role.CASHIER,
            "billing.view_order",
            "billing.take_payment",
            "billing.top_up_card",
            "billing.complete_refund",
        )
        fee_schedule = (
            "billing.view_feerule",
            "billing.add_feerule",
            "billing.change_feerule",
            "billing.view_feecategory",
            "billing.add_feecategory",
            "billing.change_feecategory",
        )
        grant(
            Role.MANAGER,
            "billing.view_order",
            "billing.view_refund",
            "billing.view_reconciliationrun",
            "billing.run_reconciliation",
            *fee_schedule,
        )
        grant(
            Role.ADMIN,
            "billing.view_order",
            "billing.view_refund",
            "billing.view_payment",
            "billing.view_reconciliationrun",
            "billing.run_reconciliation",
            "billing.view_wechatnotificationlog",
            "billing.view_campuscardaccount",
            *fee_schedule,
        )
