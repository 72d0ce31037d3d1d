"""The one NinjaAPI: versioned at /api/v1/, OpenAPI at /api/openapi.json, docs at /api/docs.

Every error leaves here as ``{"code": "<app>.<name>", "message": "<localized>", "extra": {}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from smartclinic.billing.api import router as billing_router
from smartclinic.booking.api import router as booking_router
from smartclinic.core.errors import ApplicationError, retry_later_for
from smartclinic.core.renderers import FastJSONRenderer
from smartclinic.feedback.api import router as feedback_router
from smartclinic.identity.api import router as identity_router
from smartclinic.identity.auth import api_auth
from smartclinic.interop.api import router as interop_router
from smartclinic.notifications.api import router as notifications_router
from smartclinic.queueing.api import router as queueing_router
from smartclinic.visits.api import router as visits_router

logger = logging.getLogger("smartclinic.api")

api = NinjaAPI(
    title="SmartClinic API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=api_auth,
    renderer=FastJSONRenderer(),
)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, extra: dict[str, Any] | None = None
) -> HttpResponse:
    response = api.create_response(request, {"code": code, "message": message, "extra": extra or {}}, status=status)
    return response


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    response = api.create_response(request, exc.render(), status=exc.status)
    retry_after = exc.extra.get("retry_after")
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "type": error.get("type", ""),
            "msg": error.get("msg", ""),
        }
        for error in exc.errors
    ]
    return error_response(
        request, 422, "core.invalid_input", _("Some fields are missing or invalid."), {"errors": errors}
    )


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "auth.unauthenticated", _("Sign in first."))


@api.exception_handler(Throttled)
def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    response = error_response(request, 429, "core.rate_limited", _("Too many requests; try again shortly."))
    if exc.wait:
        response["Retry-After"] = str(int(exc.wait) + 1)
    return response


_HTTP_ERROR_CODES = {
    400: ("core.bad_request", gettext_noop("The request could not be understood.")),
    403: ("core.permission_denied", gettext_noop("You are not allowed to do this.")),
    404: ("core.not_found", gettext_noop("Not found.")),
    405: ("core.method_not_allowed", gettext_noop("This method is not allowed here.")),
}


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code, message = _HTTP_ERROR_CODES.get(exc.status_code, _HTTP_ERROR_CODES[400])
    return error_response(request, exc.status_code, code, _(message), {"detail": str(exc)})


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "core.not_found", _("Not found."))


@api.exception_handler(Exception)
def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    retry = retry_later_for(exc)
    if retry is not None:  # a deadlock or serialization failure: rolled back whole, retryable
        logger.warning("transient database conflict", extra={"request_id": getattr(request, "request_id", "")})
        return application_error(request, retry)
    logger.exception("unhandled API error", extra={"request_id": getattr(request, "request_id", "")})
    return error_response(
        request,
        500,
        "core.internal_error",
        _("Something went wrong on our side. Nothing was changed; try again."),
        {"request_id": getattr(request, "request_id", "")},
    )


api.add_router("/v1/", identity_router)
api.add_router("/v1/", booking_router)
api.add_router("/v1/", billing_router)
api.add_router("/v1/", queueing_router)
api.add_router("/v1/", visits_router)
api.add_router("/v1/", feedback_router)
api.add_router("/v1/", interop_router)
api.add_router("/v1/", notifications_router)
