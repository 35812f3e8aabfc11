"""The memorandum of understanding: a system admin publishes versions; every user accepts the current one at sign-in."""
from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from core import clock, permissions
from core.audit import service as audit
from core.auth import service as auth
from core.auth.actor import Actor
from core.auth.tables import Session, User
from core.db.tx import transaction
from core.errors import ValidationFailed
from core.sharing.tables import Mou, MouAcceptance
from core.web.auth import current_actor, session_token
from core.web.pages import form_data, form_int, page, safe_next, see_other


async def current_mou() -> dict[str, Any] | None:
    return await Mou.select().order_by(Mou.version, ascending=False).first()


async def publish_mou(actor: Actor, text: str) -> dict[str, Any]:
    """A new version; everyone accepts it at their next sign-in."""
    permissions.require(actor, "mou.publish")
    text = (text or "").strip()
    if len(text) < 20 or len(text) > 50000:
        raise ValidationFailed("Enter the memorandum's text", errors=[
            {"field": "/text", "message": "Enter the memorandum\u2019s text (20 to 50,000 characters)"}])
    async with transaction():
        latest = await current_mou()
        version = (latest["version"] if latest else 0) + 1
        await Mou.insert(Mou(version=version, text=text, published_by=actor.id or None, published_at=clock.now()))
        await audit.record("mou.publish", actor, object_type="mou", object_id=version)
    return await current_mou()


async def accept_mou(actor: Actor, session_id: int | None, version: int) -> None:
    """Record the acceptance of ``version`` (only the current one counts) and let the session through."""
    latest = await current_mou()
    if latest is None or latest["version"] != version:
        raise ValidationFailed("The memorandum has changed", errors=[
            {"field": "/version", "message": "The memorandum has been updated since you opened it. Read it again."}])
    async with transaction():
        await MouAcceptance.insert(MouAcceptance(user=actor.id, mou_version=version, session_id=session_id,
                                                 accepted_at=clock.now()))
        if session_id is not None:
            await Session.update({Session.pending: ""}).where(Session.id == session_id)
        await audit.record("mou.accept", actor, object_type="mou", object_id=version)


class MouPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/mou", opt={"before_mou": True})
    async def show(self, request: Request) -> Template:
        return await page(request, "sharing/mou.html", mou=await current_mou(), personal=False,
                          next=safe_next(request.query_params.get("next")), nav_hidden=True)

    @post("/mou", opt={"before_mou": True})
    async def accept(self, request: Request) -> Template | Redirect:
        data = await form_data(request)
        actor = current_actor(request)
        version = form_int(data.get("version")) or 0
        if data.get("accept") != "yes":
            return await page(request, "sharing/mou.html", mou=await current_mou(), personal=False, nav_hidden=True,
                              error="Select that you accept the memorandum of understanding to continue",
                              next=safe_next(str(data.get("next", ""))), error_title=True, status_code=400)
        try:
            await accept_mou(actor, await auth.session_id_for_token(session_token(request)), version)
        except ValidationFailed as exc:
            return await page(request, "sharing/mou.html", mou=await current_mou(), personal=False, nav_hidden=True,
                              error=exc.errors[0]["message"], next=safe_next(str(data.get("next", ""))),
                              error_title=True, status_code=400)
        return see_other(safe_next(str(data.get("next", ""))))

    @get("/sharing/mou")
    async def admin(self, request: Request) -> Template:
        actor = current_actor(request)
        permissions.require(actor, "mou.publish")
        return await self._admin_page(request, "", "")

    async def _admin_page(self, request: Request, text: str, error: str, status_code: int = 200) -> Template:
        latest = await current_mou()
        accepted = []
        if latest:
            accepted = await MouAcceptance.select(MouAcceptance.accepted_at, MouAcceptance.user.name.as_alias("name"),
                                                  MouAcceptance.user.agency.name.as_alias("agency")).where(
                MouAcceptance.mou_version == latest["version"]).order_by(MouAcceptance.id, ascending=False).limit(100)
        users = await User.count().where(User.active == True)  # noqa: E712
        return await page(request, "sharing/mou_admin.html", mou=latest, accepted=accepted, users=users,
                          text=text or (latest["text"] if latest else ""), error=error, personal=False,
                          error_title=bool(error), status_code=status_code)

    @post("/sharing/mou")
    async def publish(self, request: Request) -> Template | Redirect:
        data = await form_data(request)
        try:
            await publish_mou(current_actor(request), str(data.get("text", "")))
        except ValidationFailed as exc:
            return await self._admin_page(request, str(data.get("text", "")), exc.errors[0]["message"], 400)
        return see_other("/sharing/mou?done=mou-published")
