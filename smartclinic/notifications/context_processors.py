"""``inbox_unread``: the signed-in person's unread message count for the top bar's badge.

Lazy: the count is queried only when a template uses it (Django calls the callable), so pages
without the badge pay nothing. Register it in ``TEMPLATES[0]["OPTIONS"]["context_processors"]``
as ``"smartclinic.notifications.context_processors.inbox"``."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.http import HttpRequest

from smartclinic.identity.models import User
from smartclinic.notifications.selectors import message_unread_count


def inbox(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {"inbox_unread": 0}

    @cache
    def count() -> int:
        return message_unread_count(user=user)

    unread: Callable[[], int] = count
    return {"inbox_unread": unread}
