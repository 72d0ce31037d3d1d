"""The database itself refuses to change audit entries.

UPDATE is refused on both databases. DELETE is refused on PostgreSQL only: there, test
isolation uses TRUNCATE, which row triggers do not see; SQLite's test flush deletes rows, so on
SQLite deletion is refused by the model and its queryset instead.
"""

from django.db import migrations

from smartclinic.audit.migrations._append_only import (  # noqa: E402
    POSTGRES_BACKWARD,
    POSTGRES_FORWARD,
    SQLITE_BACKWARD,
    SQLITE_FORWARD,
)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
