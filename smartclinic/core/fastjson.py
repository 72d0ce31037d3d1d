"""JSON encoded in C (orjson) where every booking encodes: the rows its one statement sends
(``core.compiled``), its answer (``booking.fastpath``) and the rush's slot lists
(``booking.slot_marks``); and the API's answers (``core.renderers``). The standard library's
encoder took a twentieth of a booking's CPU for those five encodings; orjson takes a tenth of
that (ADR 0006, session 22).

The text is compact (no spaces after ``,`` and ``:``) and otherwise the standard library's
with ``ensure_ascii=False``: ``default`` is called for the values it would be called for, and
times (which orjson writes itself) are written as ``isoformat()`` writes them. Where orjson
refuses a value the standard library takes (a key that is not a string, an integer beyond 64
bits), the standard library encodes it, so what could be encoded before still is, and what
could not raises the same ``TypeError``. Three differences, none of which the callers send:
not a number and infinity, which are not JSON, become ``null`` rather than ``NaN``; and
dataclasses and enums without a ``str`` or ``int`` base, which the standard library hands to
``default``, orjson writes itself (as an object, as the member's value)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

COMPACT = (",", ":")


def encoded(value: Any, *, default: Callable[[Any], Any] | None = None, times_by_default: bool = False) -> bytes:
    """``value`` as JSON, UTF-8 encoded. ``times_by_default``: dates, times and datetimes go to
    ``default`` too, as the standard library sends them (for an encoder that writes them its
    own way, such as Django's, which cuts microseconds to milliseconds)."""
    option = orjson.OPT_PASSTHROUGH_DATETIME if times_by_default else None
    try:
        return orjson.dumps(value, default=default, option=option)
    except TypeError:  # orjson's JSONEncodeError is a TypeError
        return json.dumps(value, default=default, ensure_ascii=False, separators=COMPACT).encode()


def text(value: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """``value`` as JSON text (for a ``jsonb`` parameter)."""
    try:
        return orjson.dumps(value, default=default).decode()
    except TypeError:
        return json.dumps(value, default=default, ensure_ascii=False, separators=COMPACT)


def decoded(data: bytes | str) -> Any:
    """``json.loads(data)``; raises ``ValueError`` for what is not JSON (``NaN`` included)."""
    return orjson.loads(data)
