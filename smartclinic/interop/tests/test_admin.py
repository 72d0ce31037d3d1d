"""The admin: every export with its status; resend (and rebuild) through the service, audited;
opening an export shows its bundle, and that read is audited."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from smartclinic.audit.models import AuditEntry
from smartclinic.interop.choices import ExportStatus, SourceKind
from smartclinic.interop.models import HisExport
from smartclinic.interop.services import his_export_record, his_exports_send_due
from smartclinic.interop.tests.conftest import order_paid_payload

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/interop/hisexport/"


@pytest.fixture
def export(make_paid_order, system_actor):
    order = make_paid_order(amount=2000)
    return his_export_record(actor=system_actor, kind=SourceKind.PAID_ORDER, payload=order_paid_payload(order))


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_admin_lists_exports_with_their_status(make_user, export):
    response = signed_in(make_user("admin", is_staff=True)).get(CHANGELIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert str(export.public_id) in page
    assert "resend" in page


def test_admin_resend_puts_a_failed_export_back_in_line_and_it_goes_out(his, make_user, export):
    his.fail_next(1, status=422)
    his_exports_send_due()
    assert HisExport.objects.get(pk=export.pk).status == ExportStatus.FAILED
    admin = make_user("admin", is_staff=True)

    response = signed_in(admin).post(CHANGELIST, {"action": "resend", "_selected_action": [export.pk]})

    assert response.status_code == 302
    resent = HisExport.objects.get(pk=export.pk)
    assert resent.status == ExportStatus.PENDING
    assert resent.bundle_json == export.bundle_json
    entry = AuditEntry.objects.get(action="interop.his_export_resent")
    assert (entry.actor_id, entry.subject_id) == (admin.pk, str(export.public_id))
    assert entry.old_values == {"status": "failed"}
    assert his_exports_send_due().sent == 1
    assert HisExport.objects.get(pk=export.pk).status == ExportStatus.SENT
    assert his.count("Invoice") == 1


def test_rebuild_and_resend_rebuilds_under_the_same_export_id(make_user, export, settings):
    settings.HIS_ORGANIZATION_NAME = "某大学校医院"
    admin = make_user("admin", is_staff=True)

    signed_in(admin).post(CHANGELIST, {"action": "rebuild_and_resend", "_selected_action": [export.pk]})

    rebuilt = HisExport.objects.get(pk=export.pk)
    assert rebuilt.bundle_json != export.bundle_json
    bundle = json.loads(rebuilt.bundle_json)
    assert bundle["identifier"]["value"] == str(export.public_id)
    assert [e["fullUrl"] for e in bundle["entry"]] == [e["fullUrl"] for e in export.bundle["entry"]]
    assert "某大学校医院" in rebuilt.bundle_json
    assert AuditEntry.objects.get(action="interop.his_export_resent").new_values == {
        "status": "pending",
        "rebuilt": True,
    }


def test_a_manager_sees_exports_but_cannot_resend(make_user, export):
    manager = make_user("manager", is_staff=True)
    client = signed_in(manager)
    assert client.get(CHANGELIST).status_code == 200

    client.post(CHANGELIST, {"action": "resend", "_selected_action": [export.pk]})

    assert not AuditEntry.objects.filter(action="interop.his_export_resent").exists()
    unchanged = HisExport.objects.get(pk=export.pk)
    assert (unchanged.status, unchanged.next_attempt_at) == (export.status, export.next_attempt_at)


@pytest.mark.parametrize("role", ["nurse", "doctor", "cashier"])
def test_other_staff_do_not_see_exports(make_user, export, role):
    response = signed_in(make_user(role, is_staff=True)).get(CHANGELIST)
    assert response.status_code == 403


def test_opening_an_export_shows_the_bundle_and_audits_the_read(make_user, export):
    admin = make_user("admin", is_staff=True)

    response = signed_in(admin).get(f"{CHANGELIST}{export.pk}/change/")

    assert response.status_code == 200
    assert "urn:smartclinic:his-export" in response.content.decode()
    entry = AuditEntry.objects.get(action="interop.record_read")
    assert (entry.actor_id, entry.subject_type, entry.subject_id) == (
        admin.pk,
        "interop.hisexport",
        str(export.public_id),
    )
