"""The panel pack page of a meeting: the chair makes a pack for any attendee, an attendee downloads their own."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Template

from caseframe.core.auth.actor import Actor
from caseframe.core.context import Context
from caseframe.core.errors import ValidationFailed
from caseframe.core.numbers import whole_number
from caseframe.core.panels import pack
from caseframe.core.web.pages import NO_STORE, form_data, form_text, page


class PackPages(Controller):
    path = "/meetings/{meeting_id:int}/pack"
    include_in_schema = False

    async def _page(
        self,
        request: Request,
        actor: Actor,
        meeting_id: int,
        *,
        errors: list[dict[str, Any]] | None = None,
        failed_attendee: int | None = None,
        status_code: int = 200,
    ) -> Template:
        info = await pack.pack_page(actor, meeting_id)
        return await page(
            request,
            "pack/page.html",
            status_code=status_code,
            errors=errors or [],
            failed_attendee=failed_attendee,
            marking_text=pack.MARKING,
            guest_level=pack.GUEST_MAX_SENSITIVITY,
            **info,
        )

    @get("/")
    async def show(self, request: Request, actor: Actor, meeting_id: int) -> Template:
        return await self._page(request, actor, meeting_id)

    @post("/", status_code=200)
    async def download(
        self, request: Request, ctx: Context, actor: Actor, meeting_id: int
    ) -> Response | Template:
        """The recipient is named by attendee id in the form body, never in the address."""
        form = await form_data(request)
        # each read once: sent twice, refused with a clear message before any pack is made
        attendee_id, agency_id = form_text(form, "attendee_id"), form_text(form, "agency_id")
        try:
            pdf, filename = await pack.generate_pack(ctx, actor, meeting_id, attendee_id, agency_id)
        except ValidationFailed as exc:
            errors = [{"field": f"/agency-{attendee_id}", "message": e["message"]} for e in exc.errors]
            return await self._page(
                request,
                actor,
                meeting_id,
                errors=errors,
                status_code=400,
                failed_attendee=whole_number(attendee_id),
            )
        return Response(
            content=pdf,
            media_type="application/pdf",
            headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
        )
