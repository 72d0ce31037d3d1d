"""Identity endpoints: sign-in, the current person, card binding, dependants, staff look-ups."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from smartclinic.core.actor import actor_from_request
from smartclinic.identity import selectors, services
from smartclinic.identity.access import access_member, access_own_dependant
from smartclinic.identity.auth import request_actor, request_user, require_perm
from smartclinic.identity.errors import NotBound
from smartclinic.identity.models import Dependant, Member, User
from smartclinic.identity.roles import roles_of
from smartclinic.identity.schemas import (
    CardBindIn,
    DependantIn,
    DependantOut,
    LoginIn,
    LoginOut,
    MemberOut,
    StaffMemberOut,
    UserOut,
)

router = Router(tags=["identity"])


def member_out(member: Member) -> dict[str, Any]:
    return {
        "id": member.public_id,
        "number": member.number,
        "kind": member.kind,
        "name": member.name,
        "college": member.college,
        "class_name": member.class_name,
        "status": member.status,
        "card_number_tail": member.card_number[-4:],
        "bound_at": member.bound_at,
    }


def user_out(user: User) -> dict[str, Any]:
    member = selectors.member_of_user(user=user)
    return {
        "id": user.public_id,
        "username": user.username,
        "display_name": user.display_name or (member.name if member else user.username),
        "roles": roles_of(user),
        "member": member_out(member) if member else None,
    }


def dependant_out(dependant: Dependant) -> dict[str, Any]:
    return {
        "id": dependant.public_id,
        "name": dependant.name,
        "relation": dependant.relation,
        "gender": dependant.gender,
        "birth_date": dependant.birth_date,
    }


@router.post("/auth/login", auth=None, response=LoginOut)
def auth_login_api(request: HttpRequest, payload: LoginIn) -> dict[str, Any]:
    user = services.account_authenticate(username=payload.username, password=payload.password)
    issued = services.token_issue(actor=actor_from_request(request, user=user), user=user)
    return {"token": issued.raw, "expires_at": issued.token.expires_at, "user": user_out(user)}


@router.post("/auth/logout", response={204: None})
def auth_logout_api(request: HttpRequest) -> Status[None]:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        services.token_revoke(actor=request_actor(request), raw=header[7:].strip())
    return Status(204, None)


@router.get("/me", response=UserOut)
def me_get_api(request: HttpRequest) -> dict[str, Any]:
    return user_out(request_user(request))


@router.post("/me/card", response=MemberOut)
def card_bind_api(request: HttpRequest, payload: CardBindIn) -> dict[str, Any]:
    user = request_user(request)
    member = services.card_bind(
        actor=request_actor(request),
        user=user,
        member_number=payload.member_number,
        name=payload.name,
        card_number=payload.card_number,
        national_id_last6=payload.national_id_last6,
    )
    return member_out(member)


@router.delete("/me/card", response={204: None})
def card_unbind_own_api(request: HttpRequest) -> Status[None]:
    member = selectors.member_of_user(user=request_user(request))
    if member is None:
        raise NotBound()
    services.card_unbind(actor=request_actor(request), member=member)
    return Status(204, None)


def _own_member(request: HttpRequest) -> Member:
    member = selectors.member_of_user(user=request_user(request))
    if member is None:
        raise NotBound()
    return member


@router.get("/me/dependants", response=list[DependantOut])
def dependant_list_api(request: HttpRequest) -> list[dict[str, Any]]:
    return [dependant_out(d) for d in selectors.dependant_list_for_owner(owner=_own_member(request))]


@router.post("/me/dependants", response={201: DependantOut})
def dependant_add_api(request: HttpRequest, payload: DependantIn) -> Status[dict[str, Any]]:
    dependant = services.dependant_add(actor=request_actor(request), owner=_own_member(request), **payload.dict())
    return Status(201, dependant_out(dependant))


@router.delete("/me/dependants/{dependant_id}", response={204: None})
def dependant_remove_api(request: HttpRequest, dependant_id: UUID) -> Status[None]:
    actor = request_actor(request)
    services.dependant_remove(actor=actor, dependant=access_own_dependant(actor=actor, public_id=dependant_id))
    return Status(204, None)


@router.get("/members", response=list[StaffMemberOut])
def member_search_api(request: HttpRequest, q: str) -> list[dict[str, Any]]:
    require_perm(request_user(request), "identity.view_member")
    return [
        member_out(m) | {"account_username": m.account.username if m.account else None}
        for m in selectors.member_search(query=q)
    ]


@router.delete("/members/{member_id}/card", response={204: None})
def card_unbind_by_staff_api(request: HttpRequest, member_id: UUID) -> Status[None]:
    actor = request_actor(request)
    user = request_user(request)
    require_perm(user, "identity.view_member")
    member = access_member(actor=actor, public_id=member_id)
    require_perm(user, "identity.unbind_card")
    services.card_unbind(actor=actor, member=member)
    return Status(204, None)
