"""Who may read records through the FHIR API: managers and administrators (``interop.read_fhir``).
A record that does not exist, or that interop cannot read, is NotFound."""

from __future__ import annotations

from uuid import UUID

from smartclinic.core.actor import Actor
from smartclinic.core.errors import PermissionDenied, Unauthenticated
from smartclinic.interop.errors import RecordNotFound
from smartclinic.interop.facts import PatientFacts, VisitFacts
from smartclinic.interop.models import HisExport
from smartclinic.interop.sources import SourceMissing, patient_facts_by_id, visit_facts

READ_PERMISSION = "interop.read_fhir"


def require_fhir_reader(*, actor: Actor) -> None:
    if actor.user is None:
        raise Unauthenticated()
    if not actor.user.has_perm(READ_PERMISSION):
        raise PermissionDenied()


def access_patient(*, actor: Actor, public_id: UUID) -> PatientFacts:
    require_fhir_reader(actor=actor)
    patient = patient_facts_by_id(public_id)
    if patient is None:
        raise RecordNotFound()
    return patient


def access_encounter(*, actor: Actor, public_id: UUID) -> VisitFacts:
    require_fhir_reader(actor=actor)
    try:
        visit = visit_facts(encounter_id=public_id, require_encounter=False)
    except SourceMissing as exc:
        raise RecordNotFound() from exc
    if visit is None:
        raise RecordNotFound()
    return visit


def access_export(*, actor: Actor, public_id: UUID) -> HisExport:
    require_fhir_reader(actor=actor)
    export = HisExport.objects.filter(public_id=public_id).first()
    if export is None:
        raise RecordNotFound()
    return export
