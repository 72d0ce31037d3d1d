from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from smartclinic.core.models import BaseModel
from smartclinic.interop.choices import ExportStatus, SourceKind


class HisExport(BaseModel):
    """One hand-off to the hospital information system (HIS): a FHIR R4 transaction bundle built
    once from the source record and kept byte for byte as it is sent (and re-sent).

    ``public_id`` is the export id: it is the bundle's ``Bundle.identifier`` and the
    ``Idempotency-Key`` / ``X-Request-ID`` of every POST, so the HIS can tell a re-send.
    The row is created by an outbox handler (exactly once per source record: the handler's
    delivery record and the unique constraint below) and sent by the ``interop.his_export``
    periodic job, which claims it with a conditional UPDATE (a lease) and retries with backoff.
    """

    source_kind = models.CharField(_("source"), max_length=20, choices=SourceKind.choices)
    source_id = models.UUIDField(_("source record id"))
    source_payload = models.JSONField(
        _("event payload"), default=dict, help_text=_("Ids and codes of the event that asked for the export.")
    )
    bundle_json = models.TextField(_("FHIR bundle (JSON, as sent)"))
    status = models.CharField(_("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    locked_until = models.DateTimeField(_("being sent until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("HIS response status"), null=True, blank=True)
    response_body = models.TextField(_("HIS response (excerpt)"), blank=True)

    class Meta:
        verbose_name = _("HIS export")
        verbose_name_plural = _("HIS exports")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("read_fhir", _("Can read patient records through the FHIR API")),
            ("resend_hisexport", _("Can resend an HIS export")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source_kind", "source_id"], name="his_export_once_per_source"),
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False), name="his_export_sent_has_time"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="his_export_pending_due", condition=models.Q(status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_kind_display()} {self.source_id} ({self.status})"

    @property
    def bundle(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.bundle_json)
        return data
