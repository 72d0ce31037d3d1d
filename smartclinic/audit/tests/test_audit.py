from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from smartclinic.audit.models import AppendOnlyError, AuditEntry
from smartclinic.audit.services import audit_record
from smartclinic.core.actor import Actor

pytestmark = pytest.mark.django_db


def make_entry(user=None) -> AuditEntry:
    actor = Actor(user=user, request_id="req-1", client_ip="10.0.0.8")
    with transaction.atomic():
        return audit_record(
            actor=actor, action="test.done", subject_type="t", subject_id="1", old={"a": 1}, new={"a": 2}
        )


def test_audit_record_stores_actor_request_and_values(make_user):
    user = make_user(username="nurse_wang")
    entry = make_entry(user)
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert (entry.actor_id, entry.actor_label) == (user.pk, "nurse_wang")
    assert (entry.request_id, entry.client_ip) == ("req-1", "10.0.0.8")
    assert (entry.old_values, entry.new_values) == ({"a": 1}, {"a": 2})
    assert entry.occurred_at is not None


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_the_changes_transaction():
    with pytest.raises(RuntimeError):
        audit_record(actor=Actor.system(), action="x", subject_type="t", subject_id="1")


def test_no_code_path_edits_or_deletes_entries():
    entry = make_entry()
    entry.action = "forged"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.done"


def test_the_database_refuses_raw_updates():
    entry = make_entry()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = 'forged' WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.done"


@pytest.mark.postgres
def test_postgres_refuses_raw_deletes():
    entry = make_entry()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
