"""On PostgreSQL a booking's writes run as one statement (ADR 0006): ``booking_book(...)``.

The service builds every row in Python (the appointment, its audit entry, its event, the
idempotent answer when there is one) exactly as the ORM would insert them, and passes them as
JSON; the function applies the two conditional updates and the inserts in one round trip and
answers with an outcome instead of raising, so that the caller's transaction stays usable:

- ``quota``: the person's live-appointment limit or no-show block said no (nothing written);
- ``slot_full``: the slot's conditional update took nothing (nothing written);
- ``duplicate``: a unique index refused an insert (its name is returned: one live appointment
  per person, department and day, or one answer per Idempotency-Key); nothing written;
- ``booked``: everything written; the new rows' ids are returned.

In every outcome but ``quota`` the person's quota row exists afterwards, as on SQLite.
The hot slot row is updated after the person's row and before the inserts; the statement holds
its lock only until the commit that follows at once. SQLite keeps the ORM statements.
"""

from django.db import migrations

POSTGRES_FORWARD = """
CREATE OR REPLACE FUNCTION booking_book(
    p_slot_id bigint,
    p_person_key varchar,
    p_live_limit integer,
    p_now timestamptz,
    p_appointment jsonb,
    p_audit jsonb,
    p_event jsonb,
    p_answer jsonb
) RETURNS TABLE (outcome text, detail text, appointment_id bigint, audit_id bigint, event_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_appointment booking_appointment;
    v_audit audit_auditentry;
    v_event outbox_outboxmessage;
    v_answer core_idempotencyrecord;
    v_constraint text;
BEGIN
    BEGIN
        INSERT INTO booking_personquota AS q (person_key, live_count, blocked_until)
        VALUES (p_person_key, 1, NULL)
        ON CONFLICT (person_key) DO UPDATE SET live_count = q.live_count + 1
        WHERE q.live_count < p_live_limit AND (q.blocked_until IS NULL OR q.blocked_until <= p_now);
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'quota'::text, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint;
            RETURN;
        END IF;

        UPDATE scheduling_slot SET booked = booked + 1 WHERE id = p_slot_id AND booked < capacity;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'SCB01', MESSAGE = 'booking.slot_full';
        END IF;

        v_appointment := jsonb_populate_record(NULL::booking_appointment, p_appointment);
        v_appointment.id := nextval(pg_get_serial_sequence('booking_appointment', 'id'));
        INSERT INTO booking_appointment SELECT v_appointment.*;

        v_audit := jsonb_populate_record(NULL::audit_auditentry, p_audit);
        v_audit.id := nextval(pg_get_serial_sequence('audit_auditentry', 'id'));
        INSERT INTO audit_auditentry SELECT v_audit.*;

        v_event := jsonb_populate_record(NULL::outbox_outboxmessage, p_event);
        v_event.id := nextval(pg_get_serial_sequence('outbox_outboxmessage', 'id'));
        INSERT INTO outbox_outboxmessage SELECT v_event.*;

        IF p_answer IS NOT NULL THEN
            v_answer := jsonb_populate_record(NULL::core_idempotencyrecord, p_answer);
            v_answer.id := nextval(pg_get_serial_sequence('core_idempotencyrecord', 'id'));
            INSERT INTO core_idempotencyrecord SELECT v_answer.*;
        END IF;
    EXCEPTION
        WHEN unique_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            INSERT INTO booking_personquota (person_key, live_count) VALUES (p_person_key, 0)
            ON CONFLICT (person_key) DO NOTHING;
            RETURN QUERY SELECT 'duplicate'::text, v_constraint, NULL::bigint, NULL::bigint, NULL::bigint;
            RETURN;
        WHEN SQLSTATE 'SCB01' THEN
            INSERT INTO booking_personquota (person_key, live_count) VALUES (p_person_key, 0)
            ON CONFLICT (person_key) DO NOTHING;
            RETURN QUERY SELECT 'slot_full'::text, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint;
            RETURN;
    END;
    RETURN QUERY SELECT 'booked'::text, NULL::text, v_appointment.id, v_audit.id, v_event.id;
END;
$$;
"""

POSTGRES_BACKWARD = """
DROP FUNCTION IF EXISTS booking_book(bigint, varchar, integer, timestamptz, jsonb, jsonb, jsonb, jsonb);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0001_initial"),
        ("audit", "0002_append_only_triggers"),
        ("outbox", "0001_initial"),
        ("core", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
