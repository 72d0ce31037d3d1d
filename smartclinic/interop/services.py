"""Writes of the HIS hand-off: record an export (from an outbox handler), send the due ones (from
the periodic job), resend (from the admin), and the audit entry of a FHIR read.

Why the handler records and a job sends (ADR 0004): a handler runs inside the transaction that
commits its delivery record; holding that transaction open across an HTTP call to a slow or
dead HIS would hold database locks (on SQLite, the only write lock) for the whole timeout, and
an HIS outage would burn the outbox's attempts and end in dead letters. Here the export row is
committed once and for all, and sending is a separate, lock-free step: claim with a conditional
UPDATE (a lease), POST with no transaction open, record the outcome with another UPDATE.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from smartclinic.audit.services import audit_record
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.interop.choices import ExportStatus, SourceKind
from smartclinic.interop.client import HisClient, HisRejected, HisUnavailable, HttpHisClient
from smartclinic.interop.fhir import payment_bundle, to_json, visit_bundle
from smartclinic.interop.models import HisExport
from smartclinic.interop.sources import (
    diagnosis_systems,
    optional_uuid,
    organization_facts,
    payment_facts,
    visit_facts,
)

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600
LOUD_AFTER_ATTEMPTS = 10


# --- building and recording --------------------------------------------------------------------


def source_id_of(*, kind: str, payload: dict[str, Any]) -> uuid.UUID:
    key = "order_id" if kind == SourceKind.PAID_ORDER else "encounter_id"
    return uuid.UUID(str(payload[key]))


def his_export_bundle_build(
    *, kind: str, payload: dict[str, Any], export_id: uuid.UUID, generated_at: dt.datetime
) -> str:
    """The bundle's JSON text for one source record, read from the other contexts' rows now."""
    organization = organization_facts()
    if kind == SourceKind.PAID_ORDER:
        bundle = payment_bundle(
            export_id=export_id, generated_at=generated_at, payment=payment_facts(payload), organization=organization
        )
    elif kind == SourceKind.VISIT:
        visit = visit_facts(
            encounter_id=uuid.UUID(str(payload["encounter_id"])),
            ticket_id=optional_uuid(payload.get("ticket_id")),
            doctor_id=optional_uuid(payload.get("doctor_id")),
        )
        assert visit is not None  # require_encounter raises instead
        bundle = visit_bundle(
            export_id=export_id,
            generated_at=generated_at,
            visit=visit,
            organization=organization,
            systems=diagnosis_systems(),
        )
    else:
        raise ValueError(f"unknown export source {kind!r}")
    return to_json(bundle)


@transaction.atomic
def his_export_record(*, actor: Actor, kind: SourceKind, payload: dict[str, Any]) -> HisExport:
    """Record the export of one source record, once: a second call (the same event delivered
    again, or published twice) returns the first row and changes nothing. Runs inside the outbox
    handler's transaction, so the row commits with the handler's delivery record."""
    source_id = source_id_of(kind=kind, payload=payload)
    existing = HisExport.objects.filter(source_kind=kind, source_id=source_id).first()
    if existing is not None:
        return existing
    now = clock.now()
    export_id = uuid.uuid4()
    bundle_json = his_export_bundle_build(kind=kind, payload=payload, export_id=export_id, generated_at=now)
    try:
        with transaction.atomic():
            export = HisExport.objects.create(
                public_id=export_id,
                source_kind=kind,
                source_id=source_id,
                source_payload=payload,
                bundle_json=bundle_json,
                next_attempt_at=now,
            )
    except IntegrityError:
        # A concurrent delivery of a twin event recorded it first: its row is ours.
        return HisExport.objects.get(source_kind=kind, source_id=source_id)
    audit_record(
        actor=actor,
        action="interop.his_export_recorded",
        subject=export,
        new={"source_kind": kind, "source_id": source_id},
    )
    return export


@transaction.atomic
def his_export_resend(*, actor: Actor, export: HisExport, rebuild: bool = False) -> HisExport:
    """Send an export again at the next run of the job (after the HIS lost it, or after the cause
    of a rejection was fixed). ``rebuild`` re-reads the source records into a new bundle under the
    same export id; otherwise the very same bytes go out again. The HIS dedupes either way."""
    now = clock.now()
    changes: dict[str, Any] = {"status": ExportStatus.PENDING, "next_attempt_at": now, "locked_until": None}
    if rebuild:
        changes["bundle_json"] = his_export_bundle_build(
            kind=export.source_kind, payload=export.source_payload, export_id=export.public_id, generated_at=now
        )
    old_status = HisExport.objects.filter(pk=export.pk).values_list("status", flat=True).get()
    HisExport.objects.filter(pk=export.pk).update(**changes)
    audit_record(
        actor=actor,
        action="interop.his_export_resent",
        subject=export,
        old={"status": old_status},
        new={"status": ExportStatus.PENDING, "rebuilt": rebuild},
    )
    export.refresh_from_db()
    return export


# --- sending -----------------------------------------------------------------------------------


@dataclass
class SendReport:
    configured: bool = True
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed


def his_client() -> HisClient | None:
    """The configured HIS, or None while ``HIS_EXPORT_URL`` is unset (exports wait, pending)."""
    if not settings.HIS_EXPORT_URL:
        return None
    return HttpHisClient(
        base_url=settings.HIS_EXPORT_URL, token=settings.HIS_EXPORT_TOKEN, timeout=settings.HIS_EXPORT_TIMEOUT
    )


def retry_delay(attempts: int) -> dt.timedelta:
    """BASE × 2^(attempts-1) with ±20 % jitter, capped at one hour: retried for as long as it takes."""
    base = settings.HIS_EXPORT_RETRY_BASE_SECONDS * (2 ** max(min(attempts, 20) - 1, 0))
    return dt.timedelta(seconds=min(base, MAX_BACKOFF_SECONDS) * random.uniform(0.8, 1.2))  # noqa: S311


def _lease_seconds() -> int:
    return 2 * settings.HIS_EXPORT_TIMEOUT + 60


def _claimable(now: dt.datetime) -> Q:
    return Q(status=ExportStatus.PENDING, next_attempt_at__lte=now) & (
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )


def his_export_claim(*, now: dt.datetime, skip: set[int]) -> HisExport | None:
    """Take the next due export with a conditional UPDATE: one worker wins it until its lease
    runs out (a worker that dies mid-send loses nothing; the next one re-sends, the HIS dedupes)."""
    candidates = (
        HisExport.objects.filter(_claimable(now))
        .exclude(pk__in=skip)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:10]
    )
    for pk in list(candidates):
        claimed = HisExport.objects.filter(_claimable(now), pk=pk).update(
            locked_until=now + dt.timedelta(seconds=_lease_seconds()), attempts=F("attempts") + 1
        )
        if claimed:
            return HisExport.objects.get(pk=pk)
    return None


def his_export_send(*, export: HisExport, client: HisClient) -> ExportStatus:
    """POST one claimed export (no transaction open) and record what the HIS said."""
    try:
        response = client.post_bundle(body=export.bundle_json.encode(), export_id=str(export.public_id))
    except HisRejected as exc:
        logger.error("HIS rejected export %s (%s %s): %s", export.public_id, export.source_kind, export.source_id, exc)
        HisExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED,
            locked_until=None,
            last_error=str(exc),
            response_status=exc.status,
            response_body=exc.body,
        )
        return ExportStatus.FAILED
    except HisUnavailable as exc:
        log = logger.error if export.attempts >= LOUD_AFTER_ATTEMPTS else logger.warning
        log("HIS unavailable for export %s, attempt %d: %s", export.public_id, export.attempts, exc)
        HisExport.objects.filter(pk=export.pk).update(
            next_attempt_at=clock.now() + retry_delay(export.attempts),
            locked_until=None,
            last_error=str(exc),
            response_status=exc.status,
            response_body=exc.body,
        )
        return ExportStatus.PENDING
    HisExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.SENT,
        sent_at=clock.now(),
        locked_until=None,
        last_error="",
        response_status=response.status,
        response_body=response.body,
    )
    return ExportStatus.SENT


def his_exports_send_due(*, client: HisClient | None = None, limit: int | None = None) -> SendReport:
    """Send what is due, oldest first. The first "unavailable" ends the round: the HIS is down,
    and the others wait for the next run instead of each waiting out the timeout."""
    client = client or his_client()
    if client is None:
        return SendReport(configured=False)
    report = SendReport()
    tried: set[int] = set()
    for _ in range(limit or settings.HIS_EXPORT_BATCH):
        export = his_export_claim(now=clock.now(), skip=tried)
        if export is None:
            break
        tried.add(export.pk)
        outcome = his_export_send(export=export, client=client)
        if outcome == ExportStatus.SENT:
            report.sent += 1
        elif outcome == ExportStatus.FAILED:
            report.failed += 1
        else:
            report.retrying += 1
            break
    return report


# --- reads -------------------------------------------------------------------------------------


@transaction.atomic
def fhir_record_read_audit(*, actor: Actor, resource_type: str, subject_type: str, subject_id: str) -> None:
    """Every read of a medical record by staff is written to the audit log."""
    audit_record(
        actor=actor,
        action="interop.record_read",
        subject_type=subject_type,
        subject_id=subject_id,
        new={"fhir_resource": resource_type},
    )
