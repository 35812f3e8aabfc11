"""Admin pages: a local admin's areas and users for their agency; a system admin's list of agencies."""
from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.response import Redirect, Template

from core.agencies import service as agencies
from core.auth.actor import ROLES
from core.cases.service import enabled_areas
from core.errors import ValidationFailed
from core.web.auth import current_actor
from core.web.pages import ctx_of, form_data, page, see_other

ASSIGNABLE_ROLES = [r for r in ROLES if r != "system_admin"]


def local_admin_only(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    if not current_actor(connection).has("local_admin"):
        raise PermissionDeniedException("Only a local admin can manage your agency’s areas and users")


class AdminPages(Controller):
    path = "/admin"
    include_in_schema = False
    guards = [local_admin_only]

    @get("/")
    async def overview(self, request: Request) -> Redirect:
        return see_other("/admin/areas")

    @get("/areas")
    async def areas(self, request: Request) -> Template:
        ctx, actor = ctx_of(request), current_actor(request)
        enabled = await enabled_areas(actor.agency_id)
        return await page(request, "admin/areas.html", areas=list(ctx.areas), enabled=enabled, personal=False,
                          orphaned=sorted(enabled - set(ctx.areas.areas)))

    @post("/areas/{slug:str}")
    async def toggle_area(self, request: Request, slug: str) -> Redirect:
        ctx, actor = ctx_of(request), current_actor(request)
        data = await form_data(request)
        if data.get("enable") == "yes":
            await agencies.enable_area(ctx, actor, actor.agency_id, slug)
        else:
            await agencies.disable_area(ctx, actor, actor.agency_id, slug)
        return see_other("/admin/areas")

    @get("/users")
    async def users(self, request: Request) -> Template:
        return await self._users_page(request, {}, [])

    async def _users_page(self, request: Request, values: dict, errors: list[dict], status_code: int = 200) -> Template:
        actor = current_actor(request)
        return await page(request, "admin/users.html", users=await agencies.agency_users(actor.agency_id),
                          roles=ASSIGNABLE_ROLES, values=values, errors=errors, personal=False,
                          error_title=bool(errors), status_code=status_code)

    @post("/users")
    async def create_user(self, request: Request) -> Template | Redirect:
        actor = current_actor(request)
        data = await form_data(request)
        roles = data.get("roles", [])
        roles = roles if isinstance(roles, list) else [roles] if roles else []
        if "system_admin" in roles:
            roles = []
        try:
            await agencies.create_user(actor, email=str(data.get("email", "")), name=str(data.get("name", "")),
                                       agency_id=actor.agency_id, roles=roles, password=str(data.get("password", "")),
                                       temporary=True)
        except ValidationFailed as exc:
            values = {k: v for k, v in data.items() if k not in ("password", "csrf_token")}
            return await self._users_page(request, values, exc.errors, status_code=400)
        return see_other("/admin/users")

    @post("/users/{user_id:int}/active")
    async def set_active(self, request: Request, user_id: int) -> Redirect:
        data = await form_data(request)
        await agencies.set_user_active(current_actor(request), user_id, data.get("active") == "yes")
        return see_other("/admin/users")

    @post("/users/{user_id:int}/mfa-reset")
    async def reset_mfa(self, request: Request, user_id: int) -> Redirect:
        from core.auth import mfa

        await mfa.reset_for_user(current_actor(request), user_id)
        return see_other("/admin/users?done=mfa-reset")

    @post("/users/{user_id:int}/roles")
    async def set_roles(self, request: Request, user_id: int) -> Redirect:
        data = await form_data(request)
        roles = data.get("roles", [])
        await agencies.set_user_roles(current_actor(request), user_id, roles if isinstance(roles, list) else [roles])
        return see_other("/admin/users")


def system_admin_only(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    if not current_actor(connection).has("system_admin"):
        raise PermissionDeniedException("Only a system admin can manage agencies")


def _fields(data: dict[str, Any], *names: str) -> dict[str, str]:
    return {n: str(data.get(n, "")) for n in names}


class AgencyAdminPages(Controller):
    """The partnership's agencies: set up, renamed, deactivated and reactivated by a system admin."""

    path = "/admin/agencies"
    include_in_schema = False
    guards = [system_admin_only]

    async def _list_page(self, request: Request, values: dict, errors: list[dict], status_code: int = 200) -> Template:
        return await page(request, "admin/agencies.html", agencies=await agencies.list_agencies(),
                          types=ctx_of(request).areas.agency_types, values=values, errors=errors, personal=False,
                          error_title=bool(errors), status_code=status_code)

    async def _edit_page(self, request: Request, agency_id: int, values: dict | None, errors: list[dict],
                         status_code: int = 200) -> Template:
        agency = await agencies.get_agency(agency_id)
        return await page(request, "admin/agency.html", agency=agency, types=ctx_of(request).areas.agency_types,
                          values=values if values is not None else agency, errors=errors, personal=False,
                          error_title=bool(errors), status_code=status_code)

    @get("/")
    async def list_agencies(self, request: Request) -> Template:
        return await self._list_page(request, {}, [])

    @post("/")
    async def create(self, request: Request) -> Template | Redirect:
        data = _fields(await form_data(request), "name", "slug", "agency_type", "contact_email")
        try:
            await agencies.create_agency(ctx_of(request), current_actor(request), **data)
        except ValidationFailed as exc:
            return await self._list_page(request, data, exc.errors, status_code=400)
        return see_other("/admin/agencies?done=agency-created")

    @get("/{agency_id:int}")
    async def edit(self, request: Request, agency_id: int) -> Template:
        return await self._edit_page(request, agency_id, None, [])

    @post("/{agency_id:int}")
    async def update(self, request: Request, agency_id: int) -> Template | Redirect:
        data = _fields(await form_data(request), "name", "contact_email")
        try:
            await agencies.update_agency(current_actor(request), agency_id, **data)
        except ValidationFailed as exc:
            return await self._edit_page(request, agency_id, data, exc.errors, status_code=400)
        return see_other("/admin/agencies?done=agency-saved")

    @post("/{agency_id:int}/active")
    async def set_active(self, request: Request, agency_id: int) -> Template | Redirect:
        active = (await form_data(request)).get("active") == "yes"
        try:
            await agencies.set_agency_active(current_actor(request), agency_id, active)
        except ValidationFailed as exc:
            return await self._edit_page(request, agency_id, None, exc.errors, status_code=400)
        return see_other(f"/admin/agencies?done={'agency-reactivated' if active else 'agency-deactivated'}")
