"""The HIS adapter: POST one FHIR transaction bundle to the HIS's FHIR base URL.

Every call carries the export id as ``Idempotency-Key`` and ``X-Request-ID`` (the bundle carries
it as ``Bundle.identifier``, and each entry is a conditional create), so a bundle that is posted
again after a lost answer or a crashed worker creates nothing new at the HIS.

The answer is sorted into three outcomes: accepted (2xx); rejected (the HIS refuses this bundle
for what it contains: 400, 412, 413, 422; sending it again cannot help, a person must look);
and unavailable (everything else: no connection, timeouts, 5xx, 429, and also 401/403/404/3xx,
which are configuration problems: once fixed, the pending exports go out by themselves).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import requests

from smartclinic.interop.fhir import FHIR_VERSION, MEDIA_TYPE

REJECTED_STATUSES = frozenset({400, 412, 413, 422})
EXCERPT_CHARS = 2000


@dataclass(frozen=True)
class HisResponse:
    status: int
    body: str


class HisError(Exception):
    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class HisUnavailable(HisError):
    """Try again later (with backoff)."""


class HisRejected(HisError):
    """The HIS refused the bundle itself."""


class HisClient(Protocol):
    def post_bundle(self, *, body: bytes, export_id: str) -> HisResponse: ...


class HttpHisClient:
    def __init__(self, *, base_url: str, token: str = "", timeout: float = 10) -> None:
        self.base_url = base_url
        self.token = token
        self.timeout = timeout

    def headers(self, *, export_id: str) -> dict[str, str]:
        headers = {
            "Content-Type": f"{MEDIA_TYPE}; fhirVersion={FHIR_VERSION}",
            "Accept": MEDIA_TYPE,
            "Idempotency-Key": export_id,
            "X-Request-ID": export_id,
            "User-Agent": "SmartClinic-HIS-export/1",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def post_bundle(self, *, body: bytes, export_id: str) -> HisResponse:
        try:
            response = requests.post(
                self.base_url,
                data=body,
                headers=self.headers(export_id=export_id),
                timeout=(self.timeout, self.timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise HisUnavailable(f"{type(exc).__name__}: {exc}") from exc
        text = response.text[:EXCERPT_CHARS]
        if 200 <= response.status_code < 300:
            return HisResponse(status=response.status_code, body=text)
        message = f"HIS answered {response.status_code}"
        if response.status_code in REJECTED_STATUSES:
            raise HisRejected(message, status=response.status_code, body=text)
        raise HisUnavailable(message, status=response.status_code, body=text)
