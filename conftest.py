"""Fixtures shared by every test: personas, an API client, the outbox drained on demand."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from hypothesis import settings as hypothesis_settings

from smartclinic.core.actor import Actor
from smartclinic.identity.choices import MemberKind, Role
from smartclinic.identity.models import Member, User
from smartclinic.identity.services import token_issue

REQUIRE_ALL = os.environ.get("SMARTCLINIC_REQUIRE_ALL") == "1"

# No per-example deadline: property tests touch the database, and a loaded CI machine must not
# turn a slow example into a failure (hypothesis still reports flaky results and shrinks failures).
hypothesis_settings.register_profile("smartclinic", deadline=None)
hypothesis_settings.load_profile("smartclinic")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.db import connection

    on_postgres = connection.vendor == "postgresql"
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="PostgreSQL-only proof; runs in the PostgreSQL pass"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """In CI (SMARTCLINIC_REQUIRE_ALL=1) a browser or Redis test that skips is a failure."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and ("browser" in item.keywords or "redis" in item.keywords):
        report.outcome = "failed"
        report.longrepr = f"required in CI but skipped: {report.longrepr}"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate-limit counters and other cached state never leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system(reason="test")


_counter = {"n": 0}


def _next(prefix: str) -> str:
    _counter["n"] += 1
    return f"{prefix}{_counter['n']:06d}"


@pytest.fixture
def make_member() -> Callable[..., Member]:
    def make(**fields: Any) -> Member:
        defaults: dict[str, Any] = {
            "number": _next("2024"),
            "kind": MemberKind.STUDENT,
            "name": "张小明",
            "card_number": _next("C"),
            "national_id": "11010519491231002X",
        }
        defaults.update(fields)
        if defaults.get("national_id"):
            from smartclinic.core.crypto import lookup_hash

            defaults.setdefault("national_id_hash", lookup_hash(defaults["national_id"]))
        return Member.objects.create(**defaults)

    return make


@pytest.fixture
def make_user() -> Callable[..., User]:
    def make(*roles: str, username: str | None = None, password: str = "pw-Secret-123", **fields: Any) -> User:
        user = User.objects.create_user(username=username or _next("user"), password=password, **fields)
        for role in roles or (Role.PATIENT,):
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


class ApiClient:
    """A JSON client for /api/v1 that signs in with a bearer token."""

    def __init__(self, user: User | None = None, language: str = "zh-hans") -> None:
        self.client = Client()
        self.headers: dict[str, str] = {"HTTP_ACCEPT_LANGUAGE": language}
        if user is not None:
            raw = token_issue(actor=Actor.of(user), user=user).raw
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"

    def _call(self, method: str, path: str, body: Any = None, **extra: str) -> Any:
        kwargs: dict[str, Any] = {**self.headers, **extra}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        response = getattr(self.client, method)(f"/api/v1{path}", **kwargs)
        response.data = (
            response.json() if response.content and response["Content-Type"].startswith("application/json") else None
        )
        return response

    def get(self, path: str, **extra: str) -> Any:
        return self._call("get", path, **extra)

    def post(self, path: str, body: Any = None, **extra: str) -> Any:
        return self._call("post", path, body if body is not None else {}, **extra)

    def delete(self, path: str, **extra: str) -> Any:
        return self._call("delete", path, **extra)


@pytest.fixture
def api() -> Callable[..., ApiClient]:
    def make(user: User | None = None, language: str = "zh-hans") -> ApiClient:
        return ApiClient(user, language)

    return make
