from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from smartclinic.booking.choices import (
    LIVE_STATUSES,
    OPEN_WAITLIST_STATUSES,
    AppointmentSource,
    AppointmentStatus,
    CancelReason,
    WaitlistStatus,
)
from smartclinic.core.models import BaseModel
from smartclinic.identity.models import Dependant, Member
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, Slot


def person_key_for(*, member: Member, dependant: Dependant | None) -> str:
    """Who the appointment is for: the member, or one of a staff member's dependants."""
    return f"d:{dependant.pk}" if dependant is not None else f"m:{member.pk}"


class Appointment(BaseModel):
    # Indexed by the (member, status) and (session, status) indexes below, not twice.
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="appointments", db_index=False)
    dependant = models.ForeignKey(
        Dependant, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    person_key = models.CharField(max_length=32, editable=False)  # leads (person_key, status, date)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments")
    session = models.ForeignKey(ClinicSession, on_delete=models.PROTECT, related_name="appointments", db_index=False)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="appointments")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="appointments")
    date = models.DateField(_("date"))
    status = models.CharField(
        _("status"), max_length=24, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    source = models.CharField(
        _("source"), max_length=10, choices=AppointmentSource.choices, default=AppointmentSource.ONLINE
    )
    fee = models.PositiveIntegerField(_("fee (fen)"))
    hold_expires_at = models.DateTimeField(_("confirm by"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancel reason"), max_length=24, choices=CancelReason.choices, blank=True)
    rescheduled_from = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="rescheduled_to"
    )
    rebook_offer = models.ForeignKey(Slot, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person_key", "department", "date"],
                condition=models.Q(status__in=LIVE_STATUSES),
                name="appointment_one_live_per_person_department_day",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "status"]),
            models.Index(fields=["session", "status"]),
            models.Index(fields=["person_key", "status", "date"]),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class PersonQuota(models.Model):
    """Per person: live appointments and any no-show block. Booking takes a place here with one
    conditional update, which also serializes one person's concurrent bookings."""

    person_key = models.CharField(max_length=32)  # unique: the constraint below
    live_count = models.PositiveIntegerField(default=0)
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("booking quota")
        verbose_name_plural = _("booking quotas")
        constraints = [
            # A constraint rather than unique=True: no second, pattern-matching index on
            # PostgreSQL to update on every booking.
            models.UniqueConstraint(fields=["person_key"], name="quota_one_row_per_person"),
            models.CheckConstraint(condition=models.Q(live_count__gte=0), name="quota_live_count_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.person_key}: {self.live_count}"


class WaitlistEntry(BaseModel):
    """A place in line (候补) for one session, or for any doctor of a department on a day."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="waitlist_entries")
    dependant = models.ForeignKey(Dependant, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    person_key = models.CharField(max_length=32, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(ClinicSession, on_delete=models.CASCADE, null=True, blank=True, related_name="waitlist")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="waitlist")
    date = models.DateField(_("date"))
    status = models.CharField(
        _("status"), max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    appointment = models.OneToOneField(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="waitlist_entry"
    )
    offered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person_key", "department", "date"],
                condition=models.Q(status__in=OPEN_WAITLIST_STATUSES),
                name="waitlist_one_open_per_person_department_day",
            )
        ]
        indexes = [models.Index(fields=["department", "date", "status"])]

    def __str__(self) -> str:
        return f"{self.person_key} {self.department_id} {self.date} {self.status}"
