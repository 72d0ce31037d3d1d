"""API authentication: bearer tokens for apps and scripts, the session (with CSRF) for pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from smartclinic.identity.services import token_authenticate


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(raw=token)
        if user is not None:
            request.user = user
        return user


api_auth = [BearerTokenAuth(), SessionAuth()]
