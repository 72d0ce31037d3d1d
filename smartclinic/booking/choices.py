from django.db import models
from django.utils.translation import gettext_lazy as _


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("booked")
    PAID = "paid", _("paid")
    COMPLETED = "completed", _("completed")
    CANCELLED = "cancelled", _("cancelled")
    CANCELLED_BY_CLINIC = "cancelled_by_clinic", _("cancelled by the clinic")
    NO_SHOW = "no_show", _("no-show")
    EXPIRED = "expired", _("offer expired")


# Live appointments hold capacity and count towards the per-person limits.
LIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.PAID)


class AppointmentSource(models.TextChoices):
    ONLINE = "online", _("online")
    WAITLIST = "waitlist", _("waitlist")
    REBOOK = "rebook", _("rebooked after a suspension")
    WALK_IN = "walk_in", _("walk-in")


class CancelReason(models.TextChoices):
    PATIENT = "patient", _("cancelled by the patient")
    RESCHEDULED = "rescheduled", _("rescheduled")
    SESSION_SUSPENDED = "session_suspended", _("the session was suspended")
    OFFER_EXPIRED = "offer_expired", _("the waitlist offer was not confirmed in time")
    MEMBER_DEACTIVATED = "member_deactivated", _("the member is no longer active")


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("waiting")
    OFFERED = "offered", _("slot offered")
    BOOKED = "booked", _("booked")
    EXPIRED = "expired", _("offer expired")
    CANCELLED = "cancelled", _("cancelled")


OPEN_WAITLIST_STATUSES = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)
