import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from smartclinic.core.heap import freeze_startup_heap  # noqa: E402 - after Django is set up

# What start-up loaded lives as long as the worker: out of the collector's full passes.
freeze_startup_heap()
