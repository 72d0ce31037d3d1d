"""API authentication: bearer tokens for apps and scripts, the session (with CSRF) for pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from smartclinic.core.actor import Actor, actor_from_request
from smartclinic.core.errors import PermissionDenied, Unauthenticated
from smartclinic.identity.models import User
from smartclinic.identity.services import token_authenticate


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(raw=token)
        if user is not None:
            request.user = user
        return user


api_auth = [BearerTokenAuth(), SessionAuth()]


def request_user(request: HttpRequest) -> User:
    """The authenticated user of an API request (set by the auth classes above)."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise Unauthenticated()
    return user


def request_actor(request: HttpRequest) -> Actor:
    return actor_from_request(request, user=request_user(request))


def require_perm(user: User, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied()
