"""Admin pages: a local admin's areas and users for their agency; a system admin's list of agencies."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from caseframe.core import permissions
from caseframe.core.agencies import service as agencies
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.service import enabled_areas
from caseframe.core.context import Context
from caseframe.core.errors import ValidationFailed
from caseframe.core.web.auth import requires
from caseframe.core.web.pages import form_data, form_list, form_text, page, see_other

#: the agency's own admin pages (areas, users, retention, passwords): its local admin
local_admin_only = requires("agency.admin")


class AdminPages(Controller):
    path = "/admin"
    include_in_schema = False
    guards = [local_admin_only]

    @get("/")
    async def overview(self, request: Request) -> Redirect:
        return see_other("/admin/areas")

    @get("/areas")
    async def areas(self, request: Request, ctx: Context, actor: Actor) -> Template:
        enabled = await enabled_areas(actor.agency_id)
        return await page(
            request,
            "admin/areas.html",
            areas=list(ctx.areas),
            enabled=enabled,
            personal=False,
            orphaned=sorted(enabled - set(ctx.areas.areas)),
        )

    @post("/areas/{slug:str}")
    async def toggle_area(self, request: Request, ctx: Context, actor: Actor, slug: str) -> Redirect:
        data = await form_data(request)
        if form_text(data, "enable") == "yes":
            await agencies.enable_area(ctx, actor, actor.agency_id, slug)
        else:
            await agencies.disable_area(ctx, actor, actor.agency_id, slug)
        return see_other("/admin/areas")


user_admin_only = requires("users.manage")


def _users_url(actor, agency_id: int) -> str:
    return "/admin/users" if agency_id == actor.agency_id else f"/admin/agencies/{agency_id}/users"


def _roles_of(data: dict) -> list[str]:
    return form_list(data, "roles")


async def users_page(
    request: Request, actor: Actor, agency_id: int, values: dict, errors: list[dict], status_code: int = 200
) -> Template:
    """An agency's users, with the add-a-user form: a local admin's own agency, or any agency for a system admin."""
    agency = await agencies.get_agency(agency_id)
    return await page(
        request,
        "admin/users.html",
        agency=agency,
        users=await agencies.agency_users(agency_id),
        roles=agencies.assignable_roles(actor),
        values=values,
        errors=errors,
        personal=False,
        base=_users_url(actor, agency_id),
        error_title=bool(errors),
        status_code=status_code,
    )


async def add_user(request: Request, actor: Actor, agency_id: int) -> Template | Redirect:
    data = await form_data(request)
    try:
        await agencies.create_user(
            actor,
            email=form_text(data, "email"),
            name=form_text(data, "name"),
            agency_id=agency_id,
            roles=_roles_of(data),
            password=form_text(data, "password"),
            temporary=True,
        )
    except ValidationFailed as exc:
        values = {k: v for k, v in data.items() if k not in ("password", "csrf_token")}
        return await users_page(request, actor, agency_id, values, exc.errors, status_code=400)
    return see_other(_users_url(actor, agency_id) + "?done=user-added")


class UserAdminPages(Controller):
    """Users: added, given roles, deactivated (after a confirmation step) and reactivated. A local admin for
    their agency; a system admin for any agency (from Agencies), the first user of a new agency included."""

    path = "/admin/users"
    include_in_schema = False
    guards = [user_admin_only]

    @get("/")
    async def users(self, request: Request, actor: Actor) -> Template:
        return await users_page(request, actor, actor.agency_id, {}, [])

    @post("/")
    async def create_user(self, request: Request, actor: Actor) -> Template | Redirect:
        return await add_user(request, actor, actor.agency_id)

    async def _user(self, actor: Actor, user_id: int) -> dict[str, Any]:
        await agencies.managed_user(actor, user_id)
        return await agencies.get_user(user_id)

    @get("/{user_id:int}/deactivate")
    async def confirm_deactivate(self, request: Request, actor: Actor, user_id: int) -> Template:
        user = await self._user(actor, user_id)
        return await confirm_page(
            request,
            title=f"Deactivate {user['name']}?",
            caption=user["agency_name"],
            warning=f"{user['name']} is signed out at once and cannot sign in until reactivated. Their cases, "
            "tasks and records stay as they are.",
            action=f"/admin/users/{user_id}/active",
            fields={"active": "no"},
            button="Deactivate user",
            cancel=_users_url(actor, user["agency"]),
        )

    @post("/{user_id:int}/active")
    async def set_active(self, request: Request, actor: Actor, user_id: int) -> Template | Redirect:
        data = await form_data(request)
        active = form_text(data, "active") == "yes"
        user = await self._user(actor, user_id)
        if not active and form_text(data, "confirmed") != "yes":
            return see_other(f"/admin/users/{user_id}/deactivate")
        try:
            await agencies.set_user_active(actor, user_id, active)
        except ValidationFailed as exc:
            return await users_page(request, actor, user["agency"], {}, exc.errors, status_code=400)
        return see_other(
            _users_url(actor, user["agency"])
            + f"?done={'user-reactivated' if active else 'user-deactivated'}"
        )

    @post("/{user_id:int}/mfa-reset")
    async def reset_mfa(self, actor: Actor, user_id: int) -> Redirect:
        from caseframe.core.auth import mfa

        await mfa.reset_for_user(actor, user_id)
        return see_other("/admin/users?done=mfa-reset")

    @get("/{user_id:int}/roles")
    async def edit_roles(self, request: Request, actor: Actor, user_id: int) -> Template:
        user = await self._user(actor, user_id)
        return await self._roles_page(request, actor, user, user["roles"], [])

    async def _roles_page(
        self,
        request: Request,
        actor: Actor,
        user: dict,
        chosen: list[str],
        errors: list[dict],
        status_code: int = 200,
    ) -> Template:
        return await page(
            request,
            "admin/user_roles.html",
            user=user,
            chosen=chosen,
            errors=errors,
            kept=permissions.kept_roles(actor, user["roles"] or []),
            roles=agencies.assignable_roles(actor),
            cancel=_users_url(actor, user["agency"]),
            personal=False,
            error_title=bool(errors),
            status_code=status_code,
        )

    @post("/{user_id:int}/roles")
    async def set_roles(self, request: Request, actor: Actor, user_id: int) -> Template | Redirect:
        user = await self._user(actor, user_id)
        roles = _roles_of(await form_data(request))
        try:
            await agencies.set_user_roles(actor, user_id, roles)
        except ValidationFailed as exc:
            return await self._roles_page(request, actor, user, roles, exc.errors, status_code=400)
        return see_other(_users_url(actor, user["agency"]) + "?done=roles-saved")


async def confirm_page(
    request: Request,
    *,
    title: str,
    warning: str,
    action: str,
    fields: dict[str, str],
    button: str,
    cancel: str,
    caption: str = "",
    personal: bool = False,
) -> Template:
    """A confirmation step before something hard to undo: a page of its own (works without JavaScript) whose
    button posts the same form again with confirmed=yes."""
    return await page(
        request,
        "partials/confirm.html",
        title=title,
        caption=caption,
        warning=warning,
        action=action,
        fields=fields,
        button=button,
        cancel=cancel,
        personal=personal,
    )


system_admin_only = requires("agencies.manage")


def _fields(data: dict[str, Any], *names: str) -> dict[str, str]:
    return {n: form_text(data, n) for n in names}


class AgencyAdminPages(Controller):
    """The partnership's agencies: set up, renamed, deactivated and reactivated by a system admin."""

    path = "/admin/agencies"
    include_in_schema = False
    guards = [system_admin_only]

    async def _list_page(
        self, request: Request, ctx: Context, values: dict, errors: list[dict], status_code: int = 200
    ) -> Template:
        return await page(
            request,
            "admin/agencies.html",
            agencies=await agencies.list_agencies(),
            types=ctx.areas.agency_types,
            values=values,
            errors=errors,
            personal=False,
            error_title=bool(errors),
            status_code=status_code,
        )

    async def _edit_page(
        self,
        request: Request,
        ctx: Context,
        agency_id: int,
        values: dict | None,
        errors: list[dict],
        status_code: int = 200,
    ) -> Template:
        agency = await agencies.get_agency(agency_id)
        return await page(
            request,
            "admin/agency.html",
            agency=agency,
            types=ctx.areas.agency_types,
            values=values if values is not None else agency,
            errors=errors,
            personal=False,
            error_title=bool(errors),
            status_code=status_code,
        )

    @get("/")
    async def list_agencies(self, request: Request, ctx: Context) -> Template:
        return await self._list_page(request, ctx, {}, [])

    @post("/")
    async def create(self, request: Request, ctx: Context, actor: Actor) -> Template | Redirect:
        data = _fields(await form_data(request), "name", "slug", "agency_type", "contact_email")
        try:
            await agencies.create_agency(ctx, actor, **data)
        except ValidationFailed as exc:
            return await self._list_page(request, ctx, data, exc.errors, status_code=400)
        return see_other("/admin/agencies?done=agency-created")

    @get("/{agency_id:int}/users")
    async def users(self, request: Request, actor: Actor, agency_id: int) -> Template:
        return await users_page(request, actor, agency_id, {}, [])

    @post("/{agency_id:int}/users")
    async def create_user(self, request: Request, actor: Actor, agency_id: int) -> Template | Redirect:
        return await add_user(request, actor, agency_id)

    @get("/{agency_id:int}")
    async def edit(self, request: Request, ctx: Context, agency_id: int) -> Template:
        return await self._edit_page(request, ctx, agency_id, None, [])

    @post("/{agency_id:int}")
    async def update(
        self, request: Request, ctx: Context, actor: Actor, agency_id: int
    ) -> Template | Redirect:
        data = _fields(await form_data(request), "name", "contact_email")
        try:
            await agencies.update_agency(actor, agency_id, **data)
        except ValidationFailed as exc:
            return await self._edit_page(request, ctx, agency_id, data, exc.errors, status_code=400)
        return see_other("/admin/agencies?done=agency-saved")

    @post("/{agency_id:int}/active")
    async def set_active(
        self, request: Request, ctx: Context, actor: Actor, agency_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        active = form_text(data, "active") == "yes"
        if not active and form_text(data, "confirmed") != "yes":
            agency = await agencies.get_agency(agency_id)
            return await confirm_page(
                request,
                title=f"Deactivate {agency['name']}?",
                caption="Agencies",
                warning="All its users are signed out at once and cannot sign in until the agency is reactivated. "
                "Its cases, shares and records stay as they are.",
                action=f"/admin/agencies/{agency_id}/active",
                fields={"active": "no"},
                button="Deactivate agency",
                cancel=f"/admin/agencies/{agency_id}",
            )
        try:
            await agencies.set_agency_active(actor, agency_id, active)
        except ValidationFailed as exc:
            return await self._edit_page(request, ctx, agency_id, None, exc.errors, status_code=400)
        return see_other(f"/admin/agencies?done={'agency-reactivated' if active else 'agency-deactivated'}")
