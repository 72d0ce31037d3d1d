"""The worker's side of the outbox: claim due messages, run their handlers, retry with backoff.

Claiming is a lease: a claimed message is invisible to other workers until ``locked_until``. A
worker that dies mid-delivery loses nothing; the lease runs out and another worker picks it up.
Each handler's effect is committed together with its ``HandlerDelivery`` row, so a message that
is delivered again skips the handlers that already ran.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import traceback
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from smartclinic.core import clock
from smartclinic.outbox.choices import MessageStatus
from smartclinic.outbox.models import HandlerDelivery, OutboxMessage
from smartclinic.outbox.registry import Handler, handlers_for

logger = logging.getLogger(__name__)


@dataclass
class DispatchReport:
    delivered: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def handled(self) -> int:
        return self.delivered + self.retried + self.dead


def backoff(attempts: int) -> dt.timedelta:
    """Exponential backoff with jitter, capped at one hour."""
    base = settings.OUTBOX_BACKOFF_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=min(base, 3600) * random.uniform(0.8, 1.2))  # noqa: S311


def claim_batch(*, limit: int = 50) -> list[OutboxMessage]:
    now = clock.now()
    lease_until = now + dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        due = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.PENDING, available_at__lte=now)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        ids = list(due)
        if not ids:
            return []
        OutboxMessage.objects.filter(id__in=ids).update(locked_until=lease_until, attempts=F("attempts") + 1)
    return list(OutboxMessage.objects.filter(id__in=ids).order_by("id"))


def _run_handler(message: OutboxMessage, handler: Handler) -> None:
    try:
        with transaction.atomic():
            handler.func(message.payload)
            HandlerDelivery.objects.create(message=message, handler=handler.key)
    except IntegrityError:
        # Another worker (after our lease ran out) committed this handler first: its effect stands.
        if not HandlerDelivery.objects.filter(message=message, handler=handler.key).exists():
            raise


def deliver(message: OutboxMessage, report: DispatchReport) -> None:
    done = set(HandlerDelivery.objects.filter(message=message).values_list("handler", flat=True))
    try:
        for handler in handlers_for(message.name):
            if handler.key not in done:
                _run_handler(message, handler)
    except Exception as exc:  # noqa: BLE001 - any handler failure is retried, never lost
        _record_failure(message, exc, report)
        return
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.DONE, delivered_at=clock.now(), locked_until=None, last_error=""
    )
    report.delivered += 1


def _record_failure(message: OutboxMessage, exc: Exception, report: DispatchReport) -> None:
    error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
    if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        logger.error(
            "outbox message %s (%s) is dead after %d attempts: %s",
            message.event_id,
            message.name,
            message.attempts,
            error,
        )
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=MessageStatus.DEAD, locked_until=None, last_error=error
        )
        report.dead += 1
        return
    logger.warning(
        "outbox message %s (%s) failed, attempt %d: %s", message.event_id, message.name, message.attempts, error
    )
    OutboxMessage.objects.filter(pk=message.pk).update(
        available_at=clock.now() + backoff(message.attempts), locked_until=None, last_error=error
    )
    report.retried += 1


def dispatch_once(*, limit: int = 50) -> DispatchReport:
    report = DispatchReport()
    for message in claim_batch(limit=limit):
        deliver(message, report)
    return report


def dispatch_until_idle(*, limit: int = 50, max_rounds: int = 100) -> DispatchReport:
    """Deliver everything due now (tests, and the worker's catch-up after a pause)."""
    total = DispatchReport()
    for _ in range(max_rounds):
        report = dispatch_once(limit=limit)
        if report.handled == 0:
            break
        total.delivered += report.delivered
        total.retried += report.retried
        total.dead += report.dead
    return total
