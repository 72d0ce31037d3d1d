"""The inbox and preferences through the API: one's own messages only, unread count, mark read."""

from __future__ import annotations

import datetime as dt

import pytest

from smartclinic.audit.models import AuditEntry
from smartclinic.core.actor import Actor
from smartclinic.notifications.choices import MessageKind
from smartclinic.notifications.models import Message, NotificationPreference
from smartclinic.notifications.services import message_create

pytestmark = pytest.mark.django_db


def make_message(user, n: int, kind: str = MessageKind.REFUND_SUCCEEDED) -> Message:
    message = message_create(
        actor=Actor.system(reason="test"),
        recipient=user,
        kind=kind,
        source_key=f"refund:{n}",
        context=lambda language: {"patient_name": "张小明", "amount": f"{n}.00"},
        link="/appointments/",
    )
    assert message is not None
    return message


@pytest.fixture
def inbox(patient):
    user, _member = patient()
    other, _ = patient(name="李四")
    mine = [make_message(user, n) for n in range(1, 4)]
    theirs = make_message(other, 99)
    return user, other, mine, theirs


def test_list_shows_only_ones_own_messages_newest_first(api, inbox):
    user, _other, mine, theirs = inbox
    response = api(user).get("/me/messages")

    assert response.status_code == 200
    assert response.data["count"] == 3
    assert response.data["unread"] == 3
    assert [item["id"] for item in response.data["items"]] == [str(m.public_id) for m in reversed(mine)]
    first = response.data["items"][0]
    assert first == {
        "id": str(mine[-1].public_id),
        "kind": "refund_succeeded",
        "title": "退款成功",
        "body": "您的退款 3.00 元已原路退回，请留意到账信息。",
        "link": "/appointments/",
        "language": "zh-hans",
        "created_at": first["created_at"],
        "read_at": None,
    }
    assert str(theirs.public_id) not in response.content.decode()


def test_pagination_and_unread_filter(api, inbox):
    user, _other, mine, _theirs = inbox
    client = api(user)
    page = client.get("/me/messages?limit=2&offset=2").data
    assert [item["id"] for item in page["items"]] == [str(mine[0].public_id)]
    client.post(f"/me/messages/{mine[0].public_id}/read")
    unread = client.get("/me/messages?unread=true").data
    assert unread["count"] == 2 and unread["unread"] == 2
    assert client.get("/me/messages?limit=500").status_code == 422


def test_unread_count_and_mark_read(api, inbox):
    user, _other, mine, _theirs = inbox
    client = api(user)
    assert client.get("/me/messages/unread-count").data == {"unread": 3}

    response = client.post(f"/me/messages/{mine[0].public_id}/read")
    assert response.status_code == 200
    read_at = response.data["read_at"]
    assert read_at is not None
    again = client.post(f"/me/messages/{mine[0].public_id}/read")
    assert again.data["read_at"] == read_at  # idempotent
    assert client.get("/me/messages/unread-count").data == {"unread": 2}
    assert client.get(f"/me/messages/{mine[0].public_id}").data["read_at"] == read_at


def test_mark_all_read_touches_only_ones_own(api, inbox):
    user, _other, _mine, theirs = inbox
    assert api(user).post("/me/messages/read-all").data == {"marked": 3}
    assert api(user).get("/me/messages/unread-count").data == {"unread": 0}
    assert Message.objects.get(pk=theirs.pk).read_at is None


def test_someone_elses_message_is_not_found_and_unchanged(api, inbox):
    user, _other, _mine, theirs = inbox
    client = api(user)
    for response in (
        client.get(f"/me/messages/{theirs.public_id}"),
        client.post(f"/me/messages/{theirs.public_id}/read"),
    ):
        assert response.status_code == 404
        assert response.data["code"] == "core.not_found"
        assert theirs.title not in response.content.decode()
    assert Message.objects.get(pk=theirs.pk).read_at is None


def test_anonymous_is_refused(api, inbox):
    for path in ("/me/messages", "/me/messages/unread-count", "/me/notification-preferences"):
        response = api().get(path)
        assert response.status_code == 401
        assert response.data["code"] == "auth.unauthenticated"


def test_preferences_default_and_update(api, patient):
    user, _member = patient(email="xm@example.edu")
    client = api(user)
    assert client.get("/me/notification-preferences").data == {
        "language": "zh-hans",
        "channels": ["inbox", "wechat", "email"],
        "wechat": True,
        "email": True,
        "sms": False,
        "quiet_start": "22:00:00",
        "quiet_end": "07:00:00",
        "wechat_bound": False,
        "email_address": True,
    }

    response = client._call(
        "put",
        "/me/notification-preferences",
        {"language": "en", "wechat": False, "email": True, "sms": True, "quiet_start": "23:00", "quiet_end": "06:30"},
    )
    assert response.status_code == 200
    assert response.data["channels"] == ["inbox", "email", "sms"]
    stored = NotificationPreference.objects.get(user=user)
    assert (stored.language, stored.wechat, stored.sms) == ("en", False, True)
    assert (stored.quiet_start, stored.quiet_end) == (dt.time(23, 0), dt.time(6, 30))
    entry = AuditEntry.objects.get(action="notifications.preference_updated")
    assert entry.actor_id == user.pk and entry.subject_id == str(user.public_id)


@pytest.mark.parametrize(
    "body",
    [
        {"language": "fr"},
        {"language": "en", "quiet_start": "23:00"},
        {"language": "en", "quiet_end": "lunch"},
    ],
)
def test_bad_preferences_are_refused_and_nothing_changes(api, patient, body):
    user, _member = patient()
    response = api(user)._call("put", "/me/notification-preferences", body)
    assert response.status_code == 422
    assert response.data["code"] == "core.invalid_input"
    assert not NotificationPreference.objects.filter(user=user).exists()


def test_an_english_preference_makes_later_messages_english(api, patient):
    user, _member = patient()
    api(user)._call("put", "/me/notification-preferences", {"language": "en"})
    message = make_message(user, 5)
    assert (message.language, message.title) == ("en", "Refund completed")
