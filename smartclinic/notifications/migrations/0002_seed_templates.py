"""Seed every kind of message's texts in Simplified Chinese and English (admin-editable after)."""

from django.db import migrations

from smartclinic.notifications.template_defaults import DEFAULT_TEMPLATES


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    for kind, variants in DEFAULT_TEMPLATES.items():
        for language, (title, body) in variants.items():
            MessageTemplate.objects.get_or_create(
                kind=str(kind), language=language, defaults={"title": title, "body": body}
            )


def unseed(apps, schema_editor):
    apps.get_model("notifications", "MessageTemplate").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
