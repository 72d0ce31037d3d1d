from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from smartclinic.core.crypto import EncryptedTextField
from smartclinic.core.models import BaseModel
from smartclinic.identity.choices import Gender, MemberKind, MemberStatus, Relation


class User(AbstractUser):
    """A sign-in account. Who the person is on campus lives in ``Member`` (bound by card)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.username


class Member(BaseModel):
    """One person of the campus roster (the student and staff databases), kept as a local copy so
    binding and booking keep working when the campus source is down."""

    number = models.CharField(_("member number"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=MemberKind.choices)
    name = models.CharField(_("name"), max_length=100)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    college = models.CharField(_("college"), max_length=100, blank=True)
    major = models.CharField(_("major"), max_length=100, blank=True)
    class_name = models.CharField(_("class"), max_length=100, blank=True)
    enrolment_year = models.PositiveSmallIntegerField(_("enrolment year"), null=True, blank=True)
    dormitory_building = models.CharField(_("dormitory building"), max_length=50, blank=True)
    dormitory_room = models.CharField(_("dormitory room"), max_length=20, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    national_id = EncryptedTextField(_("national ID number"), blank=True)
    national_id_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    card_number = models.CharField(_("card number"), max_length=32, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=MemberStatus.choices, default=MemberStatus.ACTIVE)
    account = models.OneToOneField(
        User,
        verbose_name=_("bound account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="member",
    )
    bound_at = models.DateTimeField(_("bound at"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)

    class Meta:
        verbose_name = _("campus member")
        verbose_name_plural = _("campus members")
        ordering = ["number"]
        permissions = [
            ("unbind_card", _("Can unbind a member's card from its account")),
            ("import_roster", _("Can import the campus roster")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(account__isnull=True) | models.Q(bound_at__isnull=False),
                name="member_bound_has_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def is_active_member(self) -> bool:
        return self.status == MemberStatus.ACTIVE


class Dependant(BaseModel):
    """A family member a staff member books for."""

    owner = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="dependants")
    name = models.CharField(_("name"), max_length=100)
    relation = models.CharField(_("relation"), max_length=10, choices=Relation.choices)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    national_id = EncryptedTextField(_("national ID number"), blank=True)
    national_id_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("dependant")
        verbose_name_plural = _("dependants")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "national_id_hash"],
                condition=models.Q(active=True) & ~models.Q(national_id_hash=""),
                name="dependant_unique_person_per_owner",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the raw token is shown once at sign-in."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"token {self.public_id} of {self.user_id}"


class BindingAttempt(models.Model):
    """Each failed card-binding attempt, to lock an account out after too many in an hour."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="binding_attempts")
    attempted_at = models.DateTimeField(db_index=True)
    member_number = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("failed binding attempt")
        verbose_name_plural = _("failed binding attempts")
        indexes = [models.Index(fields=["user", "attempted_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.attempted_at:%Y-%m-%d %H:%M}"
