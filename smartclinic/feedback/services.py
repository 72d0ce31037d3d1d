"""Writes of the feedback context: the patient's evaluation, the doctor's reply, complaints."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction

from smartclinic.audit.services import audit_record
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.errors import InvalidInput
from smartclinic.feedback.choices import COMPLAINT_MAX_SCORE, DIMENSIONS, TAGS, ComplaintReason, ComplaintStatus
from smartclinic.feedback.errors import (
    AlreadyReplied,
    AlreadySubmitted,
    NotFinished,
    NothingToReply,
    NotYourEvaluation,
    WindowClosed,
)
from smartclinic.feedback.events import ComplaintOpened, EvaluationSubmitted
from smartclinic.feedback.models import ComplaintCase, ComplaintNote, Evaluation
from smartclinic.outbox.services import outbox_publish
from smartclinic.scheduling.services import doctor_rating_add
from smartclinic.visits.choices import EncounterStatus
from smartclinic.visits.models import Encounter


@dataclass(frozen=True)
class Ratings:
    overall: int
    attitude: int
    explanation: int
    skill: int
    waiting: int
    environment: int
    process: int
    comment: str = ""
    tags: list[str] = field(default_factory=list)
    anonymous: bool = False
    flagged_as_complaint: bool = False

    def validate(self) -> None:
        bad = [name for name in ("overall", *DIMENSIONS) if not 1 <= getattr(self, name) <= 5]
        unknown = [tag for tag in self.tags if tag not in TAGS]
        if bad or unknown or len(self.comment) > 1000:
            raise InvalidInput(fields=bad, unknown_tags=unknown)


def evaluation_window() -> dt.timedelta:
    return dt.timedelta(days=settings.FEEDBACK_WINDOW_DAYS)


def _check_can_rate(encounter: Encounter, now: dt.datetime) -> None:
    if encounter.status != EncounterStatus.CLOSED or encounter.finished_at is None:
        raise NotFinished()
    if now > encounter.finished_at + evaluation_window():
        raise WindowClosed(
            WindowClosed.message % {"days": settings.FEEDBACK_WINDOW_DAYS}, days=settings.FEEDBACK_WINDOW_DAYS
        )


def evaluation_submit(*, actor: Actor, encounter: Encounter, ratings: Ratings) -> Evaluation:
    """Rate one's own finished visit, once, within the window. A low overall rating, or a
    comment the patient flags as a complaint, opens a complaint case for the managers."""
    ratings.validate()
    now = clock.now()
    _check_can_rate(encounter, now)
    try:
        with transaction.atomic():
            evaluation = Evaluation.objects.create(
                encounter=encounter,
                member_id=encounter.member_id,
                doctor_id=encounter.doctor_id,
                department_id=encounter.department_id,
                overall=ratings.overall,
                attitude=ratings.attitude,
                explanation=ratings.explanation,
                skill=ratings.skill,
                waiting=ratings.waiting,
                environment=ratings.environment,
                process=ratings.process,
                comment=ratings.comment.strip(),
                tags=sorted(set(ratings.tags)),
                anonymous=ratings.anonymous,
                flagged_as_complaint=ratings.flagged_as_complaint,
            )
            doctor_rating_add(doctor=encounter.doctor, score=ratings.overall)
            audit_record(
                actor=actor,
                action="feedback.evaluation_submitted",
                subject=evaluation,
                new={"overall": ratings.overall, "anonymous": ratings.anonymous},
            )
            outbox_publish(
                EvaluationSubmitted(
                    evaluation_id=evaluation.public_id,
                    encounter_id=encounter.public_id,
                    doctor_id=encounter.doctor.public_id,
                    overall=ratings.overall,
                )
            )
            _open_complaint_if_needed(actor=actor, evaluation=evaluation)
    except IntegrityError as exc:
        raise AlreadySubmitted() from exc
    return evaluation


def _open_complaint_if_needed(*, actor: Actor, evaluation: Evaluation) -> None:
    if evaluation.flagged_as_complaint and evaluation.comment:
        reason = ComplaintReason.FLAGGED
    elif evaluation.overall <= COMPLAINT_MAX_SCORE:
        reason = ComplaintReason.LOW_RATING
    else:
        return
    case = ComplaintCase.objects.create(evaluation=evaluation, reason=reason)
    audit_record(actor=actor, action="feedback.complaint_opened", subject=case, new={"reason": reason})
    outbox_publish(ComplaintOpened(case_id=case.public_id, evaluation_id=evaluation.public_id, reason=reason))


@transaction.atomic
def evaluation_reply(*, actor: Actor, evaluation: Evaluation, text: str) -> Evaluation:
    """The doctor who was rated answers the comment, once."""
    doctor = evaluation.doctor
    if actor.user is None or doctor.user_id != actor.user.pk:
        raise NotYourEvaluation()
    if not evaluation.comment:
        raise NothingToReply()
    text = text.strip()
    if not text or len(text) > 1000:
        raise InvalidInput(fields=["text"])
    updated = Evaluation.objects.filter(pk=evaluation.pk, replied_at__isnull=True).update(
        doctor_reply=text, replied_at=clock.now(), updated_at=clock.now()
    )
    if not updated:
        raise AlreadyReplied()
    audit_record(actor=actor, action="feedback.doctor_replied", subject=evaluation, new={"reply_length": len(text)})
    evaluation.refresh_from_db()
    return evaluation


@transaction.atomic
def complaint_follow_up(*, actor: Actor, case: ComplaintCase, text: str, status: str) -> ComplaintNote:
    """A manager records what was done; the case moves to ``status``."""
    if status not in ComplaintStatus.values or not text.strip() or actor.user is None:
        raise InvalidInput(fields=["text", "status"])
    case = ComplaintCase.objects.select_for_update().get(pk=case.pk)
    old_status = case.status
    note = ComplaintNote.objects.create(case=case, author=actor.user, text=text.strip()[:2000], status_after=status)
    now = clock.now()
    ComplaintCase.objects.filter(pk=case.pk).update(
        status=status,
        handled_by=actor.user,
        resolved_at=now if status == ComplaintStatus.RESOLVED else None,
        updated_at=now,
    )
    audit_record(
        actor=actor,
        action="feedback.complaint_followed_up",
        subject=case,
        old={"status": old_status},
        new={"status": status},
    )
    return note
