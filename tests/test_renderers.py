"""``core.renderers.FastJSONRenderer``: the API's answers read as django-ninja's own renderer
wrote them, times to the character."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.utils.translation import gettext_lazy
from ninja import Schema
from ninja.renderers import JSONRenderer

from smartclinic.core.renderers import FastJSONRenderer

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


class Brief(Schema):
    name: str
    at: dt.datetime


VALUES = [
    {"at": dt.datetime(2026, 11, 28, 8, 0, 0, 123456, tzinfo=SHANGHAI)},  # Django: milliseconds
    {"utc": dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)},  # Django: "Z"
    {"day": dt.date(2026, 1, 2), "time": dt.time(8, 30, 0, 250000), "naive": dt.datetime(2026, 1, 1, 7)},
    {"took": dt.timedelta(minutes=15), "fee": Decimal("12.50"), "id": uuid.UUID(int=7)},
    {"message": gettext_lazy("Not found."), "name": "张三", "emoji": "🙂"},
    {"address": ipaddress.ip_address("10.0.0.1"), "network": ipaddress.ip_network("10.0.0.0/8")},
    [Brief(name="x", at=dt.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC)), None, True, 0.1, -3],
    {"nested": {"list": [1, "二", {"deep": [dt.date(2026, 3, 4)]}], "empty": {}}},
    {1: "a key that is not a string", "big": 2**70},  # orjson refuses both: the standard library writes them
]


def _rendered(renderer, value):
    return renderer.render(RequestFactory().get("/"), value, response_status=200)


@pytest.mark.parametrize("value", VALUES)
def test_an_answer_reads_as_ninjas_renderer_wrote_it(value):
    assert json.loads(_rendered(FastJSONRenderer(), value)) == json.loads(_rendered(JSONRenderer(), value))


def test_times_are_written_as_django_writes_them():
    at = dt.datetime(2026, 11, 28, 0, 0, 0, 123456, tzinfo=dt.UTC)
    assert json.loads(_rendered(FastJSONRenderer(), {"at": at})) == {"at": "2026-11-28T00:00:00.123Z"}


def test_what_neither_can_write_is_refused_the_same_way():
    for renderer in (JSONRenderer(), FastJSONRenderer()):
        with pytest.raises(TypeError):
            _rendered(renderer, {"what": object()})


@pytest.mark.django_db
def test_the_api_renders_with_it(client):
    from config.api import api

    assert isinstance(api.renderer, FastJSONRenderer)
    response = client.get("/api/v1/departments", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert isinstance(json.loads(response.content), list)
