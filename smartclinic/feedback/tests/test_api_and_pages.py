from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from smartclinic.feedback.models import ComplaintCase, Evaluation

pytestmark = pytest.mark.django_db

BODY = {"overall": 4, "attitude": 5, "explanation": 4, "skill": 4, "waiting": 3, "environment": 4, "process": 4}


def test_rate_through_the_api_with_the_documented_errors(api, finished_visit):
    user, encounter = finished_visit()
    client = api(user, language="en")
    path = f"/visits/{encounter.public_id}/evaluation"

    assert client.get(path).status_code == 404
    created = client.post(path, {**BODY, "comment": "Good", "tags": ["clear"], "anonymous": True})
    assert created.status_code == 201
    assert created.data["overall"] == 4 and created.data["anonymous"] is True
    assert client.get(path).data["id"] == created.data["id"]
    again = client.post(path, BODY)
    assert again.status_code == 409 and again.data["code"] == "feedback.already_submitted"
    assert again.data["message"] == "You have already rated this visit. Thank you!"


def test_api_errors_not_finished_and_window_closed(api, finished_visit):
    user, open_visit = finished_visit(status="open")
    response = api(user).post(f"/visits/{open_visit.public_id}/evaluation", BODY)
    assert response.status_code == 409 and response.data["code"] == "feedback.not_finished"
    user, old_visit = finished_visit(finished_ago=dt.timedelta(days=8))
    response = api(user).post(f"/visits/{old_visit.public_id}/evaluation", BODY)
    assert response.status_code == 409 and response.data["code"] == "feedback.window_closed"


def test_someone_elses_visit_is_not_found(api, finished_visit, make_user):
    _, encounter = finished_visit()
    response = api(make_user()).post(f"/visits/{encounter.public_id}/evaluation", BODY)
    assert response.status_code == 404
    assert not Evaluation.objects.exists()


def test_out_of_range_scores_are_422(api, finished_visit):
    user, encounter = finished_visit()
    response = api(user).post(f"/visits/{encounter.public_id}/evaluation", {**BODY, "overall": 9})
    assert response.status_code == 422 and response.data["code"] == "core.invalid_input"


def test_the_evaluation_page_submits_and_then_shows_the_result(finished_visit):
    user, encounter = finished_visit()
    client = Client()
    client.force_login(user)
    url = f"/visits/{encounter.public_id}/evaluate/"
    assert client.get(url).status_code == 200
    response = client.post(url, {**BODY, "overall": 2, "comment": "排队太久", "tags": ["long_wait"]}, follow=True)
    assert response.status_code == 200
    assert Evaluation.objects.get().overall == 2
    assert ComplaintCase.objects.get().reason == "low_rating"
    assert "排队太久" in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "status"), [("patient", 403), ("doctor", 403), ("nurse", 403), ("manager", 200), ("admin", 200)]
)
def test_the_complaint_list_is_for_managers(finished_visit, make_user, persona, status):
    client = Client()
    client.force_login(make_user(persona))
    assert client.get("/staff/complaints/").status_code == status


def test_anonymous_evaluations_hide_the_patient_from_the_doctor_only(api, finished_visit, make_user):
    user, encounter = finished_visit()
    api(user).post(
        f"/visits/{encounter.public_id}/evaluation", {**BODY, "overall": 1, "comment": "不满意", "anonymous": True}
    )
    doctor_client = Client()
    doctor_client.force_login(encounter.doctor.user)
    doctor_page = doctor_client.get("/staff/evaluations/").content.decode()
    manager_client = Client()
    manager_client.force_login(make_user("manager"))
    manager_page = manager_client.get("/staff/complaints/").content.decode()
    assert encounter.member.name not in doctor_page and "不满意" in doctor_page
    assert encounter.member.number in manager_page
