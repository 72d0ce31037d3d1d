"""Pages: the patient's inbox and preferences; the staff delivery log. Thin: parse with a form,
call a service or selector, render."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smartclinic.core.actor import actor_from_request
from smartclinic.core.errors import ApplicationError, NotFound
from smartclinic.identity.models import User
from smartclinic.notifications import conf, selectors, services
from smartclinic.notifications.access import access_delivery, access_own_message
from smartclinic.notifications.forms import DeliverySearchForm, PreferenceForm
from smartclinic.notifications.selectors import DeliverySearch

INBOX_PAGE_SIZE = 20
LOG_PAGE_SIZE = 50
staff_login_required = login_required(login_url=reverse_lazy("identity:staff_login"))


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    page = Paginator(selectors.message_list_for_user(user=user), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    unread = selectors.message_unread_count(user=user)
    return render(request, "notifications/inbox.html", {"page": page, "unread": unread})


@login_required
def message_detail(request: HttpRequest, message_id: UUID) -> HttpResponse:
    """Opening a message marks it read (idempotent, and only ever one's own)."""
    actor = actor_from_request(request)
    try:
        message = access_own_message(actor=actor, public_id=message_id)
    except NotFound as exc:
        raise Http404 from exc
    message = services.message_mark_read(actor=actor, message=message)
    link = message.link if url_has_allowed_host_and_scheme(message.link, allowed_hosts={request.get_host()}) else ""
    return render(request, "notifications/message_detail.html", {"message": message, "link": link})


@login_required
@require_POST
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    marked = services.messages_mark_all_read(actor=actor_from_request(request), user=_user(request))
    if marked:
        messages.success(request, _("All messages are marked as read."))
    return redirect("notifications:inbox")


@login_required
def preferences_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    preference = selectors.preference_for(user=user)
    initial = {
        "language": preference.language,
        "wechat": preference.wechat,
        "email": preference.email,
        "sms": preference.sms,
        "quiet_start": preference.quiet_start,
        "quiet_end": preference.quiet_end,
    }
    form = PreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.preference_update(actor=actor_from_request(request), user=user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, str(exc.detail))
        else:
            messages.success(request, _("Your notification settings are saved."))
            return redirect("notifications:preferences")
    context = {
        "form": form,
        "wechat_available": conf.wechat_configured(),
        "wechat_bound": selectors.wechat_recipient_for(user=user) is not None,
        "email_available": conf.email_enabled(),
        "email_address": user.email,
        "sms_available": bool(conf.sms_provider_name()),
    }
    return render(request, "notifications/preferences.html", context)


@staff_login_required
@permission_required("notifications.view_delivery", raise_exception=True)
def delivery_log(request: HttpRequest) -> HttpResponse:
    form = DeliverySearchForm(request.GET or None)
    search = DeliverySearch()
    if form.is_valid():
        data = form.cleaned_data
        search = DeliverySearch(
            query=data["q"],
            kind=data["kind"],
            channel=data["channel"],
            status=data["status"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )
    page = Paginator(selectors.delivery_search(search=search), LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "notifications/delivery_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@staff_login_required
@permission_required("notifications.requeue_delivery", raise_exception=True)
@require_POST
def delivery_requeue_page(request: HttpRequest, delivery_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    try:
        delivery = access_delivery(actor=actor, public_id=delivery_id, permission="notifications.requeue_delivery")
        services.delivery_requeue(actor=actor, delivery=delivery)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("The delivery will be sent again."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = str(reverse_lazy("notifications:delivery_log"))
    return redirect(back)
