from __future__ import annotations

import datetime as dt

import pytest

from smartclinic.audit.models import AuditEntry
from smartclinic.core.actor import Actor
from smartclinic.feedback.errors import AlreadyReplied, AlreadySubmitted, NotFinished, NotYourEvaluation, WindowClosed
from smartclinic.feedback.models import ComplaintCase, ComplaintNote, Evaluation
from smartclinic.feedback.services import Ratings, complaint_follow_up, evaluation_reply, evaluation_submit
from smartclinic.outbox.models import OutboxMessage
from smartclinic.scheduling.models import Doctor
from smartclinic.visits.choices import EncounterStatus

pytestmark = pytest.mark.django_db

GOOD = {"overall": 5, "attitude": 5, "explanation": 4, "skill": 5, "waiting": 3, "environment": 4, "process": 4}


def ratings(**overrides):
    return Ratings(**{**GOOD, **overrides})


def test_a_finished_visit_is_rated_once_and_updates_the_doctors_rating(finished_visit):
    user, encounter = finished_visit()

    evaluation = evaluation_submit(
        actor=Actor.of(user), encounter=encounter, ratings=ratings(comment="医生很耐心", tags=["patient"])
    )

    assert (evaluation.overall, evaluation.waiting, evaluation.tags) == (5, 3, ["patient"])
    doctor = Doctor.objects.get(pk=encounter.doctor_id)
    assert (doctor.rating_count, doctor.rating_total, doctor.rating) == (1, 5, 5.0)
    assert (
        AuditEntry.objects.filter(action="feedback.evaluation_submitted", subject_id=str(evaluation.public_id)).count()
        == 1
    )
    message = OutboxMessage.objects.get(name="feedback.evaluation_submitted")
    assert message.payload["overall"] == "5"
    assert not ComplaintCase.objects.exists()
    with pytest.raises(AlreadySubmitted):
        evaluation_submit(actor=Actor.of(user), encounter=encounter, ratings=ratings(overall=1))
    assert Evaluation.objects.count() == 1
    assert Doctor.objects.get(pk=encounter.doctor_id).rating_count == 1


def test_an_open_visit_cannot_be_rated(finished_visit):
    user, encounter = finished_visit(status=EncounterStatus.OPEN)
    with pytest.raises(NotFinished):
        evaluation_submit(actor=Actor.of(user), encounter=encounter, ratings=ratings())
    assert not Evaluation.objects.exists()


def test_the_window_closes_after_seven_days(finished_visit, settings):
    settings.FEEDBACK_WINDOW_DAYS = 7
    user, late = finished_visit(finished_ago=dt.timedelta(days=7, minutes=1))
    with pytest.raises(WindowClosed) as error:
        evaluation_submit(actor=Actor.of(user), encounter=late, ratings=ratings())
    assert error.value.extra == {"days": 7}
    assert not Evaluation.objects.exists()


@pytest.mark.parametrize(
    ("overall", "flagged", "comment", "reason"),
    [
        (2, False, "", "low_rating"),
        (1, False, "等太久", "low_rating"),
        (4, True, "收费不清楚", "flagged"),
        (3, False, "一般", None),
        (5, True, "", None),  # a complaint needs words
    ],
)
def test_low_ratings_and_flagged_comments_open_a_complaint(finished_visit, overall, flagged, comment, reason):
    user, encounter = finished_visit()
    evaluation_submit(
        actor=Actor.of(user),
        encounter=encounter,
        ratings=ratings(overall=overall, flagged_as_complaint=flagged, comment=comment),
    )
    case = ComplaintCase.objects.first()
    assert (case.reason if case else None) == reason
    assert OutboxMessage.objects.filter(name="feedback.complaint_opened").count() == (1 if reason else 0)


def test_invalid_scores_and_tags_are_refused(finished_visit):
    user, encounter = finished_visit()
    from smartclinic.core.errors import InvalidInput

    for bad in (ratings(overall=0), ratings(skill=6), ratings(tags=["made-up"])):
        with pytest.raises(InvalidInput):
            evaluation_submit(actor=Actor.of(user), encounter=encounter, ratings=bad)
    assert not Evaluation.objects.exists()


def test_only_the_rated_doctor_replies_once(finished_visit, make_user):
    user, encounter = finished_visit()
    evaluation = evaluation_submit(actor=Actor.of(user), encounter=encounter, ratings=ratings(comment="开药很仔细"))
    doctor_user = encounter.doctor.user
    with pytest.raises(NotYourEvaluation):
        evaluation_reply(actor=Actor.of(make_user("doctor")), evaluation=evaluation, text="谢谢")
    replied = evaluation_reply(actor=Actor.of(doctor_user), evaluation=evaluation, text="谢谢您的认可")
    assert replied.doctor_reply == "谢谢您的认可" and replied.replied_at is not None
    with pytest.raises(AlreadyReplied):
        evaluation_reply(actor=Actor.of(doctor_user), evaluation=evaluation, text="again")


def test_a_manager_follows_up_a_complaint(finished_visit, make_user):
    user, encounter = finished_visit()
    evaluation_submit(actor=Actor.of(user), encounter=encounter, ratings=ratings(overall=1, comment="态度差"))
    case = ComplaintCase.objects.get()
    manager = make_user("manager")

    complaint_follow_up(actor=Actor.of(manager), case=case, text="已电话回访，向患者致歉", status="resolved")

    case.refresh_from_db()
    assert (case.status, case.handled_by) == ("resolved", manager)
    assert case.resolved_at is not None
    assert ComplaintNote.objects.get().text == "已电话回访，向患者致歉"
    assert AuditEntry.objects.filter(action="feedback.complaint_followed_up").count() == 1
