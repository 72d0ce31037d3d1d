"""Compiled queries and inserts give exactly what the ORM gives, without compiling each time."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models
from django.db.models import JSONField, signals
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from smartclinic.audit.models import AuditEntry
from smartclinic.core.compiled import (
    CompiledQuery,
    CompiledValues,
    _json_default,
    _stamp_of,
    binary_results,
    first_of_each,
    insert_instance,
    instance_row_json,
    new_instance,
    prepared_cursor,
    values_row_json,
)
from smartclinic.core.models import IdempotencyRecord
from smartclinic.identity.models import ApiToken, Dependant, Member, User
from smartclinic.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


def _fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_a_compiled_query_returns_what_the_queryset_returns(make_user):
    user = make_user()
    token = ApiToken.objects.create(user=user, key_hash="h" * 64, expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    ApiToken.objects.create(user=user, key_hash="r" * 64, expires_at=token.expires_at, revoked_at=token.expires_at)
    compiled = CompiledQuery(ApiToken.objects.select_related("user").filter(revoked_at__isnull=True), "key_hash")

    found = compiled.first(key_hash="h" * 64)
    expected = ApiToken.objects.select_related("user").get(pk=token.pk)

    assert _fields(found) == _fields(expected)
    assert ApiToken.user.is_cached(found)
    with CaptureQueriesContext(connection) as queries:
        assert _fields(found.user) == _fields(expected.user)
    assert len(queries) == 0
    assert compiled.first(key_hash="r" * 64) is None  # the queryset's own filter still applies
    assert compiled.first(key_hash="nope") is None
    assert not found._state.adding
    assert found._state.db == "default"


def test_field_converters_and_foreign_keys(make_user, make_member):
    user = make_user()
    member = make_member(
        account=user, bound_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), national_id="11010519491231002X"
    )
    compiled = CompiledQuery(Member.objects.all(), "account")

    found = compiled.first(account=user.pk)

    assert found.national_id == "11010519491231002X"  # decrypted by the field, as the ORM does
    assert _fields(found) == _fields(Member.objects.get(pk=member.pk))
    assert compiled.first(account=user.pk + 1000) is None


def test_uuid_and_json_values():
    record_user = User.objects.create_user(username="u-compiled")
    record = IdempotencyRecord.objects.create(
        user=record_user, key="k1", fingerprint="f", status_code=201, body={"id": str(uuid.uuid4()), "n": [1, 2]}
    )
    compiled = CompiledQuery(IdempotencyRecord.objects.all(), "user", "key")
    found = compiled.first(user=record_user.pk, key="k1")
    assert found.body == record.body
    assert compiled.first(user=record_user.pk, key="k2") is None
    assert compiled.all(user=record_user.pk, key="k1") == [record]


def test_the_sql_is_compiled_once_per_process(make_user):
    compiled = CompiledQuery(User.objects.all(), "username")
    compiled.first(username="a")
    plan = compiled._plans["default"]
    compiled.first(username="b")
    assert compiled._plans["default"] is plan


@pytest.mark.parametrize("prepared", [False, True])
def test_compiled_values_are_the_querysets_dicts(make_user, make_member, prepared):
    born = dt.date(2004, 5, 6)
    owner = make_member(
        account=make_user(),
        bound_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        birth_date=born,
        national_id="11010519491231002X",
    )
    make_member(birth_date=born + dt.timedelta(days=1))
    Dependant.objects.create(owner=owner, name="小明", relation="child", birth_date=born)
    values = Dependant.objects.order_by("name").values("name", "owner__national_id", "owner__account__username")
    compiled = CompiledValues(values, "owner__birth_date", "owner__account", prepared=prepared)

    found = compiled.all(owner__birth_date=born, owner__account=owner.account_id)

    expected = list(values.filter(owner__birth_date=born, owner__account=owner.account_id))
    assert found == expected
    assert [[type(v) for v in row.values()] for row in found] == [[type(v) for v in row.values()] for row in expected]
    assert found[0]["owner__national_id"] == "11010519491231002X"  # the field's converter ran
    assert compiled.all(owner__birth_date=born + dt.timedelta(days=1), owner__account=owner.account_id) == []
    plan = compiled._plans["default"]
    compiled.all(owner__birth_date=born, owner__account=owner.account_id)
    assert compiled._plans["default"] is plan


def test_compiled_values_refuse_what_they_cannot_compile():
    with pytest.raises(AssertionError):
        CompiledValues(Member.objects.all(), "number")  # not a .values(...) queryset
    with pytest.raises(ImproperlyConfigured):  # no sample value can be told apart in a datetime
        CompiledValues(Member.objects.values("number"), "bound_at").all(bound_at=dt.datetime.now(dt.UTC))


def test_insert_instance_saves_like_save():
    message = insert_instance(
        OutboxMessage(name="x.happened", payload={"a": "1"}, available_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    )

    assert message.pk is not None
    assert not message._state.adding
    stored = OutboxMessage.objects.get(pk=message.pk)
    assert _fields(stored) == _fields(message)
    assert stored.created_at is not None  # auto_now_add ran
    assert stored.status == "pending" and stored.attempts == 0  # field defaults


def test_insert_instance_keeps_a_custom_save_unless_told():
    with CaptureQueriesContext(connection) as queries:
        entry = insert_instance(
            AuditEntry(actor_label="x", action="test.done", subject_type="t", subject_id="1"),
            bypass_save_override=True,
        )
    assert entry.pk is not None and len(queries) == 1
    assert AuditEntry.objects.get(pk=entry.pk).occurred_at is not None
    saved = insert_instance(AuditEntry(actor_label="x", action="test.saved", subject_type="t", subject_id="2"))
    assert saved.pk is not None  # through AuditEntry.save()


def test_models_with_save_receivers_go_through_save(make_user):
    seen = []

    def receiver(sender, instance, created, **kwargs):
        seen.append((instance.name, created))

    signals.post_save.connect(receiver, sender=OutboxMessage)
    try:
        insert_instance(OutboxMessage(name="x.signalled", available_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)))
    finally:
        signals.post_save.disconnect(receiver, sender=OutboxMessage)
    assert seen == [("x.signalled", True)]


def test_prepared_compiled_values_are_a_prepared_statement_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server-side prepared statements")
    compiled = CompiledValues(Member.objects.values("number", "bound_at"), "kind", prepared=True)

    assert compiled.all(kind="no such kind") == []

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('"identity_member"."bound_at"' in statement for statement in prepared), prepared


def test_a_prepared_compiled_query_is_a_prepared_statement_on_postgresql(make_user):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server-side prepared statements")
    user = make_user()
    ApiToken.objects.create(user=user, key_hash="p" * 64, expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    compiled = CompiledQuery(ApiToken.objects.filter(revoked_at__isnull=True), "key_hash", prepared=True)

    assert compiled.first(key_hash="p" * 64).user_id == user.pk
    assert compiled.first(key_hash="q" * 64) is None

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("identity_apitoken" in statement for statement in prepared), prepared


def _row_as_django_prepares_it(obj):
    """Every column as ``save()`` prepares it: ``pre_save``, then ``get_db_prep_save`` (a JSON
    field's value as it is)."""
    obj._prepare_related_fields_for_save(operation_name="save")
    row = {}
    for field in obj._meta.local_concrete_fields:
        if field is obj._meta.auto_field or field.generated:
            continue
        value = field.pre_save(obj, True)
        if isinstance(field, JSONField):
            row[field.column] = field.get_prep_value(value)
        else:
            row[field.column] = field.get_db_prep_save(value, connection=connection)
    return json.loads(json.dumps(row, default=_json_default))


def test_a_rows_json_is_what_save_would_insert(make_user, make_member):
    """``instance_row_json`` skips ``get_db_prep_save`` for plain values of Django's own field
    types: the row must still be exactly the generic preparation's, on either database."""
    user = make_user()
    member = make_member(account=user, bound_at=dt.datetime(2029, 9, 1, tzinfo=dt.UTC))
    at = dt.datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    instances = [
        OutboxMessage(name="x.happened", payload={"a": "1", "n": [1, 2]}, available_at=at),
        AuditEntry(
            actor_id=user.pk,
            actor_label="张三",
            action="t.done",
            subject_type="t",
            subject_id="1",
            new_values={"k": 1},
            client_ip="10.1.2.3",
        ),
        IdempotencyRecord(user=user, key="k" * 40, fingerprint="f", status_code=201, body={"id": str(uuid.uuid4())}),
        Dependant(owner=member, name="张小小", relation="child"),
        ApiToken(user=user, key_hash="h" * 64, expires_at=at, last_used_at=None),
    ]
    for obj in instances:
        with time_machine.travel(at, tick=False):
            expected = _row_as_django_prepares_it(obj)
            assert json.loads(instance_row_json(obj)) == expected, type(obj).__name__

    # A field type of the project's own (encrypted at rest) is always prepared by the field.
    member.national_id = "110101200001011234"
    row = json.loads(instance_row_json(member))
    assert row["national_id"] != member.national_id
    assert Member._meta.get_field("national_id").from_db_value(row["national_id"], None, connection) == (
        member.national_id
    )


def test_a_row_from_values_is_the_row_of_the_instance_they_make(make_user, make_member):
    """``values_row_json(Model, values)`` is ``instance_row_json(Model(**values))``: defaults for
    the fields left out, the insert's stamps, the same preparation; an unknown name is refused."""
    user = make_user()
    member = make_member(account=user, bound_at=dt.datetime(2029, 9, 1, tzinfo=dt.UTC))
    at = dt.datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    event_id, public_id = uuid.uuid4(), uuid.uuid4()
    rows = [
        (OutboxMessage, {"event_id": event_id, "name": "x.happened", "payload": {"a": "1"}, "available_at": at}),
        (
            AuditEntry,
            {
                "actor_id": user.pk,
                "actor_label": "张三",
                "action": "t.done",
                "new_values": {"k": [1]},
                "client_ip": "10.1.2.3",
            },
        ),
        (AuditEntry, {"actor_id": None, "actor_label": "system", "action": "t.done", "client_ip": None}),
        (
            IdempotencyRecord,
            {"user_id": user.pk, "key": "k", "fingerprint": "f", "status_code": 201, "body": {"id": "1"}},
        ),
        (Dependant, {"public_id": public_id, "owner_id": member.pk, "name": "张小小", "relation": "child"}),
    ]
    for model, values in rows:
        with time_machine.travel(at, tick=False):
            assert json.loads(values_row_json(model, values)) == json.loads(instance_row_json(model(**values))), model
    with pytest.raises(TypeError, match="nmae"):
        values_row_json(OutboxMessage, {"nmae": "x.happened", "available_at": at})
    # A date's or a time's auto stamp is the server's local day: not guessed for it.
    with pytest.raises(ImproperlyConfigured, match="DateField"):
        _stamp_of(models.DateField(name="day", auto_now=True))


def test_first_of_each_reads_every_lookup_in_one_statement(make_user, django_assert_num_queries):
    user = make_user()
    token = ApiToken.objects.create(user=user, key_hash="e" * 64, expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    tokens = CompiledQuery(ApiToken.objects.select_related("user"), "key_hash", prepared=True)
    users = CompiledQuery(User.objects.all(), "username")

    with django_assert_num_queries(1):
        found_token, found_user = first_of_each((tokens, {"key_hash": "e" * 64}), (users, {"username": user.username}))
    assert _fields(found_token) == _fields(tokens.first(key_hash="e" * 64)) and found_token.pk == token.pk
    assert found_token.user == user and found_user == user

    # A lookup that finds nothing is None, whichever side it is on.
    assert first_of_each((tokens, {"key_hash": "n" * 64}), (users, {"username": user.username})) == [None, user]
    assert first_of_each((tokens, {"key_hash": "e" * 64}), (users, {"username": "nobody"}))[1] is None
    assert first_of_each((tokens, {"key_hash": "n" * 64}), (users, {"username": "nobody"})) == [None, None]


def test_first_of_each_refuses_a_lookup_that_is_not_unique(make_user):
    make_user(last_name="王"), make_user(last_name="王")
    by_family_name = CompiledQuery(User.objects.all(), "last_name")
    assert len(by_family_name.all(last_name="王")) == 2
    with pytest.raises(ImproperlyConfigured, match="unique"):
        first_of_each((by_family_name, {"last_name": "王"}))


def _values_and_state(obj):
    values = {k: v for k, v in vars(obj).items() if k != "_state"}
    return values, obj._state.adding, obj._state.db


def test_instances_are_what_from_db_makes_deferred_fields_and_cached_relations_included(make_user, make_member):
    user = make_user()
    make_member(account=user, bound_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    token = ApiToken.objects.create(user=user, key_hash="i" * 64, expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    queryset = ApiToken.objects.select_related("user__member").only(
        "id", "user_id", "expires_at", "user__id", "user__username", "user__member__id", "user__member__name"
    )
    found = CompiledQuery(queryset, "key_hash").first(key_hash="i" * 64)
    expected = queryset.get(pk=token.pk)

    assert _values_and_state(found) == _values_and_state(expected)
    assert _values_and_state(found.user) == _values_and_state(expected.user)
    assert _values_and_state(found.user.member) == _values_and_state(expected.user.member)
    assert found.user.member.account is found.user  # cached both ways, as the ORM caches it
    with CaptureQueriesContext(connection) as queries:
        assert found.user.email == user.email  # a deferred field is loaded when read
    assert len(queries) == 1


def test_init_signal_receivers_still_get_the_instances(make_user):
    user = make_user()
    ApiToken.objects.create(user=user, key_hash="s" * 64, expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    compiled = CompiledQuery(ApiToken.objects.select_related("user"), "key_hash")
    initialised = []

    def receiver(sender, instance, **kwargs):
        initialised.append(instance)

    signals.post_init.connect(receiver, sender=User)
    try:
        found = compiled.first(key_hash="s" * 64)
    finally:
        signals.post_init.disconnect(receiver, sender=User)
    assert initialised == [found.user]


_TYPES_DJANGO_READS_AS_TEXT = (
    "SELECT '{\"a\": [1, \"x\"]}'::jsonb, '10.1.2.3'::inet, '10.1.2.3/24'::inet, '::1'::inet, "
    "'10.0.0.0/8'::cidr, '2026-11-28 08:00:00.123456+08'::timestamptz, '2026-11-28'::date, "
    "'b4f0b2a6-3c3e-4a53-8f7e-0d5c2b3f1a10'::uuid, 12.50::numeric, NULL::jsonb"
)


@pytest.mark.django_db(transaction=True)
def test_a_prepared_cursors_binary_rows_are_the_rows_django_reads():
    if connection.vendor != "postgresql":
        pytest.skip("binary rows are PostgreSQL's")
    connection.close()  # the first statement of a new connection: its loaders are set up with it
    with prepared_cursor(connection) as cursor:
        assert cursor.cursor.binary_results
        cursor.execute(_TYPES_DJANGO_READS_AS_TEXT)
        first_of_a_connection = cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(_TYPES_DJANGO_READS_AS_TEXT)
        as_django_reads = cursor.fetchall()
    assert first_of_a_connection == as_django_reads
    with prepared_cursor(connection) as cursor:
        assert cursor.cursor.binary_results
        cursor.execute(_TYPES_DJANGO_READS_AS_TEXT)
        as_binary = cursor.fetchall()

    assert as_binary == as_django_reads
    assert [type(value) for value in as_binary[0]] == [type(value) for value in as_django_reads[0]]
    assert as_binary[0][:5] == ('{"a": [1, "x"]}', "10.1.2.3", "10.1.2.3/24", "::1", "10.0.0.0/8")


def test_a_prepared_read_of_a_json_and_an_address_is_the_orms(make_user):
    if connection.vendor != "postgresql":
        pytest.skip("binary rows are PostgreSQL's")
    user = make_user()
    entry = AuditEntry.objects.create(
        actor_id=user.pk, actor_label="t", action="test.binary", subject_type="x", subject_id="1",
        client_ip="10.9.8.7", new_values={"k": [1, "二"]},
    )  # fmt: skip
    found = CompiledQuery(AuditEntry.objects.all(), "id", prepared=True).first(id=entry.pk)

    assert _fields(found) == _fields(AuditEntry.objects.get(pk=entry.pk))


def test_rows_come_as_text_when_django_reads_times_in_another_zone():
    if connection.vendor != "postgresql":
        pytest.skip("binary rows are PostgreSQL's")
    with override_settings(USE_TZ=False):
        assert not binary_results(connection)
    assert binary_results(connection)


def test_a_new_instance_is_what_the_model_makes():
    values = {"actor_id": 7, "action": "a.b", "subject_type": "x", "subject_id": "1", "new_values": {"k": 1}}

    made, expected = new_instance(AuditEntry, values), AuditEntry(**values)

    assert _values_and_state(made) == _values_and_state(expected)
    assert made.old_values == {} and made.request_id == ""  # the fields' defaults
    with pytest.raises(TypeError, match="nope"):
        new_instance(AuditEntry, {**values, "nope": 1})


def test_a_new_instance_goes_through_init_for_its_receivers():
    made = []

    def receiver(sender, instance, **kwargs):
        made.append(instance)

    signals.post_init.connect(receiver, sender=IdempotencyRecord)
    try:
        record = new_instance(IdempotencyRecord, {"user_id": 7, "key": "k", "fingerprint": "f", "status_code": 201})
    finally:
        signals.post_init.disconnect(receiver, sender=IdempotencyRecord)
    assert made == [record]


def test_an_unwatched_prepared_cursor_checks_and_translates_errors_as_djangos():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    from django.db import ProgrammingError

    with prepared_cursor(connection) as cursor:
        assert type(cursor).__name__ == "_UnwatchedCursor"  # no execute wrapper, no query log
        cursor.execute("SELECT %s::int + 1", [41])
        assert cursor.fetchone() == (42,)
        with pytest.raises(ProgrammingError):  # Django's error, not psycopg's
            cursor.execute("SELECT no_such_column FROM identity_user")


def test_a_watched_prepared_cursor_is_seen_by_execute_wrappers_and_the_query_log(make_user):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    user = make_user()
    ApiToken.objects.create(user=user, key_hash="w" * 64, expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    compiled = CompiledQuery(ApiToken.objects.all(), "key_hash", prepared=True)
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        assert compiled.first(key_hash="w" * 64).user_id == user.pk
    with CaptureQueriesContext(connection) as queries:
        assert compiled.first(key_hash="w" * 64).user_id == user.pk
    assert len(seen) == 1 and "identity_apitoken" in seen[0]
    assert len(queries) == 1  # logged (its text, for a statement bound server-side, Django leaves out)
