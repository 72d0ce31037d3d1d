"""``booking_book(...)`` refuses a place on a suspended session's slot (ADR 0006).

The booking reads the session's status before its transaction; a suspension that commits
between that read and the booking's statement used to let the booking through, and the
suspension had already cancelled the session's appointments. The suspension now marks the
session's slots in its transaction, and the slot's conditional update checks the mark on the
row it locks: a booking waiting on that lock re-checks the row the suspension wrote and takes
nothing. The new outcome ``suspended`` writes nothing (the person's quota row exists
afterwards, as for ``slot_full``). The rest of the function is migration 0002's.
"""

import importlib

from django.db import migrations

_0002 = importlib.import_module("smartclinic.booking.migrations.0002_book_in_one_statement")

TAKE_PLACE = """
        UPDATE scheduling_slot SET booked = booked + 1 WHERE id = p_slot_id AND booked < capacity;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'SCB01', MESSAGE = 'booking.slot_full';
        END IF;
"""
TAKE_PLACE_UNLESS_SUSPENDED = """
        UPDATE scheduling_slot SET booked = booked + 1
        WHERE id = p_slot_id AND booked < capacity AND NOT suspended;
        IF NOT FOUND THEN
            IF EXISTS (SELECT 1 FROM scheduling_slot WHERE id = p_slot_id AND suspended) THEN
                RAISE EXCEPTION USING ERRCODE = 'SCB02', MESSAGE = 'booking.session_suspended';
            END IF;
            RAISE EXCEPTION USING ERRCODE = 'SCB01', MESSAGE = 'booking.slot_full';
        END IF;
"""
ON_SLOT_FULL = """
        WHEN SQLSTATE 'SCB01' THEN"""
ON_SUSPENDED = """
        WHEN SQLSTATE 'SCB02' THEN
            INSERT INTO booking_personquota (person_key, live_count) VALUES (p_person_key, 0)
            ON CONFLICT (person_key) DO NOTHING;
            RETURN QUERY SELECT 'suspended'::text, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint;
            RETURN;"""


def _refusing_suspended(function: str) -> str:
    for old in (TAKE_PLACE, ON_SLOT_FULL):
        if function.count(old) != 1:
            raise RuntimeError(f"booking_book has changed: {old.strip()[:60]!r} is not found once")
    return function.replace(TAKE_PLACE, TAKE_PLACE_UNLESS_SUSPENDED).replace(ON_SLOT_FULL, ON_SUSPENDED + ON_SLOT_FULL)


POSTGRES_FORWARD = _refusing_suspended(_0002.POSTGRES_FORWARD)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_0002.POSTGRES_FORWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0003_fewer_indexes"),
        ("scheduling", "0004_slot_suspended"),
    ]

    operations = [migrations.RunPython(forward, backward)]
