"""Load the clinic's price list (data/price_list_campus.csv; prices in fen)."""

from django.db import migrations


def load(apps, schema_editor):
    from smartclinic.visits.reference_data import price_list_load

    price_list_load(apps.get_model("visits", "PriceItem"))


def unload(apps, schema_editor):
    apps.get_model("visits", "PriceItem").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("visits", "0002_icd10_codes")]

    operations = [migrations.RunPython(load, unload)]
