"""Hot paths without the ORM's per-call SQL compilation.

Compiling one ORM query costs more CPU than running it (0.5-1 ms on a 2-core box, against
~0.1 ms to send it with psycopg and read the answer), and the booking request in a rush runs a
handful of them. These helpers compile once per process and database, then only bind values:

- ``CompiledQuery``: a queryset filtered by exact values, compiled once; run again with new
  values it returns the same model instances (``select_related`` objects included) that the
  queryset would. They are made as ``Model.from_db`` makes them, without its trip through
  ``Model.__init__`` when that would only store the values (``_loaded``).
- ``insert_instance``: INSERT one unsaved model instance with its model's statement compiled
  once; the values are prepared as ``Model.save()`` prepares them (field defaults, ``auto_now``
  and ``auto_now_add``, ``get_db_prep_save``) and the primary key is read back. A model with
  ``pre_save``/``post_save`` receivers is saved with ``save()`` instead, so they still run.

Both go through Django's connection and cursor wrapper, so transactions, ``execute_wrapper``
hooks and ``connection.queries`` see every statement as usual.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import ipaddress
import secrets
import threading
import uuid
import weakref
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import QuerySet, get_related_populators  # type: ignore[attr-defined]
from django.db.models.sql import InsertQuery
from django.utils import timezone
from psycopg.adapt import Loader
from psycopg.errors import DataError
from psycopg.pq import Format
from psycopg.types.net import CidrBinaryLoader, InetBinaryLoader

from smartclinic.core import fastjson

M = TypeVar("M", bound=models.Model)


def column_of(model: type[models.Model], name: str) -> str:
    """The database column of a model's concrete field (for SQL written out by hand)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column
    return field.column


def _sample(field: models.Field[Any, Any]) -> Any:
    """A value of the field's type that cannot occur among a query's other parameters."""
    if isinstance(field, models.DateTimeField):
        raise ImproperlyConfigured(f"CompiledQuery: no sample value for {type(field).__name__} {field.name}")
    if isinstance(field, models.DateField):  # in the first centuries: no clinic's date
        return dt.date(1, 1, 1) + dt.timedelta(days=secrets.randbelow(200_000))
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.IntegerField | models.AutoField):
        return -(secrets.randbits(60) + 10**15)
    if isinstance(field, models.CharField | models.TextField):
        return f"\x00compiled:{secrets.token_hex(12)}"
    raise ImproperlyConfigured(f"CompiledQuery: no sample value for {type(field).__name__} {field.name}")


@functools.cache
def _prepared_cursor_class() -> type:
    from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]

    class PreparedCursor(ServerBindingCursor):
        binary_results = False

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return super().execute(query, params, prepare=True, binary=self.binary_results, **kwargs)

    return PreparedCursor


def prepared_cursor(connection: Any) -> Any:
    """A cursor whose statements PostgreSQL parses and plans once per connection (a prepared
    statement, bound server-side), for the few queries every booking runs; a plain cursor
    elsewhere, or with ``DATABASE_PREPARED_HOT_QUERIES=0`` (e.g. behind a transaction-mode
    pooler that cannot keep prepared statements). Its rows come in PostgreSQL's binary format
    where that gives the values Django's text format gives (``binary_results``). Execute
    wrappers and query logging see it as any other (Django's cursor wrapper); when there is
    neither, it is an ``_UnwatchedCursor``."""
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_HOT_QUERIES:
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        binary = binary_results(connection)  # before the cursor: it takes the connection's loaders as they are
        cursor = _prepared_cursor_class()(connection.connection)
        cursor.binary_results = binary
        if connection.execute_wrappers or connection.queries_logged:
            return connection._prepare_cursor(cursor)
        connection.validate_thread_sharing()
        return _UnwatchedCursor(cursor, connection)


class _UnwatchedCursor:
    """Django's ``CursorWrapper`` for a statement that no execute wrapper watches and no query
    log records: the same checks and the same translation of database errors into Django's,
    without the wrapper chain per statement and a wrapped function per fetch (a prepared
    ``SELECT 1`` through it: 60 µs of CPU, against 77 through the query-logging wrapper)."""

    __slots__ = ("cursor", "db")

    def __init__(self, cursor: Any, db: Any) -> None:
        self.cursor = cursor
        self.db = db

    def __enter__(self) -> _UnwatchedCursor:
        return self

    def __exit__(self, *_exc: object) -> None:
        with contextlib.suppress(self.db.Database.Error):  # as CursorWrapper: of no use to anyone
            self.cursor.close()

    def execute(self, sql: str, params: Any = None) -> Any:
        self.db.validate_no_broken_transaction()
        with self.db.wrap_database_errors:
            return self.cursor.execute(sql, params)

    def fetchone(self) -> Any:
        with self.db.wrap_database_errors:
            return self.cursor.fetchone()

    def fetchall(self) -> list[Any]:
        with self.db.wrap_database_errors:
            return cast("list[Any]", self.cursor.fetchall())


_binary_ready: weakref.WeakSet[Any] = weakref.WeakSet()


def binary_results(connection: Any) -> bool:
    """Whether a hot query's rows can come in binary: psycopg reads them in C, where the text
    format has Django's time-zone loader read each timestamp in Python (the token read's row of
    45 columns: 34 µs of CPU in text, 7 in binary). They give the same values when Django reads times in
    UTC, the session's time zone (``USE_TZ`` and no database ``TIME_ZONE``), once the
    connection reads ``jsonb``, ``inet`` and ``cidr`` as the text Django expects
    (``binary_as_django_reads_text``)."""
    if not settings.USE_TZ or connection.timezone_name != "UTC":
        return False
    raw = connection.connection
    if raw not in _binary_ready:
        binary_as_django_reads_text(raw)
        _binary_ready.add(raw)
    return True


class _JsonbBinaryAsText(Loader):
    """``jsonb`` as its text, as Django's text loader gives it (``JSONField`` decodes it)."""

    format = Format.BINARY

    def load(self, data: Any) -> str:
        data = bytes(data)
        if data[:1] != b"\x01":
            raise DataError(f"unknown jsonb binary format: {data[:1]!r}")
        return data[1:].decode()


class _InetBinaryAsText(InetBinaryLoader):
    """``inet`` as PostgreSQL writes it in text: the address alone when its mask is full."""

    def load(self, data: Any) -> str:  # type: ignore[override]  # the text Django reads, not an address
        value = super().load(data)
        if isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
            full = value.network.prefixlen == value.max_prefixlen
            return str(value.ip) if full else str(value)
        return str(value)


class _CidrBinaryAsText(CidrBinaryLoader):
    def load(self, data: Any) -> str:  # type: ignore[override]  # the text Django reads
        return str(super().load(data))


def binary_as_django_reads_text(raw: Any) -> None:
    """Django reads ``jsonb``, ``inet`` and ``cidr`` as text (``get_adapters_template``); the
    same values from their binary format, for this psycopg connection."""
    raw.adapters.register_loader("jsonb", _JsonbBinaryAsText)
    raw.adapters.register_loader("inet", _InetBinaryAsText)
    raw.adapters.register_loader("cidr", _CidrBinaryAsText)


def _field_at(model: type[models.Model], path: str) -> models.Field[Any, Any]:
    """The field a lookup path (``session__department``) compares: a foreign key's target."""
    *hops, last = path.split("__")
    for hop in hops:
        related = model._meta.get_field(hop).related_model
        assert related is not None and not isinstance(related, str), f"{hop} is not a relation"
        model = related
    field = model._meta.get_field(last)
    assert isinstance(field, models.Field)
    return field.target_field if field.is_relation else field  # type: ignore[attr-defined]


def _prepare(field: models.Field[Any, Any], value: Any, connection: Any) -> Any:
    return field.get_db_prep_value(field.get_prep_value(value), connection, prepared=True)


@dataclass(frozen=True)
class _Binding:
    """A queryset filtered by sample values, compiled: where each name's value goes."""

    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str, models.Field[Any, Any]], ...]

    def bind(self, values: dict[str, Any], connection: Any) -> list[Any]:
        params = list(self.params)
        for position, name, target in self.slots:
            params[position] = _prepare(target, values[name], connection)
        return params


def _compile(queryset: QuerySet[Any], names: tuple[str, ...], using: str) -> tuple[Any, _Binding]:
    connection = connections[using]
    targets = {name: _field_at(queryset.model, name) for name in names}
    samples = {name: _sample(target) for name, target in targets.items()}
    compiler = queryset.using(using).filter(**samples).query.get_compiler(using=using)
    sql, params = compiler.as_sql()
    slots = []
    for name, sample in samples.items():
        prepared = _prepare(targets[name], sample, connection)
        positions = [i for i, p in enumerate(params) if type(p) is type(prepared) and p == prepared]
        if len(positions) != 1:
            raise ImproperlyConfigured(f"CompiledQuery: {name} appears {len(positions)} times")
        slots.append((positions[0], name, targets[name]))
    return compiler, _Binding(sql=sql, params=tuple(params), slots=tuple(slots))


def _converted(row: Any, converters: tuple[tuple[int, tuple[Any, ...], Any], ...], connection: Any) -> list[Any]:
    values = list(row)
    for position, convs, expression in converters:
        value = values[position]
        for converter in convs:
            value = converter(value, expression, connection)
        values[position] = value
    return values


def _converters_of(compiler: Any) -> tuple[tuple[int, tuple[Any, ...], Any], ...]:
    converters = compiler.get_converters([s[0] for s in compiler.select[0 : compiler.col_count]])
    return tuple((pos, tuple(convs), expr) for pos, (convs, expr) in converters.items())


@dataclass(frozen=True)
class _Plan:
    binding: _Binding
    model: type[models.Model]
    init_list: tuple[str, ...]
    fields_start: int
    fields_end: int
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]
    populators: tuple[Any, ...]
    annotations: tuple[tuple[str, int], ...]
    width: int  # columns in a row
    pk_position: int  # the model's primary key in a row: null when a join found no row


class CompiledQuery(Generic[M]):
    """``queryset.filter(<name>=<value>, ...)`` compiled once per process and database.

    ``names`` are lookup paths from the queryset's model compared with ``=`` (a foreign key
    takes the related primary key). Values are prepared by the field exactly as the ORM
    prepares them.

        TOKEN = CompiledQuery(ApiToken.objects.select_related("user"), "key_hash")
        token = TOKEN.first(key_hash=digest)
    """

    def __init__(self, queryset: QuerySet[M], *names: str, prepared: bool = False) -> None:
        self._queryset = queryset
        self._names = names
        self._prepared = prepared  # a prepared statement on PostgreSQL (``prepared_cursor``)
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, using: str) -> _Plan:
        plan = self._plans.get(using)
        if plan is not None:
            return plan
        with self._lock:
            compiler, binding = _compile(self._queryset, self._names, using)
            select, klass_info = compiler.select, compiler.klass_info
            assert klass_info is not None
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            init_list = tuple(f[0].target.attname for f in select[start:end])
            plan = _Plan(
                binding=binding,
                model=klass_info["model"],
                init_list=init_list,
                fields_start=start,
                fields_end=end,
                converters=_converters_of(compiler),
                populators=tuple(get_related_populators(klass_info, select, using)),
                annotations=tuple((compiler.annotation_col_map or {}).items()),
                width=len(select),
                pk_position=start + init_list.index(klass_info["model"]._meta.pk.attname),
            )
            self._plans[using] = plan
            return plan

    def all(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[M]:
        plan = self._plan(using)
        connection = connections[using]
        with prepared_cursor(connection) if self._prepared else connection.cursor() as cursor:
            cursor.execute(plan.binding.sql, plan.binding.bind(values, connection))
            rows = cursor.fetchall()
        return [self._instance(raw, plan, connection) for raw in rows]

    @staticmethod
    def _instance(raw: Any, plan: _Plan, connection: Any) -> M:
        row = _converted(raw, plan.converters, connection)
        obj = _loaded(plan.model, connection.alias, plan.init_list, row[plan.fields_start : plan.fields_end])
        for populator in plan.populators:
            _populate(populator, row, obj)
        for attribute, position in plan.annotations:
            setattr(obj, attribute, row[position])
        return obj  # type: ignore[return-value]

    def first(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> M | None:
        """The first row (meant for unique lookups: add no ordering or slicing to the queryset)."""
        found = self.all(using=using, **values)
        return found[0] if found else None


def _loaded(model: type[M], using: str, attnames: Any, values: Any) -> M:
    """``model.from_db(using, attnames, values)``. ``from_db`` calls ``Model.__init__``, which
    only stores each value (through a field's descriptor) and sends ``pre_init`` and
    ``post_init``; for a model whose instance would get exactly the values in its ``__dict__``
    and no receiver of those signals, the values are stored directly: a fifth of the CPU, and
    the booking's read makes seven instances (ADR 0006, session 20)."""
    if not _stores_plainly(model, tuple(attnames)) or _has_init_receivers(model):
        return model.from_db(using, attnames, values)
    obj = model.__new__(model)
    obj.__dict__.update(zip(attnames, values, strict=True))
    state = obj._state = ModelState()
    state.adding = False
    state.db = using
    return obj


def _has_init_receivers(model: type[models.Model]) -> bool:
    # Most processes have no init receiver at all: two list checks instead of four look-ups.
    if not signals.pre_init.receivers and not signals.post_init.receivers:
        return False
    return signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)


def new_instance(model: type[M], values: dict[str, Any]) -> M:
    """``model(**values)``, a new instance, for values by attribute name (a foreign key by its
    ``_id``); a field left out gets its default. Stored straight into the instance's
    ``__dict__`` where ``Model.__init__`` would only store them (as ``_loaded``): a new
    appointment on every booking."""
    attnames = _init_attnames(model)
    if not _stores_plainly(model, attnames) or _has_init_receivers(model):
        return model(**values)
    unknown = values.keys() - attnames
    if unknown:
        raise TypeError(f"{model.__name__}() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    obj = model.__new__(model)
    stored = obj.__dict__
    for attname, field in zip(attnames, _init_fields(model), strict=True):
        stored[attname] = values[attname] if attname in values else field.get_default()
    obj._state = ModelState()
    return obj


@functools.cache
def _init_fields(model: type[models.Model]) -> tuple[models.Field[Any, Any], ...]:
    """The fields ``Model.__init__`` sets, in its order."""
    return tuple(f for f in model._meta.concrete_fields if f.column is not None and not f.generated)


@functools.cache
def _init_attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in _init_fields(model))


@functools.cache
def _stores_plainly(model: type[models.Model], attnames: tuple[str, ...]) -> bool:
    """Whether ``Model.__init__`` would store each of these values as it is in the instance's
    ``__dict__``: the model keeps Django's ``from_db`` and ``__init__``, and no attribute has a
    descriptor that does more on assignment (a foreign key's id only drops a cached related
    object, and a new instance has none)."""
    if model.from_db.__func__ is not models.Model.from_db.__func__ or model.__init__ is not models.Model.__init__:  # type: ignore[attr-defined]
        return False
    for attname in attnames:
        descriptor = next((vars(klass)[attname] for klass in model.__mro__ if attname in vars(klass)), None)
        if hasattr(type(descriptor), "__set__") and type(descriptor) is not ForeignKeyDeferredAttribute:
            return False
    return True


def _populate(populator: Any, row: Any, from_obj: models.Model) -> None:
    """Django's ``RelatedPopulator.populate`` (a ``select_related`` object from its columns of
    the row, cached on the object it was read with and back), its instances made by ``_loaded``."""
    if populator.reorder_for_init:
        obj_data = populator.reorder_for_init(row)
    else:
        obj_data = row[populator.cols_start : populator.cols_end]
    if obj_data[populator.pk_idx] is None:
        obj = None
    else:
        obj = _loaded(populator.model_cls, populator.db, populator.init_list, obj_data)
        for related in populator.related_populators:
            _populate(related, row, obj)
    populator.local_setter(from_obj, obj)
    if obj is not None:
        populator.remote_setter(obj, from_obj)


Lookup = tuple[CompiledQuery[Any], dict[str, Any]]
_joined_sql: dict[tuple[tuple[int, ...], str], str] = {}


def first_of_each(*lookups: Lookup, using: str = DEFAULT_DB_ALIAS) -> list[Any]:
    """``query.first(**values)`` for each ``(query, values)``, in one statement: one round trip to
    the database instead of one each (the booking request reads its token and its slot so).
    Each lookup must be unique (at most one row); a lookup that finds nothing gives ``None``.
    Prepared when every query is."""
    plans = [query._plan(using) for query, _values in lookups]
    connection = connections[using]
    params = [
        p for (_query, values), plan in zip(lookups, plans, strict=True) for p in plan.binding.bind(values, connection)
    ]
    prepared = all(query._prepared for query, _values in lookups)
    with prepared_cursor(connection) if prepared else connection.cursor() as cursor:
        cursor.execute(_joined(plans, using), params)
        rows = cursor.fetchall()
    if len(rows) != 1 or len(rows[0]) != sum(plan.width for plan in plans):
        raise ImproperlyConfigured("first_of_each: each lookup must be unique")
    found: list[Any] = []
    start = 0
    for plan in plans:
        part = rows[0][start : start + plan.width]
        start += plan.width
        found.append(None if part[plan.pk_position] is None else CompiledQuery._instance(part, plan, connection))
    return found


def _joined(plans: list[_Plan], using: str) -> str:
    """Each query as a derived table left-joined to one row: always exactly one row back, with
    nulls where a query found nothing. Written once per process and combination."""
    key = (tuple(id(plan) for plan in plans), using)
    sql = _joined_sql.get(key)
    if sql is None:
        names = [f'"q{i}"' for i in range(len(plans))]
        parts = " ".join(
            f"LEFT JOIN ({plan.binding.sql}) AS {name} ON 1 = 1" for plan, name in zip(plans, names, strict=True)
        )
        sql = _joined_sql[key] = f'SELECT {", ".join(f"{name}.*" for name in names)} FROM (SELECT 1) AS "one" {parts}'  # noqa: S608
    return sql


class CompiledValues:
    """``queryset.filter(<name>=<value>, ...)`` of a ``.values(...)`` queryset, compiled once per
    process and database: the same dicts the queryset gives, without building model instances
    (for a list read by everyone at once).

        SLOTS = CompiledValues(Slot.objects.values("public_id", "booked"), "session__date")
        rows = SLOTS.all(session__date=day)
    """

    def __init__(self, queryset: QuerySet[Any], *names: str, prepared: bool = False) -> None:
        assert queryset._fields, "CompiledValues takes a .values(...) queryset naming its fields"  # type: ignore[attr-defined]
        self._queryset = queryset
        self._names = names
        self._prepared = prepared  # a prepared statement on PostgreSQL (``prepared_cursor``)
        self._fields: tuple[str, ...] = tuple(queryset._fields)  # type: ignore[attr-defined]
        self._plans: dict[str, tuple[_Binding, tuple[tuple[int, tuple[Any, ...], Any], ...]]] = {}
        self._lock = threading.Lock()

    def _plan(self, using: str) -> tuple[_Binding, tuple[tuple[int, tuple[Any, ...], Any], ...]]:
        plan = self._plans.get(using)
        if plan is None:
            with self._lock:
                compiler, binding = _compile(self._queryset, self._names, using)
                if compiler.col_count != len(self._fields):
                    raise ImproperlyConfigured("CompiledValues: the queryset selects more than its fields")
                positions = compiler.annotation_col_map or {}
                if any(positions.get(name, i) != i for i, name in enumerate(self._fields)):
                    raise ImproperlyConfigured("CompiledValues: the columns are not in the fields' order")
                plan = self._plans[using] = (binding, _converters_of(compiler))
        return plan

    def all(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[dict[str, Any]]:
        binding, converters = self._plan(using)
        connection = connections[using]
        with prepared_cursor(connection) if self._prepared else connection.cursor() as cursor:
            cursor.execute(binding.sql, binding.bind(values, connection))
            rows = cursor.fetchall()
        fields = self._fields
        if not converters:
            return [dict(zip(fields, row, strict=True)) for row in rows]
        return [dict(zip(fields, _converted(row, converters, connection), strict=True)) for row in rows]


@dataclass(frozen=True)
class _InsertPlan:
    sql: str
    fields: tuple[models.Field[Any, Any], ...]
    returning: tuple[models.Field[Any, Any], ...]


_insert_plans: dict[tuple[type[models.Model], str], _InsertPlan] = {}


def _insert_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The fields an INSERT of a new instance names: all but generated ones and the auto key."""
    meta = model._meta
    return [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]


def _insert_plan(obj: models.Model, using: str) -> _InsertPlan:
    key = (type(obj), using)
    plan = _insert_plans.get(key)
    if plan is None:
        meta = obj._meta
        fields = _insert_fields(type(obj))
        returning = list(meta.db_returning_fields)
        query = InsertQuery(type(obj))
        query.insert_values(fields, [obj])
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = returning
        [(sql, _params)] = compiler.as_sql()
        plan = _InsertPlan(sql=sql, fields=tuple(fields), returning=tuple(returning))
        _insert_plans[key] = plan
    return plan


def insert_instance(obj: M, *, using: str = DEFAULT_DB_ALIAS, bypass_save_override: bool = False) -> M:
    """Insert a new instance (auto primary key unset) as ``obj.save()`` would; returns it saved.

    A model that overrides ``save()`` is saved with it, unless the caller knows the override
    has nothing to do for a new row (``bypass_save_override``)."""
    model = type(obj)
    meta = obj._meta
    if (
        obj.pk is not None
        or (model.save is not models.Model.save and not bypass_save_override)
        or meta.auto_field is None
        or signals.pre_save.has_listeners(model)
        or signals.post_save.has_listeners(model)
        or not connections[using].features.can_return_columns_from_insert
        or any(getattr(f, "get_placeholder", None) for f in meta.local_concrete_fields)
    ):
        obj.save(force_insert=True, using=using)
        return obj
    obj._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    plan = _insert_plan(obj, using)
    connection = connections[using]
    values = [field.pre_save(obj, True) for field in plan.fields]
    if any(hasattr(value, "resolve_expression") for value in values):
        obj.save(force_insert=True, using=using)
        return obj
    params = [
        field.get_db_prep_save(value, connection=connection) for field, value in zip(plan.fields, values, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        row = cursor.fetchone()
    for field, value in zip(plan.returning, row, strict=True):
        setattr(obj, field.attname, value)
    obj._state.adding = False
    obj._state.db = using
    return obj


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()  # full precision (DjangoJSONEncoder cuts microseconds)
    if isinstance(value, uuid.UUID | Decimal | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    raise TypeError(f"no JSON form for {type(value).__name__}")


# Django's own field types whose ``get_db_prep_save`` gives back a value of these exact types
# unchanged (``None`` too): a row skips that call for them, the hottest part of building it.
_UNCHANGED_WHEN: dict[type[models.Field[Any, Any]], tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.SlugField: (str,),
    models.BooleanField: (bool,),
    models.IntegerField: (int,),
    models.BigIntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.PositiveBigIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.DateField: (dt.date,),
    models.ForeignKey: (int,),
    models.OneToOneField: (int,),
}


_INTEGER_KEYS = (models.AutoField, models.BigAutoField, models.SmallAutoField, models.BigIntegerField)


@dataclass(frozen=True)
class _RowColumn:
    field: models.Field[Any, Any]
    column: str
    unchanged: tuple[type, ...]  # value types sent as they are (None among them); others are prepared
    is_json: bool
    stamped: bool  # auto_now or auto_now_add: ``pre_save`` of a new instance sets the current time


_row_plans: dict[tuple[type[models.Model], str], tuple[_RowColumn, ...]] = {}


def _row_plan(model: type[models.Model], using: str) -> tuple[_RowColumn, ...]:
    key = (model, using)
    plan = _row_plans.get(key)
    if plan is None:
        connection = connections[using]
        columns = []
        for field in _insert_fields(model):
            unchanged = _UNCHANGED_WHEN.get(type(field), ())
            if isinstance(field, models.ForeignKey) and type(field.target_field) not in _INTEGER_KEYS:
                unchanged = ()
            if type(field) is models.DateTimeField and connection.vendor == "postgresql":
                unchanged = (dt.datetime,)  # adapt_datetimefield_value: as it is (aware)
            if type(field) is models.UUIDField and connection.features.has_native_uuid_field:
                unchanged = (uuid.UUID,)
            if unchanged:  # a field of another type may turn None into something else
                unchanged = (*unchanged, type(None))
            stamped = bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
            columns.append(_RowColumn(field, field.column, unchanged, isinstance(field, models.JSONField), stamped))
        plan = _row_plans[key] = tuple(columns)
    return plan


def instance_row_json(obj: models.Model, *, connection: Any = None) -> str:
    """A new instance's row as a JSON object of column → value, prepared exactly as
    ``insert_instance`` prepares its parameters (``pre_save`` stamps included, the auto primary
    key left out): for a database function that inserts it with ``jsonb_populate_record``.
    For ``connection`` (a ``DatabaseWrapper``), by default this thread's default database:
    the caller that has it saves a look-up of the thread's connection (a booking writes four
    rows)."""
    obj._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    if connection is None:
        connection = connections[DEFAULT_DB_ALIAS]
    row = {
        column.column: _row_value(column, column.field.pre_save(obj, True), connection)
        for column in _row_plan(type(obj), connection.alias)
    }
    return fastjson.text(row, default=_json_default)


def values_row_json(model: type[models.Model], values: dict[str, Any], *, connection: Any = None) -> str:
    """``instance_row_json(model(**values))`` without building the instance, for a row that a
    statement inserts and nothing reads back (the booking's audit entry, event and stored
    answer). ``values`` are plain values by attribute name (a foreign key by its ``_id``); a
    field left out gets its default, and an ``auto_now``/``auto_now_add`` field the time."""
    if connection is None:
        connection = connections[DEFAULT_DB_ALIAS]
    plan = _row_plan(model, connection.alias)
    unknown = values.keys() - _attnames_of(model, connection.alias)
    if unknown:
        raise TypeError(f"{model.__name__} has no field {sorted(unknown)[0]!r}")
    row: dict[str, Any] = {}
    for column in plan:
        field = column.field
        if column.stamped:
            value = _stamp_of(field)
        elif field.attname in values:
            value = values[field.attname]
        else:
            value = field.get_default()
        row[column.column] = _row_value(column, value, connection)
    return fastjson.text(row, default=_json_default)


@functools.cache
def _attnames_of(model: type[models.Model], using: str) -> frozenset[str]:
    return frozenset(column.field.attname for column in _row_plan(model, using))


def _stamp_of(field: models.Field[Any, Any]) -> dt.datetime:
    """What ``pre_save`` of an ``auto_now``/``auto_now_add`` field sets on a new instance."""
    if not isinstance(field, models.DateTimeField):  # a date's or a time's stamp is server-local
        raise ImproperlyConfigured(f"values_row_json: no stamp for {type(field).__name__} {field.name}")
    return timezone.now()


def _row_value(column: _RowColumn, value: Any, connection: Any) -> Any:
    if type(value) in column.unchanged:
        return value
    if column.is_json:
        return column.field.get_prep_value(value)
    return _prepared_for_row(column.field, value, connection)


def _prepared_for_row(field: models.Field[Any, Any], value: Any, connection: Any) -> Any:
    prepared = field.get_db_prep_save(value, connection=connection)
    if isinstance(prepared, bytes | memoryview):
        raise TypeError(f"{field} is binary: not supported in a JSON row")
    return prepared


def mark_inserted(obj: models.Model, pk: int, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """``obj`` was inserted (by ``instance_row_json``'s consumer) with primary key ``pk``."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = using
