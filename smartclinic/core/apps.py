from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "smartclinic.core"
    label = "core"
