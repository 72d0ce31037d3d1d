"""The API's JSON renderer: django-ninja's, encoded in C.

django-ninja renders every answer with the standard library's encoder and ``NinjaJSONEncoder``
for what JSON has no type for. In a booking rush each worker re-renders every slot list it
serves once a second, and the encoder was a third of that (ADR 0006, session 23). This renderer
gives the same JSON through ``core.fastjson`` (orjson): the values orjson cannot write, and
every date, time and datetime, still go to ``NinjaJSONEncoder.default``, so they read exactly
as before (Django writes datetimes to the millisecond, UTC as ``Z``). The text is compact and
UTF-8 rather than ``\\u``-escaped; it parses to the same values."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from smartclinic.core import fastjson

_ENCODER = NinjaJSONEncoder()  # its ``default`` keeps no state


class FastJSONRenderer(JSONRenderer):
    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return fastjson.encoded(data, default=_ENCODER.default, times_by_default=True)
