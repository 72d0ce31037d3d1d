"""Who does a thing, and from where: the first argument of every service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpRequest

    from smartclinic.identity.models import User


@dataclass(frozen=True)
class Actor:
    user: User | None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    client_ip: str | None = None

    @classmethod
    def system(cls, *, reason: str = "system") -> Actor:
        return cls(user=None, request_id=f"{reason}:{uuid.uuid4().hex}")

    @classmethod
    def of(cls, user: User) -> Actor:
        """An actor outside a request (management commands, tests)."""
        return cls(user=user)

    @property
    def label(self) -> str:
        return self.user.get_username() if self.user is not None else "system"


def actor_from_request(request: HttpRequest, user: User | None = None) -> Actor:
    """Build the actor from a request; ``user`` overrides it for token-authenticated API calls."""
    if user is None:
        candidate = getattr(request, "user", None)
        user = candidate if candidate is not None and candidate.is_authenticated else None
    return Actor(
        user=user,
        request_id=getattr(request, "request_id", None) or uuid.uuid4().hex,
        client_ip=request.META.get("REMOTE_ADDR"),
    )
