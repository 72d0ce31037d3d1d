"""One place that says what time it is, so tests can freeze it (time-machine) and code stays aware."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()


def local_now() -> dt.datetime:
    return timezone.localtime(timezone.now())


def today() -> dt.date:
    return local_now().date()
