from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from smartclinic.core.errors import NotFound
from smartclinic.feedback import services
from smartclinic.feedback.access import access_evaluation_for_reply, access_own_encounter
from smartclinic.feedback.models import Evaluation
from smartclinic.feedback.schemas import EvaluationIn, EvaluationOut, ReplyIn
from smartclinic.identity.auth import request_actor

router = Router(tags=["feedback"])


def evaluation_out(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "id": evaluation.public_id,
        "visit_id": evaluation.encounter.public_id,
        "overall": evaluation.overall,
        "attitude": evaluation.attitude,
        "explanation": evaluation.explanation,
        "skill": evaluation.skill,
        "waiting": evaluation.waiting,
        "environment": evaluation.environment,
        "process": evaluation.process,
        "comment": evaluation.comment,
        "tags": evaluation.tags,
        "anonymous": evaluation.anonymous,
        "complaint": evaluation.flagged_as_complaint,
        "doctor_reply": evaluation.doctor_reply,
        "replied_at": evaluation.replied_at,
        "created_at": evaluation.created_at,
    }


@router.post("/visits/{visit_id}/evaluation", response={201: EvaluationOut})
def evaluation_submit_api(request: HttpRequest, visit_id: UUID, payload: EvaluationIn) -> Status[dict[str, Any]]:
    actor = request_actor(request)
    data = payload.dict()
    flagged = data.pop("complaint")
    evaluation = services.evaluation_submit(
        actor=actor,
        encounter=access_own_encounter(actor=actor, public_id=visit_id),
        ratings=services.Ratings(**data, flagged_as_complaint=flagged),
    )
    return Status(201, evaluation_out(evaluation))


@router.get("/visits/{visit_id}/evaluation", response=EvaluationOut)
def evaluation_get_api(request: HttpRequest, visit_id: UUID) -> dict[str, Any]:
    encounter = access_own_encounter(actor=request_actor(request), public_id=visit_id)
    evaluation = Evaluation.objects.select_related("encounter").filter(encounter=encounter).first()
    if evaluation is None:
        raise NotFound()
    return evaluation_out(evaluation)


@router.post("/evaluations/{evaluation_id}/reply", response=EvaluationOut)
def evaluation_reply_api(request: HttpRequest, evaluation_id: UUID, payload: ReplyIn) -> dict[str, Any]:
    actor = request_actor(request)
    evaluation = access_evaluation_for_reply(actor=actor, public_id=evaluation_id)
    return evaluation_out(services.evaluation_reply(actor=actor, evaluation=evaluation, text=payload.text))
