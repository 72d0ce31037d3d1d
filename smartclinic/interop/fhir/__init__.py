"""FHIR R4 resources and transaction bundles for the HIS, built from plain facts.

Pure functions: no database, no clock, no I/O (times come in as aware datetimes and leave in
the configured time zone). Resources are ``fhir.resources`` models of the ``R4B`` line, which is
wire-compatible with R4 (4.0.1) for every element used here (the R4B changes are confined to
resources we do not emit); we send ``fhirVersion=4.0`` in the media type. See ADR 0004.

Idempotency at the HIS: every resource carries a business identifier in one of our ``urn:``
systems, and its bundle entry is a conditional create (``ifNoneExist=identifier=<system>|<value>``)
so a bundle that arrives twice creates nothing the second time. ``fullUrl``s are ``urn:uuid``s
derived from the export id, so the same export always yields the same bytes.
"""

from smartclinic.interop.fhir.bundles import encounter_read_resource, payment_bundle, to_json, visit_bundle
from smartclinic.interop.fhir.resources import (
    FHIR_VERSION,
    MEDIA_TYPE,
    DiagnosisSystems,
    fen_to_cny,
    patient_resource,
)

__all__ = [
    "FHIR_VERSION",
    "MEDIA_TYPE",
    "DiagnosisSystems",
    "encounter_read_resource",
    "fen_to_cny",
    "patient_resource",
    "payment_bundle",
    "to_json",
    "visit_bundle",
]
