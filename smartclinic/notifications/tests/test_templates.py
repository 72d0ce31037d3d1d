"""Admin-editable texts: only safe template syntax, a context of plain values, and a broken text
never loses a message."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from smartclinic.audit.models import AuditEntry
from smartclinic.core.actor import Actor
from smartclinic.notifications.choices import MessageKind
from smartclinic.notifications.models import MessageTemplate
from smartclinic.notifications.rendering import render_message, render_text, template_problems
from smartclinic.notifications.services import message_create, message_template_update

pytestmark = pytest.mark.django_db

CONTEXT = {"patient_name": "张小明", "amount": "10.00"}


@pytest.mark.parametrize(
    "source",
    [
        "{% load static %}{% static 'x' %}",
        "{% include 'base.html' %}",
        "{% extends 'base.html' %}",
        "{% debug %}",
        "{% url 'notifications:inbox' %}",
        "{% csrf_token %}",
        "{{ patient_name.__class__ }}",
        "{% if %}",
    ],
)
def test_unsafe_or_broken_templates_are_refused(source):
    assert template_problems(source)
    with pytest.raises(ValidationError):
        message_template_update(
            actor=Actor.system(reason="test"),
            template=MessageTemplate.objects.get(kind=MessageKind.REFUND_SUCCEEDED, language="zh-hans"),
            title="退款",
            body=source,
        )


def test_allowed_syntax_renders_as_plain_text():
    source = "{% if amount %}{{ patient_name }} <b>{{ amount|default:'0' }}</b>{% endif %}{# note #}"
    assert template_problems(source) == []
    assert render_text(source, CONTEXT) == "张小明 <b>10.00</b>"  # no HTML escaping in stored text


def test_the_context_holds_plain_values_only():
    with pytest.raises(TypeError):
        render_text("{{ user }}", {"user": object()})  # type: ignore[dict-item]


def test_an_edited_template_is_used_and_audited(patient):
    user, _member = patient()
    template = MessageTemplate.objects.get(kind=MessageKind.REFUND_SUCCEEDED, language="zh-hans")
    message_template_update(
        actor=Actor.system(reason="test"),
        template=template,
        title="退款到账",
        body="{{ patient_name }}：退款 {{ amount }} 元。",
    )
    message = message_create(
        actor=Actor.system(reason="test"),
        recipient=user,
        kind=MessageKind.REFUND_SUCCEEDED,
        source_key="refund:1",
        context=lambda language: CONTEXT,
    )
    assert message is not None
    assert (message.title, message.body) == ("退款到账", "张小明：退款 10.00 元。")
    entry = AuditEntry.objects.get(action="notifications.template_updated")
    assert entry.new_values == {"title": "退款到账", "body": "{{ patient_name }}：退款 {{ amount }} 元。"}


def test_a_broken_or_missing_template_falls_back_to_the_built_in_text(caplog):
    MessageTemplate.objects.filter(kind=MessageKind.REFUND_SUCCEEDED, language="zh-hans").update(body="{% if %}")
    assert render_message(kind=MessageKind.REFUND_SUCCEEDED, language="zh-hans", context=CONTEXT) == (
        "退款成功",
        "您的退款 10.00 元已原路退回，请留意到账信息。",
    )
    assert "does not render" in caplog.text
    MessageTemplate.objects.filter(kind=MessageKind.REFUND_SUCCEEDED, language="en").delete()
    assert render_message(kind=MessageKind.REFUND_SUCCEEDED, language="en", context=CONTEXT)[0] == "Refund completed"


@pytest.mark.parametrize("kind", MessageKind.values)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_seeded_text_renders_with_its_variables(kind, language):
    from smartclinic.notifications.template_defaults import VARIABLES

    context = {name: f"<{name}>" for name in VARIABLES[kind]}
    title, body = render_message(kind=kind, language=language, context=context)
    assert title and body
    assert "{{" not in body and "{%" not in body


def test_the_admin_edits_a_text_and_refuses_an_unsafe_one(client, make_user):
    admin_user = make_user("admin", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    template = MessageTemplate.objects.get(kind=MessageKind.TICKET_CALLED, language="en")
    url = f"/admin/notifications/messagetemplate/{template.pk}/change/"
    assert client.get(url).status_code == 200

    refused = client.post(url, {"title": "Go", "body": "{% load static %}"})
    assert refused.status_code == 200
    assert "body" in refused.context["adminform"].form.errors
    template.refresh_from_db()
    assert template.title == "It is your turn"

    saved = client.post(url, {"title": "Your turn", "body": "{{ patient_name }}: room {{ room }}"})
    assert saved.status_code == 302
    template.refresh_from_db()
    assert (template.title, template.body) == ("Your turn", "{{ patient_name }}: room {{ room }}")
    assert AuditEntry.objects.filter(action="notifications.template_updated", actor_id=admin_user.pk).exists()
