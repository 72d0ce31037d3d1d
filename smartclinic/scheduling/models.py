from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from smartclinic.core.models import BaseModel
from smartclinic.scheduling.choices import DoctorTitle, ExceptionKind, Period, SessionStatus, Weekday


class Department(BaseModel):
    code = models.CharField(
        _("code"), max_length=10, unique=True, help_text=_("Also the queue-number prefix, e.g. NK.")
    )
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    description = models.TextField(_("description"), blank=True)
    location = models.CharField(_("location"), max_length=100, blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=100, blank=True)
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    # Release rules (放号): slots open N days ahead at a set time; booking stops before the session.
    release_days_ahead = models.PositiveSmallIntegerField(_("slots open this many days ahead"), default=7)
    release_time = models.TimeField(_("release time"), default=dt.time(8, 0))
    booking_stop_minutes = models.PositiveIntegerField(_("booking stops this many minutes before the slot"), default=30)
    cancel_cutoff_minutes = models.PositiveIntegerField(
        _("cancellation allowed until this many minutes before the slot"), default=120
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


_TITLE_LABELS = dict(DoctorTitle.choices)


def title_label_of(title: str) -> str:
    """A doctor's title as shown, in the active language (``get_title_display()`` without
    building the choices table on every call: it runs for each slot of a list)."""
    return str(_TITLE_LABELS.get(title, title))


class Doctor(BaseModel):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="doctor")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=20, choices=DoctorTitle.choices)
    departments = models.ManyToManyField(Department, related_name="doctors", verbose_name=_("departments"))
    specialties = models.JSONField(
        _("specialties"), default=list, blank=True, help_text=_('Tags, e.g. ["胃炎", "感冒"].')
    )
    biography = models.TextField(_("biography"), blank=True)
    photo_url = models.CharField(_("photo URL"), max_length=200, blank=True)
    room = models.CharField(_("consulting room"), max_length=30, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Running totals of patients' overall ratings (feedback keeps them with F() updates).
    rating_count = models.PositiveIntegerField(_("ratings"), default=0, editable=False)
    rating_total = models.PositiveIntegerField(_("sum of ratings"), default=0, editable=False)

    class Meta:
        verbose_name = _("doctor")
        verbose_name_plural = _("doctors")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.title_label})"

    @property
    def title_label(self) -> str:
        return title_label_of(self.title)

    @property
    def rating(self) -> float | None:
        """The mean overall rating, shown once there are ratings."""
        return round(self.rating_total / self.rating_count, 1) if self.rating_count else None


class ScheduleTemplate(BaseModel):
    """A doctor's weekly consulting period; generates sessions for the booking horizon."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="templates")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="templates")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    period = models.CharField(_("period"), max_length=10, choices=Period.choices)
    start_time = models.TimeField(_("start"))
    end_time = models.TimeField(_("end"))
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=15)
    patients_per_slot = models.PositiveSmallIntegerField(_("patients per slot"), default=2)
    walkin_percent = models.PositiveSmallIntegerField(_("share kept for walk-ins (%)"), default=20)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("weekly template")
        verbose_name_plural = _("weekly templates")
        ordering = ["doctor", "weekday", "start_time"]
        constraints = [
            models.UniqueConstraint(fields=["doctor", "weekday", "period"], name="template_one_per_doctor_period"),
            models.CheckConstraint(
                condition=models.Q(start_time__lt=models.F("end_time")), name="template_starts_before_end"
            ),
            models.CheckConstraint(condition=models.Q(walkin_percent__lte=100), name="template_walkin_share_le_100"),
            models.CheckConstraint(condition=models.Q(slot_minutes__gte=5), name="template_slot_at_least_5_min"),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} {self.get_weekday_display()} {self.get_period_display()}"


class ScheduleException(BaseModel):
    """A day without sessions: a clinic holiday (no doctor) or one doctor's leave."""

    date = models.DateField(_("date"))
    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, null=True, blank=True, related_name="exceptions")
    kind = models.CharField(_("kind"), max_length=10, choices=ExceptionKind.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("schedule exception")
        verbose_name_plural = _("schedule exceptions")
        ordering = ["date"]

    def __str__(self) -> str:
        who = self.doctor.name if self.doctor else _("whole clinic")
        return f"{self.date} {who} {self.get_kind_display()}"


class ClinicSession(BaseModel):
    """One consulting period of one doctor on one day (出诊)."""

    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="sessions")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="sessions")
    template = models.ForeignKey(
        ScheduleTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions"
    )
    date = models.DateField(_("date"), db_index=True)
    period = models.CharField(_("period"), max_length=10, choices=Period.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    room = models.CharField(_("room"), max_length=30, blank=True)
    fee = models.PositiveIntegerField(_("registration fee (fen)"))
    walkin_capacity = models.PositiveIntegerField(_("walk-in places"), default=0)
    walkin_used = models.PositiveIntegerField(_("walk-in places used"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=SessionStatus.choices, default=SessionStatus.OPEN)
    suspend_reason = models.CharField(_("suspension reason"), max_length=200, blank=True)
    opens_at = models.DateTimeField(_("booking opens at"), db_index=True)
    no_shows_processed = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["date", "starts_at"]
        permissions = [("suspend_session", _("Can suspend a session (停诊)"))]
        constraints = [
            models.UniqueConstraint(fields=["doctor", "date", "period"], name="session_one_per_doctor_period"),
            models.CheckConstraint(
                condition=models.Q(walkin_used__lte=models.F("walkin_capacity")), name="session_walkins_within_capacity"
            ),
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")), name="session_starts_before_end"
            ),
        ]
        indexes = [models.Index(fields=["department", "date"])]

    def __str__(self) -> str:
        return f"{self.date} {self.get_period_display()} {self.doctor.name}"


class Slot(BaseModel):
    """A time slice of a session (号源) with its own capacity; ``booked`` only moves through
    conditional updates (never past capacity, never on a suspended session's slot), and the
    database refuses a count above capacity."""

    session = models.ForeignKey(ClinicSession, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("capacity"))
    booked = models.PositiveIntegerField(_("booked"), default=0)
    # Set with the session's suspension, in its transaction: the conditional update that takes
    # a place checks it on the row it locks, so a booking that read the session as open just
    # before the suspension still cannot take a place after it (the session's status alone is
    # read before the booking's transaction).
    suspended = models.BooleanField(
        pgettext_lazy("session status", "suspended"), default=False, db_default=False, editable=False
    )

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(booked__lte=models.F("capacity")), name="slot_never_overbooked"),
            models.UniqueConstraint(fields=["session", "starts_at"], name="slot_unique_start_in_session"),
        ]

    def __str__(self) -> str:
        return f"{self.session} {timezone.localtime(self.starts_at):%H:%M}"

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)
