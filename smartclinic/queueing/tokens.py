"""The three secrets of the queue, none of them stored in clear:

- the patient's ticket code (a QR on their phone): the ticket's public id signed with a
  timestamp; a nurse scans it to check the patient in. It carries no name.
- the clinic's check-in code (a QR at the entrance, rotating): a short-lived signed nonce; a
  patient who scans it proves they are at the clinic and may check themselves in.
- a waiting-room screen's token (in the screen's URL): random; only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from uuid import UUID

from django.conf import settings
from django.core import signing

_TICKET_SALT = "smartclinic.queueing.ticket"
_CLINIC_SALT = "smartclinic.queueing.clinic-check-in"
# A signed ticket code as it appears inside a scanned URL or typed by a barcode reader.
_TICKET_CODE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9A-Za-z]+:[\w-]+")


def ticket_code_sign(*, ticket_public_id: UUID) -> str:
    return signing.TimestampSigner(salt=_TICKET_SALT).sign(str(ticket_public_id))


def ticket_code_unsign(*, code: str) -> UUID | None:
    """The ticket a scanned code stands for, or None if it is forged, mangled or too old."""
    match = _TICKET_CODE.search(code.strip())
    if match is None:
        return None
    try:
        value = signing.TimestampSigner(salt=_TICKET_SALT).unsign(
            match.group(0), max_age=settings.QUEUE_TICKET_CODE_MAX_AGE
        )
        return UUID(value)
    except (signing.BadSignature, ValueError):
        return None


def looks_like_ticket_code(text: str) -> bool:
    return _TICKET_CODE.search(text.strip()) is not None


def clinic_code_issue() -> str:
    return signing.TimestampSigner(salt=_CLINIC_SALT).sign(secrets.token_urlsafe(6))


def clinic_code_valid(*, code: str) -> bool:
    try:
        signing.TimestampSigner(salt=_CLINIC_SALT).unsign(code.strip(), max_age=settings.QUEUE_CLINIC_CODE_MAX_AGE)
    except signing.BadSignature:
        return False
    return True


def screen_token_new() -> str:
    return secrets.token_urlsafe(24)


def screen_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
