"""The memorandum of understanding's pages: read and accept it at sign-in; a system admin publishes a version."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from caseframe.core import permissions
from caseframe.core.auth import service as auth
from caseframe.core.auth.actor import Actor
from caseframe.core.errors import ValidationFailed
from caseframe.core.sharing.mou import accept_mou, acceptances, current_mou, publish_mou
from caseframe.core.web.auth import session_token
from caseframe.core.web.pages import form_data, form_number, form_text, page, safe_next, see_other


class MouPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/mou", opt={"before_mou": True})
    async def show(self, request: Request) -> Template:
        return await page(
            request,
            "sharing/mou.html",
            mou=await current_mou(),
            personal=False,
            next=safe_next(request.query_params.get("next")),
            nav_hidden=True,
        )

    @post("/mou", opt={"before_mou": True})
    async def accept(self, request: Request, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        version = form_number(data, "version") or 0
        if form_text(data, "accept") != "yes":
            return await page(
                request,
                "sharing/mou.html",
                mou=await current_mou(),
                personal=False,
                nav_hidden=True,
                error="Select that you accept the memorandum of understanding to continue",
                next=safe_next(form_text(data, "next")),
                error_title=True,
                status_code=400,
            )
        try:
            await accept_mou(actor, await auth.session_id_for_token(session_token(request)), version)
        except ValidationFailed as exc:
            return await page(
                request,
                "sharing/mou.html",
                mou=await current_mou(),
                personal=False,
                nav_hidden=True,
                error=exc.errors[0]["message"],
                next=safe_next(form_text(data, "next")),
                error_title=True,
                status_code=400,
            )
        return see_other(safe_next(form_text(data, "next")))

    @get("/sharing/mou")
    async def admin(self, request: Request, actor: Actor) -> Template:
        permissions.require(actor, "mou.publish")
        return await self._admin_page(request, actor, "", "")

    async def _admin_page(
        self, request: Request, actor: Actor, text: str, error: str, status_code: int = 200
    ) -> Template:
        found = await acceptances(actor)
        latest = found["mou"]
        return await page(
            request,
            "sharing/mou_admin.html",
            **found,
            text=text or (latest["text"] if latest else ""),
            error=error,
            personal=False,
            error_title=bool(error),
            status_code=status_code,
        )

    @post("/sharing/mou")
    async def publish(self, request: Request, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        try:
            await publish_mou(actor, form_text(data, "text"))
        except ValidationFailed as exc:
            return await self._admin_page(
                request, actor, form_text(data, "text"), exc.errors[0]["message"], 400
            )
        return see_other("/sharing/mou?done=mou-published")
