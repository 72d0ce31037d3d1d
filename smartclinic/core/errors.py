"""Application errors: a stable machine-readable code, a localized message and an HTTP status.

Services raise subclasses; the API renders them as ``{"code", "message", "extra"}`` and pages show
the message. Messages are lazy so they are translated in the language of the request that shows them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    code: ClassVar[str] = "core.error"
    status: ClassVar[int] = 400
    message: ClassVar[str | Promise] = _("The request could not be completed.")

    def __init__(self, message: str | Promise | None = None, **extra: Any) -> None:
        self.detail: str | Promise = message if message is not None else self.message
        self.extra: dict[str, Any] = extra
        super().__init__(str(self.code))

    def render(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self.detail), "extra": self.extra}


class NotFound(ApplicationError):
    code = "core.not_found"
    status = 404
    message = _("Not found.")


class PermissionDenied(ApplicationError):
    code = "core.permission_denied"
    status = 403
    message = _("You are not allowed to do this.")


class Unauthenticated(ApplicationError):
    code = "auth.unauthenticated"
    status = 401
    message = _("Sign in first.")


class InvalidInput(ApplicationError):
    code = "core.invalid_input"
    status = 422
    message = _("Some fields are missing or invalid.")


class Conflict(ApplicationError):
    code = "core.conflict"
    status = 409
    message = _("The request conflicts with the current state.")


class RetryLater(ApplicationError):
    code = "core.retry_later"
    status = 503
    message = _("Another change to the same records happened at the same moment. Nothing was changed; try again.")


# serialization_failure, deadlock_detected, lock_not_available: the database gave up on this
# transaction (rolled back whole) to let a concurrent one through: the remedy is to send it again.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def retry_later_for(error: BaseException) -> RetryLater | None:
    """A database error that the same request, sent again, gets past: as a 503 with
    ``Retry-After: 1``. ``None`` for any other error (Django wraps the driver's in its own)."""
    cause = error.__cause__ if error.__cause__ is not None else error
    if getattr(cause, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return RetryLater(retry_after=1)
    return None


class RateLimited(ApplicationError):
    code = "core.rate_limited"
    status = 429
    message = _("Too many requests; try again shortly.")
