"""Load the clinic's ICD-10 table (data/icd10_campus.csv, see docs/icd10.md)."""

from django.db import migrations


def load(apps, schema_editor):
    from smartclinic.visits.reference_data import icd10_load

    icd10_load(apps.get_model("visits", "Icd10Code"))


def unload(apps, schema_editor):
    apps.get_model("visits", "Icd10Code").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
