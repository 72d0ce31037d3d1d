from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from smartclinic.booking.models import Appointment
from smartclinic.core.models import BaseModel
from smartclinic.identity.models import Dependant, Member
from smartclinic.queueing.choices import Priority, TicketStatus
from smartclinic.scheduling.models import ClinicSession, Department, Doctor


class QueueCounter(models.Model):
    """The last number handed out in a session; only ever incremented with ``F()``."""

    session = models.OneToOneField(ClinicSession, on_delete=models.CASCADE, related_name="queue_counter")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.session_id}: {self.last_number}"


class Ticket(BaseModel):
    """A queue number (排号): issued when the appointment is paid, unique within its session and
    never reused."""

    session = models.ForeignKey(ClinicSession, on_delete=models.PROTECT, related_name="tickets")
    doctor = models.ForeignKey(
        Doctor, on_delete=models.PROTECT, related_name="tickets", help_text=_("changes on transfer")
    )
    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="ticket")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="tickets")
    dependant = models.ForeignKey(Dependant, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    number = models.PositiveIntegerField(_("number"))
    code = models.CharField(_("queue number"), max_length=20)
    status = models.CharField(_("status"), max_length=10, choices=TicketStatus.choices, default=TicketStatus.WAITING)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    priority_reason = models.CharField(_("priority reason"), max_length=200, blank=True)
    # Position in the calling order among checked-in tickets (smaller is sooner); see ordering.py.
    rank = models.FloatField(_("queue position"), null=True, blank=True)
    late = models.BooleanField(_("arrived late"), default=False)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    call_count = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(_("visit started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True)
    near_notified = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("queue ticket")
        verbose_name_plural = _("queue tickets")
        ordering = ["session", "number"]
        constraints = [
            models.UniqueConstraint(fields=["session", "number"], name="ticket_number_unique_in_session"),
        ]
        indexes = [models.Index(fields=["doctor", "status"]), models.Index(fields=["session", "status", "rank"])]
        permissions = [
            ("check_in_ticket", _("Can check patients in")),
            ("call_ticket", _("Can call, recall and skip the patients of their own queue")),
            ("transfer_ticket", _("Can transfer a patient to another doctor's queue")),
            ("prioritize_ticket", _("Can give a patient priority in the queue")),
            ("register_walk_in", _("Can register walk-in patients")),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def patient_name(self) -> str:
        return self.dependant.name if self.dependant_id and self.dependant else self.member.name


class QueueEvent(models.Model):
    """What the screens and stations are told, in order. Streams replay from the last id a client
    saw (SSE ``Last-Event-ID``), so a reconnect never misses a call."""

    session = models.ForeignKey(ClinicSession, on_delete=models.CASCADE, related_name="queue_events")
    # Where the ticket is being seen when the event happens (after a transfer: the new doctor's
    # department), so a screen or a station reads only its own events.
    department_id = models.BigIntegerField(db_index=True)
    doctor_id = models.BigIntegerField(null=True, db_index=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.pk} {self.kind} {self.ticket_id}"


class Vitals(BaseModel):
    """Measured by the nurse at triage; the doctor's visit record shows the latest."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="vitals")
    temperature_c = models.DecimalField(_("temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True)
    systolic_mmhg = models.PositiveSmallIntegerField(_("systolic blood pressure (mmHg)"), null=True, blank=True)
    diastolic_mmhg = models.PositiveSmallIntegerField(_("diastolic blood pressure (mmHg)"), null=True, blank=True)
    pulse_bpm = models.PositiveSmallIntegerField(_("pulse (/min)"), null=True, blank=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True)
    measured_by = models.ForeignKey("identity.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("vital signs")
        verbose_name_plural = _("vital signs")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(temperature_c__isnull=True) | models.Q(temperature_c__gte=30, temperature_c__lte=45),
                name="vitals_temperature_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(systolic_mmhg__isnull=True)
                | models.Q(systolic_mmhg__gte=50, systolic_mmhg__lte=300),
                name="vitals_systolic_plausible",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.created_at:%H:%M}"


class Screen(BaseModel):
    """A waiting-room display. It signs in with nothing but the secret token in its URL; only a
    hash of the token is stored, so a leaked database shows no usable screen address."""

    name = models.CharField(_("name"), max_length=100)
    departments = models.ManyToManyField(Department, related_name="screens", verbose_name=_("departments shown"))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(_("token ends with"), max_length=8, editable=False)
    active = models.BooleanField(_("active"), default=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)

    class Meta:
        verbose_name = _("waiting-room screen")
        verbose_name_plural = _("waiting-room screens")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
