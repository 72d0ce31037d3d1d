from __future__ import annotations

from django.conf import settings

from smartclinic.core.actor import Actor
from smartclinic.core.periodic import every
from smartclinic.notifications.dispatcher import deliveries_send_due
from smartclinic.notifications.reminders import reminders_send_due


@every(float(getattr(settings, "NOTIFICATIONS_SEND_EVERY_SECONDS", 3)), name="notifications.deliveries")
def send_deliveries() -> int:
    return deliveries_send_due().handled


@every(60, name="notifications.reminders")
def make_reminders() -> int:
    return reminders_send_due(actor=Actor.system(reason="reminder_job"))
