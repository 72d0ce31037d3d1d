import os
import sys

import django
from django.conf import settings

# Django's synchronous code runs in a worker thread while the event loop reads requests and
# answers the shed ones: let the loop have the GIL back within 1 ms instead of 5 ms.
sys.setswitchinterval(0.001)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)  # as get_asgi_application() does

from smartclinic.booking.booking_request import BOOK_PATH  # noqa: E402 - after Django is set up
from smartclinic.booking.fastpath import BookingFastPath, BookingJudge  # noqa: E402
from smartclinic.booking.slot_marks import slot_list_refiner  # noqa: E402
from smartclinic.core.admission import AdmissionASGIMiddleware, places_per_process  # noqa: E402
from smartclinic.core.asgi_handler import KeptThreadsASGIHandler  # noqa: E402
from smartclinic.core.heap import QuietTimeCollector, freeze_startup_heap  # noqa: E402
from smartclinic.core.microcache import MicroCache  # noqa: E402
from smartclinic.identity.token_use import process_stamps  # noqa: E402

# Django's ASGIHandler, keeping its request threads instead of starting two per request.
django_application = KeptThreadsASGIHandler()

# Outside in: the micro-cache answers repeated public lists (MICROCACHE_*); load shedding with a
# waiting room for the rush endpoints, in the event loop (ADMISSION_*), where, while slots sell
# out, a booking that can still succeed may wait for a place (ADMISSION_HOPEFUL_*); the booking
# request's fast path (BOOKING_FAST_PATH); then Django.
_slot_list_refiner = slot_list_refiner()
application = MicroCache(
    AdmissionASGIMiddleware(BookingFastPath(django_application), judges={BOOK_PATH: BookingJudge()}),
    refiners={"/api/v1/slots": _slot_list_refiner} if _slot_list_refiner is not None else None,
)

# Threads a worker needs, started now rather than by its first requests (a thread's start holds
# whoever starts it until the new thread runs: at a rush's release, tens of milliseconds of a
# loop or a booking thread; ADR 0006, session 24): the request threads for as many Django
# requests as the rush paths let in at once, and the writer of tokens' last-use stamps.
django_application.start_threads(places_per_process() + settings.MICROCACHE_MAX_REFRESHING)
process_stamps().start()

# What start-up loaded lives as long as the worker: out of the collector's full passes; and
# those passes over what the worker builds as it serves wait for a quiet moment.
freeze_startup_heap()
QuietTimeCollector().start()
