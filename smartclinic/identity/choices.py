from django.db import models
from django.utils.translation import gettext_lazy as _


class MemberKind(models.TextChoices):
    STUDENT = "student", _("student")
    STAFF = "staff", _("staff")


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    GRADUATED = "graduated", _("graduated")
    LEFT = "left", _("left")
    SUSPENDED = "suspended", _("suspended")


class Gender(models.TextChoices):
    MALE = "male", _("male")
    FEMALE = "female", _("female")
    OTHER = "other", _("other")


class Relation(models.TextChoices):
    SPOUSE = "spouse", _("spouse")
    CHILD = "child", _("child")
    PARENT = "parent", _("parent")
    OTHER = "other", _("other")


class Role(models.TextChoices):
    """Roles are Django groups of these names; permissions hang on the groups."""

    PATIENT = "patient", _("patient")
    NURSE = "nurse", _("nurse")
    DOCTOR = "doctor", _("doctor")
    CASHIER = "cashier", _("cashier")
    MANAGER = "manager", _("manager")
    ADMIN = "admin", _("administrator")


STAFF_ROLES = frozenset({Role.NURSE, Role.DOCTOR, Role.CASHIER, Role.MANAGER, Role.ADMIN})
