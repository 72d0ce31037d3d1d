from __future__ import annotations

from uuid import UUID

from smartclinic.core.actor import Actor
from smartclinic.core.errors import NotFound
from smartclinic.feedback.models import ComplaintCase, Evaluation
from smartclinic.visits.models import Encounter


def access_own_encounter(*, actor: Actor, public_id: UUID) -> Encounter:
    """The patient's own visit (theirs or their dependant's); anyone else gets NotFound."""
    encounter = Encounter.objects.select_related("member", "doctor", "department").filter(public_id=public_id).first()
    if encounter is None or actor.user is None or encounter.member.account_id != actor.user.pk:
        raise NotFound()
    return encounter


def access_evaluation_for_reply(*, actor: Actor, public_id: UUID) -> Evaluation:
    evaluation = Evaluation.objects.select_related("doctor").filter(public_id=public_id).first()
    if evaluation is None or actor.user is None or evaluation.doctor.user_id != actor.user.pk:
        raise NotFound()
    return evaluation


def access_complaint(*, actor: Actor, public_id: UUID) -> ComplaintCase:
    case = ComplaintCase.objects.filter(public_id=public_id).first()
    if case is None or actor.user is None or not actor.user.has_perm("feedback.handle_complaint"):
        raise NotFound()
    return case
