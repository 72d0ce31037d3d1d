"""Sending pending deliveries: claim, call the provider, record the outcome.

- **Claim** one row at a time with a conditional UPDATE (pending, due, not leased → leased to a
  fresh ``claim_token``, attempts + 1). Two workers can never both claim a row: on PostgreSQL the
  second UPDATE waits for the first and then no longer matches; on SQLite writes are serialized.
- **Send** outside any transaction (no row lock is held while a provider is slow).
- **Mark** sent with a second conditional UPDATE that only the claimant's token matches, so a
  delivery becomes ``sent`` exactly once.
- **Fail**: a temporary failure schedules the next attempt with exponential backoff and jitter
  (per channel, ``NOTIFICATIONS_RETRY``) until the channel's maximum, then ``failed`` (staff can send
  it again); a permanent one (unsubscribed, no address) marks it ``skipped``. A provider that is
  down pauses its whole channel (a small circuit breaker in the cache) so an outage costs one probe
  per pause instead of an attempt of every waiting delivery, and the others lose nothing.

The edge: a worker that dies between the provider's answer and the mark leaves the row pending;
once its lease runs out another worker sends it again. That resend carries the same idempotency
key (WeChat ``client_msg_id``, the e-mail ``Message-ID``, the SMS provider's key), which WeChat
honours for ten minutes (longer than the lease) and mail clients use to drop the copy.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import F, Q

from smartclinic.core import clock
from smartclinic.notifications import conf
from smartclinic.notifications.channels import (
    PermanentFailure,
    Sender,
    SendReceipt,
    TemporaryFailure,
    senders_from_settings,
)
from smartclinic.notifications.choices import DeliveryStatus
from smartclinic.notifications.models import Delivery
from smartclinic.notifications.selectors import preference_for

logger = logging.getLogger(__name__)

CIRCUIT_MAX_SECONDS = 600
_CIRCUIT_KEY = "notifications:circuit:{channel}"


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    paused: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.skipped

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.skipped += other.skipped
        self.paused = sorted(set(self.paused) | set(other.paused))


def backoff(*, channel: str, attempts: int) -> dt.timedelta:
    """Exponential in the attempts made, capped per channel, with ±20 % jitter so deliveries that
    failed together do not come back together."""
    policy = conf.retry_policy(channel)
    seconds = min(policy.base_seconds * (2 ** max(attempts - 1, 0)), policy.max_seconds)
    return dt.timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not security


# --- circuit breaker --------------------------------------------------------------------------
def channel_paused_until(channel: str) -> dt.datetime | None:
    state = cache.get(_CIRCUIT_KEY.format(channel=channel))
    if not state:
        return None
    return dt.datetime.fromtimestamp(float(state["until"]), tz=dt.UTC)


def _pause_channel(channel: str, now: dt.datetime) -> dt.datetime:
    key = _CIRCUIT_KEY.format(channel=channel)
    failures = int((cache.get(key) or {}).get("failures", 0)) + 1
    pause = min(backoff(channel=channel, attempts=failures), dt.timedelta(seconds=CIRCUIT_MAX_SECONDS))
    until = now + pause
    cache.set(key, {"failures": failures, "until": until.timestamp()}, timeout=24 * 3600)
    logger.warning("channel %s paused until %s after %d failure(s) in a row", channel, until.isoformat(), failures)
    return until


def _resume_channel(channel: str) -> None:
    cache.delete(_CIRCUIT_KEY.format(channel=channel))


# --- claim and record -------------------------------------------------------------------------
def _claimable(now: dt.datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) & (
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )


def due_delivery_ids(*, channel: str, now: dt.datetime, limit: int) -> list[int]:
    return list(
        Delivery.objects.filter(_claimable(now), channel=channel)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def delivery_claim(*, pk: int, now: dt.datetime) -> tuple[Delivery, uuid.UUID] | None:
    """Lease one delivery to this worker, or None when another worker has it (or it is done)."""
    token = uuid.uuid4()
    claimed = Delivery.objects.filter(_claimable(now), pk=pk).update(
        locked_until=now + dt.timedelta(seconds=conf.lease_seconds()),
        claim_token=token,
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        updated_at=now,
    )
    if claimed != 1:
        return None
    delivery = Delivery.objects.select_related("message", "message__recipient").get(pk=pk)
    return delivery, token


def _mine(delivery: Delivery, token: uuid.UUID) -> Q:
    return Q(pk=delivery.pk, claim_token=token, status=DeliveryStatus.PENDING)


def _mark_sent(delivery: Delivery, token: uuid.UUID, receipt: SendReceipt) -> bool:
    now = clock.now()
    marked = Delivery.objects.filter(_mine(delivery, token)).update(
        status=DeliveryStatus.SENT,
        sent_at=now,
        provider_message_id=receipt.provider_message_id[:100],
        address=receipt.address[:200],
        locked_until=None,
        last_error="",
        updated_at=now,
    )
    if not marked:
        logger.error(
            "delivery %s was sent but its claim had been taken over; the provider's idempotency key "
            "(%s) bounds the duplicate",
            delivery.public_id,
            delivery.public_id.hex,
        )
    return bool(marked)


def _mark_skipped(delivery: Delivery, token: uuid.UUID, reason: str) -> None:
    now = clock.now()
    Delivery.objects.filter(_mine(delivery, token)).update(
        status=DeliveryStatus.SKIPPED, locked_until=None, last_error=reason[:2000], updated_at=now
    )
    logger.info("delivery %s (%s) skipped: %s", delivery.public_id, delivery.channel, reason)


def _retry_or_fail(delivery: Delivery, token: uuid.UUID, reason: str) -> bool:
    """Schedule the next attempt, or give up after the channel's maximum. True when it failed."""
    now = clock.now()
    policy = conf.retry_policy(delivery.channel)
    if delivery.attempts >= policy.max_attempts:
        Delivery.objects.filter(_mine(delivery, token)).update(
            status=DeliveryStatus.FAILED, locked_until=None, last_error=reason[:2000], updated_at=now
        )
        logger.error(
            "delivery %s (%s) failed after %d attempts: %s",
            delivery.public_id,
            delivery.channel,
            delivery.attempts,
            reason,
        )
        return True
    Delivery.objects.filter(_mine(delivery, token)).update(
        next_attempt_at=now + backoff(channel=delivery.channel, attempts=delivery.attempts),
        locked_until=None,
        last_error=reason[:2000],
        updated_at=now,
    )
    logger.warning(
        "delivery %s (%s) attempt %d failed: %s", delivery.public_id, delivery.channel, delivery.attempts, reason
    )
    return False


def _attempt(sender: Sender, delivery: Delivery, token: uuid.UUID, report: SendReport) -> bool:
    """Send one claimed delivery. False when the channel is down (stop sending on it)."""
    if not preference_for(user=delivery.message.recipient).channel_enabled(delivery.channel):
        _mark_skipped(delivery, token, "the person turned this channel off")
        report.skipped += 1
        return True
    try:
        receipt = sender.send(delivery=delivery, message=delivery.message)
    except PermanentFailure as exc:
        _mark_skipped(delivery, token, str(exc))
        report.skipped += 1
        _resume_channel(delivery.channel)  # the provider answered
        return True
    except TemporaryFailure as exc:
        if _retry_or_fail(delivery, token, str(exc)):
            report.failed += 1
        else:
            report.retried += 1
        if exc.channel_down:
            _pause_channel(delivery.channel, clock.now())
            return False
        return True
    except Exception as exc:  # an adapter's bug must not lose the delivery
        logger.exception("sender for %s raised unexpectedly", delivery.channel)
        if _retry_or_fail(delivery, token, f"{type(exc).__name__}: {exc}"):
            report.failed += 1
        else:
            report.retried += 1
        return True
    _mark_sent(delivery, token, receipt)
    report.sent += 1
    _resume_channel(delivery.channel)
    return True


def _send_channel(channel: str, sender: Sender, *, limit: int, report: SendReport) -> None:
    now = clock.now()
    paused_until = channel_paused_until(channel)
    if paused_until is not None and paused_until > now:
        report.paused.append(channel)
        return
    for pk in due_delivery_ids(channel=channel, now=now, limit=limit):
        claimed = delivery_claim(pk=pk, now=clock.now())
        if claimed is None:
            continue  # another worker has it
        delivery, token = claimed
        if not _attempt(sender, delivery, token, report):
            report.paused.append(channel)
            return


def deliveries_send_due(*, senders: Mapping[str, Sender] | None = None, limit: int | None = None) -> SendReport:
    """One round over every configured channel (the periodic job). ``senders`` replaces the
    configured ones (tests)."""
    report = SendReport()
    owned = senders is None
    active: Mapping[str, Sender] = senders_from_settings() if senders is None else senders
    try:
        for channel, sender in active.items():
            _send_channel(channel, sender, limit=limit or conf.send_batch(), report=report)
    finally:
        if owned:
            for sender in active.values():
                sender.close()
    return report


def deliveries_send_until_idle(*, senders: Mapping[str, Sender] | None = None, max_rounds: int = 50) -> SendReport:
    """Send everything due now (tests, demos)."""
    total = SendReport()
    for _ in range(max_rounds):
        report = deliveries_send_due(senders=senders)
        total.add(report)
        if report.handled == 0:
            break
    return total
