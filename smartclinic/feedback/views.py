"""Pages: the patient's evaluation form, the doctor's evaluations with replies, the managers'
complaint cases. Thin: parse with a form, call one service, render."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smartclinic.core.actor import actor_from_request
from smartclinic.core.errors import ApplicationError, InvalidInput, NotFound
from smartclinic.feedback import selectors, services
from smartclinic.feedback.access import access_complaint, access_evaluation_for_reply, access_own_encounter
from smartclinic.feedback.choices import DIMENSIONS, TAGS
from smartclinic.feedback.forms import EvaluationForm, FollowUpForm, ReplyForm
from smartclinic.feedback.models import Evaluation
from smartclinic.scheduling.models import Doctor


@login_required
def evaluate_page(request: HttpRequest, visit_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    encounter = access_own_encounter(actor=actor, public_id=visit_id)
    existing = Evaluation.objects.filter(encounter=encounter).first()
    if existing is not None:
        return render(
            request, "feedback/evaluated.html", {"encounter": encounter, "evaluation": existing, "tags": TAGS}
        )
    form = EvaluationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        flagged = data.pop("complaint")
        try:
            services.evaluation_submit(
                actor=actor, encounter=encounter, ratings=services.Ratings(**data, flagged_as_complaint=flagged)
            )
        except ApplicationError as exc:
            form.add_error(None, str(exc.detail))
        else:
            messages.success(request, _("Thank you for your evaluation."))
            return redirect("feedback:evaluate", visit_id=visit_id)
    return render(request, "feedback/evaluate.html", {"encounter": encounter, "form": form})


def _station_doctor(request: HttpRequest) -> Doctor:
    doctor = Doctor.objects.filter(user_id=request.user.pk or 0).first()
    if doctor is None:
        raise NotFound()
    return doctor


@login_required
def doctor_evaluations_page(request: HttpRequest) -> HttpResponse:
    doctor = _station_doctor(request)
    evaluations = list(selectors.evaluation_list_for_doctor(doctor=doctor)[:100])
    return render(
        request,
        "feedback/doctor_evaluations.html",
        {
            "doctor": doctor,
            "evaluations": evaluations,
            "dimensions": DIMENSIONS,
            "tags": TAGS,
            "reply_form": ReplyForm(),
        },
    )


@login_required
@require_POST
def evaluation_reply_page(request: HttpRequest, evaluation_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    form = ReplyForm(request.POST)
    try:
        evaluation = access_evaluation_for_reply(actor=actor, public_id=evaluation_id)
        if not form.is_valid():
            raise InvalidInput(fields=list(form.errors))
        services.evaluation_reply(actor=actor, evaluation=evaluation, text=form.cleaned_data["text"])
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("Your reply is published."))
    return redirect("feedback:doctor_evaluations")


@permission_required("feedback.handle_complaint", raise_exception=True)
def complaint_list_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    cases = list(selectors.complaint_list(status=status)[:200])
    return render(
        request,
        "feedback/complaints.html",
        {"cases": cases, "status": status, "form": FollowUpForm(), "dimensions": DIMENSIONS, "tags": TAGS},
    )


@permission_required("feedback.handle_complaint", raise_exception=True)
@require_POST
def complaint_follow_up_page(request: HttpRequest, case_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    form = FollowUpForm(request.POST)
    case = access_complaint(actor=actor, public_id=case_id)
    if form.is_valid():
        services.complaint_follow_up(actor=actor, case=case, **form.cleaned_data)
        messages.success(request, _("Follow-up recorded."))
    else:
        messages.error(request, _("Describe what was done and choose a status."))
    return redirect("feedback:complaints")
