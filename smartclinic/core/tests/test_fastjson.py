"""``core.fastjson``: orjson's text, read back, is the standard library's, for what the booking
encodes and at the edges where orjson would refuse a value."""

from __future__ import annotations

import datetime as dt
import json
import uuid
import zoneinfo
from decimal import Decimal

import pytest

from smartclinic.core import fastjson
from smartclinic.core.compiled import _json_default

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _standard(value, default=None):
    return json.dumps(value, default=default, ensure_ascii=False)


ROWS = [
    {"id": 1, "name": "学生 1", "note": 'a "quoted" \\ line\n\u2028', "ok": True, "none": None, "ratio": 0.1},
    {
        "at": dt.datetime(2026, 11, 28, 8, 0, tzinfo=SHANGHAI),
        "utc": dt.datetime(2026, 11, 28, 0, 0, 0, 5, tzinfo=dt.UTC),
    },
    {"naive": dt.datetime(2026, 1, 1), "day": dt.date(2026, 1, 2), "time": dt.time(8, 30), "t": dt.time(8, 30, 0, 1)},
    {"public_id": uuid.UUID("2a5fa774-e958-4e32-8497-f5689ed10254"), "fee": Decimal("12.50")},
    {"nested": {"list": [1, "二", {"deep": [dt.date(2026, 3, 4)]}], "empty": {}}, "emoji": "🙂"},
    [{"id": "x", "remaining": 3, "bookable": True}],
]


@pytest.mark.parametrize("value", ROWS)
def test_the_text_reads_back_as_the_standard_librarys(value):
    expected = json.loads(_standard(value, _json_default))
    assert json.loads(fastjson.text(value, default=_json_default)) == expected
    assert json.loads(fastjson.encoded(value, default=_json_default)) == expected


def test_times_are_written_as_isoformat_writes_them():
    # jsonb_populate_record reads them back: the text itself must be isoformat's.
    for value in (
        dt.datetime(2026, 11, 28, 8, 0, tzinfo=SHANGHAI),
        dt.datetime(2026, 11, 28, 0, 0, 0, 123000, tzinfo=zoneinfo.ZoneInfo("UTC")),
        dt.datetime(2026, 11, 28, 0, 0, 0, 5, tzinfo=dt.UTC),
        dt.date(2026, 1, 2),
        dt.time(8, 30, 0, 1),
    ):
        assert fastjson.text(value) == f'"{value.isoformat()}"'


def test_non_ascii_is_written_as_it_is():
    assert fastjson.encoded({"name": "张三"}) == '{"name":"张三"}'.encode()


@pytest.mark.parametrize(
    "value",
    [{1: "a", None: "b"}, {"big": 2**70}, [-(2**64)]],
    ids=["keys that are not strings", "an integer beyond 64 bits", "a negative one"],
)
def test_what_orjson_refuses_the_standard_library_encodes(value):
    assert json.loads(fastjson.text(value)) == json.loads(_standard(value))
    assert json.loads(fastjson.encoded(value)) == json.loads(_standard(value))


def test_a_value_with_no_json_form_raises_type_error_as_before():
    with pytest.raises(TypeError, match="no JSON form for object"):
        fastjson.text({"x": object()}, default=_json_default)
    with pytest.raises(TypeError):
        fastjson.encoded({"x": Decimal("1")})  # no default: as json.dumps


def test_decoded_refuses_what_is_not_json():
    assert fastjson.decoded(b'{"slot_id": "x"}') == {"slot_id": "x"}
    for bad in (b"", b"{", b"NaN", b"[1,]"):
        with pytest.raises(ValueError):
            fastjson.decoded(bad)
