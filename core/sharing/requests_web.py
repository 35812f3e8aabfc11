"""Access request pages: ask the agency holding a person's record to share it; it grants or refuses."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from caseframe.core import permissions
from caseframe.core.auth.actor import Actor
from caseframe.core.errors import NotFound, ValidationFailed
from caseframe.core.sharing.requests import (
    asking_form,
    grant_access,
    refuse_access,
    request_access,
    requests_for,
)
from caseframe.core.web.pages import form_data, form_number, form_text, page, see_other


class AccessRequestPages(Controller):
    path = "/sharing/requests"
    include_in_schema = False

    @get("/")
    async def list_requests(self, request: Request, actor: Actor) -> Template:
        return await self._page(request, actor)

    async def _page(
        self,
        request: Request,
        actor: Actor,
        errors: list[dict] | None = None,
        status_code: int = 200,
        asking: dict | None = None,
    ) -> Template:
        made, received = await requests_for(actor)
        return await page(
            request,
            "sharing/requests.html",
            made=made,
            received=received,
            asking=asking,
            can_decide=permissions.can(actor, "access_request.decide"),
            errors=errors or [],
            error_title=bool(errors),
            status_code=status_code,
        )

    @post("/new")
    async def ask(self, request: Request, actor: Actor) -> Template:
        """From a national-search result: the form asking for the reason (nothing is written yet)."""
        data = await form_data(request)
        person_id, agency_id = form_number(data, "person_id"), form_number(data, "agency_id")
        if person_id is None or agency_id is None:
            raise NotFound("No such person or agency")
        asking = await asking_form(actor, person_id, agency_id)
        return await self._page(request, actor, asking={**asking, "purpose": form_text(data, "purpose")})

    @post("/")
    async def create(self, request: Request, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        person_id, agency_id = form_number(data, "person_id"), form_number(data, "agency_id")
        if person_id is None or agency_id is None:
            raise NotFound("No such person or agency")
        try:
            await request_access(
                actor,
                person_id=person_id,
                holding_agency_id=agency_id,
                purpose=form_text(data, "purpose"),
                reason=form_text(data, "reason"),
            )
        except ValidationFailed as exc:
            asking = await asking_form(actor, person_id, agency_id)
            return await self._page(
                request,
                actor,
                exc.errors,
                400,
                asking={**asking, "purpose": form_text(data, "purpose"), "reason": form_text(data, "reason")},
            )
        return see_other("/sharing/requests?done=access-requested")

    @post("/{request_id:int}/decision")
    async def decide(self, request: Request, actor: Actor, request_id: int) -> Template | Redirect:
        data = await form_data(request)
        try:
            if form_text(data, "decision") == "grant":
                await grant_access(actor, request_id, form_text(data, "note"))
                return see_other("/sharing/requests?done=access-granted")
            if form_text(data, "decision") == "refuse":
                await refuse_access(actor, request_id, form_text(data, "note"))
                return see_other("/sharing/requests?done=access-refused")
            raise ValidationFailed(
                "Choose", errors=[{"field": "/decision", "message": "Select grant or refuse"}]
            )
        except ValidationFailed as exc:
            return await self._page(
                request, actor, [{**e, "field": f"/decision-{request_id}"} for e in exc.errors], 400
            )
