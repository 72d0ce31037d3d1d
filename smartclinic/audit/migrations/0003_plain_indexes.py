"""Plain indexes on ``action`` and ``subject_id`` (``db_index=True`` on a CharField also made a
LIKE index on PostgreSQL, one more to update on every write and never used).

SQLite rebuilds the table to alter a column, which drops its triggers: the append-only trigger
of migration 0002 is made again afterwards.
"""

from django.db import migrations, models

from smartclinic.audit.migrations import _append_only


def sqlite_trigger_again(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(_append_only.SQLITE_BACKWARD)
        schema_editor.execute(_append_only.SQLITE_FORWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(max_length=100, verbose_name="action"),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="subject_id",
            field=models.CharField(max_length=64, verbose_name="subject id"),
        ),
        migrations.AddIndex(model_name="auditentry", index=models.Index(fields=["action"], name="audit_action")),
        migrations.AddIndex(
            model_name="auditentry", index=models.Index(fields=["subject_id"], name="audit_subject_id")
        ),
        migrations.RunPython(sqlite_trigger_again, migrations.RunPython.noop),
    ]
