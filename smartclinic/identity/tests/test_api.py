from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from smartclinic.identity.models import ApiToken, Member

pytestmark = pytest.mark.django_db


def test_login_returns_a_token_that_is_stored_hashed(api, make_user):
    user = make_user(username="li", password="pw-Secret-123")

    response = api().post("/auth/login", {"username": "li", "password": "pw-Secret-123"})

    assert response.status_code == 200
    token = response.data["token"]
    assert token.startswith("sc_")
    assert response.data["user"]["username"] == "li"
    assert response.data["user"]["roles"] == ["patient"]
    stored = ApiToken.objects.get(user=user)
    assert stored.key_hash != token and token not in stored.key_hash
    me = api().get("/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.status_code == 200
    assert me.data["id"] == str(user.public_id)


def test_wrong_password_is_a_localized_401(api, make_user):
    make_user(username="li")
    zh = api().post("/auth/login", {"username": "li", "password": "nope"})
    en = api(language="en").post("/auth/login", {"username": "li", "password": "nope"})
    assert zh.status_code == en.status_code == 401
    assert zh.data["code"] == en.data["code"] == "identity.invalid_credentials"
    assert en.data["message"] == "The username or password is wrong."
    assert zh.data["message"] == "用户名或密码错误。"


def test_missing_and_garbage_tokens_are_401_with_code(api):
    assert api().get("/me").data["code"] == "auth.unauthenticated"
    response = api().get("/me", HTTP_AUTHORIZATION="Bearer sc_not-a-token")
    assert response.status_code == 401
    assert response.data["code"] == "auth.unauthenticated"


def test_token_expires(api, make_user, settings):
    settings.API_TOKEN_TTL_HOURS = 1
    user = make_user()
    start = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        client = api(user)
        assert client.get("/me").status_code == 200
        traveller.move_to(start + dt.timedelta(minutes=61))
        response = client.get("/me")
    assert response.status_code == 401
    assert response.data["code"] == "auth.token_expired"


def test_logout_revokes_the_token(api, make_user):
    client = api(make_user())
    assert client.post("/auth/logout").status_code == 204
    response = client.get("/me")
    assert response.status_code == 401
    assert ApiToken.objects.get().revoked_at is not None


def test_bind_card_through_the_api(api, make_user, make_member):
    user = make_user()
    member = make_member(name="张三")
    client = api(user, language="en")

    response = client.post(
        "/me/card", {"member_number": member.number, "name": "张三", "card_number": member.card_number}
    )

    assert response.status_code == 200
    assert response.data["number"] == member.number
    assert response.data["card_number_tail"] == member.card_number[-4:]
    assert client.get("/me").data["member"]["id"] == str(member.public_id)
    assert client.delete("/me/card").status_code == 204
    assert Member.objects.get(pk=member.pk).account is None
    again = client.delete("/me/card")
    assert again.status_code == 409
    assert again.data["code"] == "identity.not_bound"


def test_bind_errors_are_4xx_with_codes(api, make_user, make_member):
    member = make_member()
    client = api(make_user(), language="en")
    wrong = client.post("/me/card", {"member_number": member.number, "name": member.name, "card_number": "x"})
    assert wrong.status_code == 422
    assert wrong.data["code"] == "identity.binding_mismatch"
    missing = client.post("/me/card", {"member_number": member.number, "name": member.name})
    assert missing.status_code == 422
    assert missing.data["code"] == "core.invalid_input"
    assert missing.data["message"] == "Some fields are missing or invalid."
    assert missing.data["extra"]["errors"]


def test_malformed_json_is_a_4xx(api, make_user):
    client = api(make_user())
    response = client.client.post(
        "/api/v1/me/card", data="{not json", content_type="application/json", **client.headers
    )
    assert 400 <= response.status_code < 500
    assert response.json()["code"].startswith("core.")


def test_locked_binding_is_429(api, make_user, make_member):
    member = make_member()
    client = api(make_user(), language="en")
    codes = [
        client.post("/me/card", {"member_number": member.number, "name": member.name, "card_number": "x"}).data["code"]
        for _ in range(6)
    ]
    assert codes[:4] == ["identity.binding_mismatch"] * 4
    assert codes[4:] == ["identity.binding_locked"] * 2
    locked = client.post("/me/card", {"member_number": member.number, "name": member.name, "card_number": "x"})
    assert locked.status_code == 429
    assert "locked_until" in locked.data["extra"]


def test_staff_dependants_through_the_api(api, make_user, make_member):
    user = make_user()
    make_member(kind="staff", account=user, bound_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    client = api(user)

    created = client.post("/me/dependants", {"name": "张小小", "relation": "child", "birth_date": "2018-05-01"})

    assert created.status_code == 201
    listed = client.get("/me/dependants").data
    assert [d["name"] for d in listed] == ["张小小"]
    assert client.delete(f"/me/dependants/{created.data['id']}").status_code == 204
    assert client.get("/me/dependants").data == []


def test_students_cannot_register_dependants(api, make_user, make_member):
    user = make_user()
    make_member(kind="student", account=user, bound_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    response = api(user).post("/me/dependants", {"name": "x", "relation": "child"})
    assert response.status_code == 403
    assert response.data["code"] == "identity.dependants_staff_only"


def test_someone_elses_dependant_is_not_found(api, make_user, make_member):
    owner, other = make_user(), make_user()
    bound = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    make_member(kind="staff", account=owner, bound_at=bound)
    make_member(kind="staff", account=other, bound_at=bound)
    created = api(owner).post("/me/dependants", {"name": "张小小", "relation": "child"}).data
    response = api(other).delete(f"/me/dependants/{created['id']}")
    assert response.status_code == 404
    assert response.data["code"] == "core.not_found"


def test_openapi_and_docs_are_served_locally(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/auth/login" in spec.json()["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"cdn." not in docs.content and b"unpkg" not in docs.content


def test_responses_carry_a_request_id(client):
    response = client.get("/api/v1/me", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
