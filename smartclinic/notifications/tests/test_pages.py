"""The patient's pages: inbox (unread first-class), a message (opening marks it read), settings;
and the top bar's badge."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from smartclinic.core.actor import Actor
from smartclinic.notifications.choices import MessageKind
from smartclinic.notifications.context_processors import inbox as inbox_context
from smartclinic.notifications.models import Message, NotificationPreference
from smartclinic.notifications.services import message_create

pytestmark = pytest.mark.django_db


def make_message(user, n: int, link: str = "/appointments/") -> Message:
    message = message_create(
        actor=Actor.system(reason="test"),
        recipient=user,
        kind=MessageKind.REFUND_SUCCEEDED,
        source_key=f"refund:{n}",
        context=lambda language: {"patient_name": "张小明", "amount": f"{n}.00"},
        link=link,
    )
    assert message is not None
    return message


@pytest.fixture
def signed_in(client, patient):
    user, _member = patient()
    client.force_login(user)
    return client, user


def test_the_inbox_lists_ones_messages_and_the_unread_count(signed_in, patient, django_assert_max_num_queries):
    client, user = signed_in
    other, _ = patient(name="李四")
    for n in range(1, 4):
        make_message(user, n)
    foreign = make_message(other, 9)

    with django_assert_max_num_queries(8):
        response = client.get("/me/messages/")

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('data-testid="inbox-item"') == 3
    assert 'data-testid="inbox-unread">3<' in page
    assert "您的退款 3.00 元" in page
    assert str(foreign.public_id) not in page


def test_opening_a_message_marks_it_read(signed_in):
    client, user = signed_in
    message = make_message(user, 1)

    response = client.get(f"/me/messages/{message.public_id}/")

    assert response.status_code == 200
    assert 'data-testid="message-title">退款成功<' in response.content.decode()
    assert 'href="/appointments/"' in response.content.decode()
    message.refresh_from_db()
    assert message.read_at is not None
    assert 'data-testid="inbox-unread"' not in client.get("/me/messages/").content.decode()


def test_someone_elses_message_is_not_found(signed_in, patient):
    client, _user = signed_in
    other, _ = patient(name="李四")
    foreign = make_message(other, 1)
    assert client.get(f"/me/messages/{foreign.public_id}/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.read_at is None


def test_a_link_to_another_site_is_not_offered(signed_in):
    client, user = signed_in
    message = make_message(user, 1, link="https://evil.example.com/")
    assert 'data-testid="message-link"' not in client.get(f"/me/messages/{message.public_id}/").content.decode()


def test_mark_all_read_is_a_post(signed_in):
    client, user = signed_in
    make_message(user, 1)
    assert client.get("/me/messages/read-all/").status_code == 405
    response = client.post("/me/messages/read-all/")
    assert response.status_code == 302 and response["Location"] == "/me/messages/"
    assert not Message.objects.filter(recipient=user, read_at__isnull=True).exists()


def test_the_settings_page_saves_choices(signed_in):
    client, user = signed_in
    assert client.get("/me/notifications/").status_code == 200

    response = client.post(
        "/me/notifications/",
        {"language": "en", "wechat": "on", "quiet_start": "22:30", "quiet_end": "06:45"},
    )

    assert response.status_code == 302
    stored = NotificationPreference.objects.get(user=user)
    assert (stored.language, stored.wechat, stored.email, stored.sms) == ("en", True, False, False)
    assert (stored.quiet_start.isoformat(), stored.quiet_end.isoformat()) == ("22:30:00", "06:45:00")


def test_the_settings_page_refuses_half_quiet_hours(signed_in):
    client, user = signed_in
    response = client.post("/me/notifications/", {"language": "en", "quiet_start": "22:30"})
    assert response.status_code == 200
    assert 'data-testid="form-errors"' in response.content.decode()
    assert not NotificationPreference.objects.filter(user=user).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for path in ("/me/messages/", "/me/notifications/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_badge_counts_unread_messages_lazily(patient, django_assert_num_queries):
    user, _member = patient()
    make_message(user, 1)
    make_message(user, 2)
    request = RequestFactory().get("/")
    request.user = user

    with django_assert_num_queries(0):
        context = inbox_context(request)  # nothing is counted until a template asks
    with django_assert_num_queries(1):
        html = Template('{% include "notifications/_inbox_link.html" %}').render(
            Context({**context, "request": request})
        )
    assert 'data-testid="nav-unread"' in html and ">2</span>" in html
