from __future__ import annotations

from smartclinic.core.periodic import every
from smartclinic.interop.services import SendReport, his_exports_send_due


@every(30, name="interop.his_export")
def send_his_exports() -> SendReport:
    """Send the due HIS exports (nothing while HIS_EXPORT_URL is unset: they wait, pending).
    Safe in several workers at once: each export is claimed by a conditional UPDATE."""
    return his_exports_send_due()
