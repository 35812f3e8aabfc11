"""Subject access requests in the admin pages: the agency's requests with their deadlines, recording one, and a
request's page to download the export (PDF, JSON, or a zip with the documents), extend the deadline and close it."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from caseframe.core.auth.actor import Actor
from caseframe.core.context import Context
from caseframe.core.errors import ValidationFailed
from caseframe.core.sar import service as sar
from caseframe.core.web.auth import requires
from caseframe.core.web.pages import NO_STORE, form_data, form_date, form_text, page, see_other

DONE = {
    "created": "Request recorded. Its deadline is shown below.",
    "extended": "Deadline extended by two months. Tell the requester why, within the first month.",
    "closed": "Request closed.",
}


sar_admin_only = requires("sar.handle")


def _strings(data: dict[str, Any]) -> dict[str, str]:
    return {k: str(v)[:2000] for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}


class SarPages(Controller):
    path = "/admin/sar"
    include_in_schema = False
    guards = [sar_admin_only]

    @get("/")
    async def requests(self, request: Request, actor: Actor) -> Template:
        status = "closed" if request.query_params.get("status") == "closed" else "open"
        rows = await sar.list_requests(actor, status=status)
        return await page(request, "admin/sar_list.html", rows=rows, status=status)

    async def _new(
        self,
        request: Request,
        errors: list[dict] | None = None,
        values: dict | None = None,
        status_code: int = 200,
    ) -> Template:
        return await page(
            request,
            "admin/sar_new.html",
            errors=errors or [],
            values=values or {},
            errors_by={e["field"]: e["message"] for e in errors or []},
            error_title=bool(errors),
            status_code=status_code,
        )

    @get("/new")
    async def new(self, request: Request) -> Template:
        person = str(request.query_params.get("person_id", ""))[:20]
        return await self._new(request, values={"person_id": person} if person.isdigit() else {})

    @post("/new")
    async def create(self, request: Request, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        try:
            fields = {
                "person_id": form_text(data, "person_id"),
                "requester": form_text(data, "requester"),
                "notes": form_text(data, "notes"),
                "received_on": form_date(data, "received_on"),
            }
            made = await sar.create_request(actor, fields)
        except ValidationFailed as exc:
            return await self._new(request, exc.errors, _strings(data), status_code=400)
        return see_other(
            f"/admin/sar/{made['id']}?done=created" + ("&merged=1" if made["merged_from"] else "")
        )

    async def _show(
        self,
        request: Request,
        actor: Actor,
        sar_id: int,
        errors: list[dict] | None = None,
        values: dict | None = None,
        status_code: int = 200,
    ) -> Template:
        row = await sar.get_request(actor, sar_id)
        done = DONE.get(str(request.query_params.get("done", "")), "")
        return await page(
            request,
            "admin/sar_request.html",
            request_row=row,
            done=done,
            merged=request.query_params.get("merged") == "1",
            errors=errors or [],
            values=values or {},
            errors_by={e["field"]: e["message"] for e in errors or []},
            error_title=bool(errors),
            status_code=status_code,
        )

    @get("/{sar_id:int}")
    async def show(self, request: Request, actor: Actor, sar_id: int) -> Template:
        return await self._show(request, actor, sar_id)

    @post("/{sar_id:int}/export", status_code=200)
    async def export(self, request: Request, ctx: Context, actor: Actor, sar_id: int) -> Response | Template:
        data = await form_data(request)
        try:
            content, media, filename = await sar.export_request(ctx, actor, sar_id, form_text(data, "format"))
        except ValidationFailed as exc:
            return await self._show(request, actor, sar_id, exc.errors, _strings(data), status_code=400)
        return Response(
            content=content,
            media_type=media,
            headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @post("/{sar_id:int}/extend")
    async def extend(self, request: Request, actor: Actor, sar_id: int) -> Template | Redirect:
        data = await form_data(request)
        try:
            await sar.extend_request(actor, sar_id, form_text(data, "extension_reason"))
        except ValidationFailed as exc:
            return await self._show(request, actor, sar_id, exc.errors, _strings(data), status_code=400)
        return see_other(f"/admin/sar/{sar_id}?done=extended")

    @post("/{sar_id:int}/close")
    async def close(self, request: Request, actor: Actor, sar_id: int) -> Template | Redirect:
        data = await form_data(request)
        try:
            await sar.close_request(actor, sar_id, form_text(data, "closing_note"))
        except ValidationFailed as exc:
            return await self._show(request, actor, sar_id, exc.errors, _strings(data), status_code=400)
        return see_other(f"/admin/sar/{sar_id}?done=closed")
