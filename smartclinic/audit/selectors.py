from __future__ import annotations

from django.db.models import QuerySet

from smartclinic.audit.models import AuditEntry


def audit_entry_list_for_subject(*, subject_type: str, subject_id: str) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(subject_type=subject_type, subject_id=subject_id)
