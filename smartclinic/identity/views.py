"""Pages of the identity context. Thin: parse with a form, call a service, render."""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smartclinic.core.actor import actor_from_request
from smartclinic.core.errors import ApplicationError
from smartclinic.identity import selectors, services
from smartclinic.identity.access import access_member, access_own_dependant
from smartclinic.identity.choices import STAFF_ROLES, Role
from smartclinic.identity.forms import CardBindForm, DependantForm, MemberSearchForm, RosterImportForm
from smartclinic.identity.models import User
from smartclinic.identity.roles import is_staff_role, roles_of
from smartclinic.identity.roster import roster_import_csv


def home_url_for(user: User) -> str:
    roles = roles_of(user)
    if roles == ["admin"] or (user.is_superuser and len(roles) == 1):
        return reverse("admin:index")
    if is_staff_role(user):
        return reverse("identity:staff_home")
    return reverse("identity:profile")


class PatientLoginView(LoginView):
    template_name = "identity/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return home_url_for(self.request.user)  # type: ignore[arg-type]


class StaffLoginView(PatientLoginView):
    template_name = "identity/staff_login.html"


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("identity:login")
    return redirect(home_url_for(_current_user(request)))


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    staff = request.user.is_authenticated and is_staff_role(request.user)
    logout(request)
    return redirect("identity:staff_login" if staff else "identity:login")


def _current_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _role_choices(user: User) -> list[Role]:
    """The user's roles as choices, so pages can show their translated labels."""
    return [Role(role) for role in roles_of(user)]


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    member = selectors.member_of_user(user=user)
    roles = _role_choices(user)
    context = {"member": member, "roles": roles, "is_staff_role": any(role in STAFF_ROLES for role in roles)}
    return render(request, "identity/profile.html", context)


@login_required
def card_bind_page(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    if selectors.member_of_user(user=user) is not None:
        return redirect("identity:profile")
    form = CardBindForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.card_bind(actor=actor_from_request(request), user=user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, str(exc.detail))
        else:
            messages.success(request, _("Your campus card is bound."))
            return redirect("identity:profile")
    return render(request, "identity/card_bind.html", {"form": form})


@login_required
@require_POST
def card_unbind_page(request: HttpRequest) -> HttpResponse:
    member = selectors.member_of_user(user=_current_user(request))
    if member is not None:
        services.card_unbind(actor=actor_from_request(request), member=member)
        messages.success(request, _("Your campus card is unbound."))
    return redirect("identity:profile")


@login_required
def dependants_page(request: HttpRequest) -> HttpResponse:
    owner = selectors.member_of_user(user=_current_user(request))
    if owner is None:
        return redirect("identity:card_bind")
    form = DependantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.dependant_add(actor=actor_from_request(request), owner=owner, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, str(exc.detail))
        else:
            messages.success(request, _("Family member added."))
            return redirect("identity:dependants")
    dependants = list(selectors.dependant_list_for_owner(owner=owner))
    return render(request, "identity/dependants.html", {"form": form, "owner": owner, "dependants": dependants})


@login_required
@require_POST
def dependant_remove_page(request: HttpRequest, dependant_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    try:
        dependant = access_own_dependant(actor=actor, public_id=dependant_id)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        services.dependant_remove(actor=actor, dependant=dependant)
        messages.success(request, _("Family member removed."))
    return redirect("identity:dependants")


@login_required
def staff_home(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    roles = _role_choices(user)
    if not any(role in STAFF_ROLES for role in roles):
        return redirect("identity:profile")
    return render(request, "identity/staff_home.html", {"roles": roles})


@permission_required("identity.view_member", raise_exception=True)
def staff_members(request: HttpRequest) -> HttpResponse:
    form = MemberSearchForm(request.GET or None)
    results = list(selectors.member_search(query=form.cleaned_data["q"])) if form.is_valid() else []
    return render(request, "identity/staff_members.html", {"form": form, "results": results})


@permission_required("identity.unbind_card", raise_exception=True)
@require_POST
def staff_member_unbind(request: HttpRequest, member_id: UUID) -> HttpResponse:
    actor = actor_from_request(request)
    try:
        member = access_member(actor=actor, public_id=member_id)
        services.card_unbind(actor=actor, member=member)
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("The card of %(name)s is unbound.") % {"name": member.name})
    return redirect(f"{reverse('identity:staff_members')}?{urlencode({'q': request.POST.get('q', '')})}")


@permission_required("identity.import_roster", raise_exception=True)
def roster_import_page(request: HttpRequest) -> HttpResponse:
    form = RosterImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = roster_import_csv(
            actor=actor_from_request(request),
            stream=form.cleaned_data["file"],
            full_sync=form.cleaned_data["full_sync"],
        )
    return render(request, "identity/roster_import.html", {"form": form, "report": report})
