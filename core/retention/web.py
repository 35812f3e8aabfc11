"""The local admin's retention pages: the review queue, one case's decisions, and the agency's retention periods."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from caseframe.core import clock
from caseframe.core.agencies.web import confirm_page, local_admin_only
from caseframe.core.auth.actor import Actor
from caseframe.core.context import Context
from caseframe.core.errors import ValidationFailed
from caseframe.core.retention import service as retention
from caseframe.core.web.pages import form_data, form_text, page, see_other

DONE = {
    "extended": "The case is kept until the new date.",
    "held": "The case is on legal hold.",
    "released": "The legal hold is released.",
    "restricted": "The case is restricted.",
    "unrestricted": "The restriction is lifted.",
    "erased": "The case was erased. A tombstone is kept in the audit trail.",
    "period": "Your agency's retention period is saved.",
}


class RetentionPages(Controller):
    path = "/admin/retention"
    include_in_schema = False
    guards = [local_admin_only]

    async def _queue(
        self,
        request: Request,
        ctx: Context,
        actor: Actor,
        errors: list[dict] | None = None,
        values: dict | None = None,
        status_code: int = 200,
    ) -> Template:
        items = await retention.view_queue(ctx, actor)
        periods = await retention.agency_periods(ctx, actor.agency_id)
        done = DONE.get(str(request.query_params.get("done", "")), "")
        return await page(
            request,
            "admin/retention.html",
            items=items,
            periods=list(periods.values()),
            done=done,
            errors=errors or [],
            values=values or {},
            personal=False,
            error_title=bool(errors),
            status_code=status_code,
        )

    @get("/")
    async def queue(self, request: Request, ctx: Context, actor: Actor) -> Template:
        return await self._queue(request, ctx, actor)

    @post("/periods")
    async def set_period(self, request: Request, ctx: Context, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        try:
            await retention.set_period(
                ctx,
                actor,
                form_text(data, "period_area")[:40],
                form_text(data, "period_years"),
                form_text(data, "period_reason"),
            )
        except ValidationFailed as exc:
            return await self._queue(request, ctx, actor, exc.errors, _strings(data), status_code=400)
        return see_other("/admin/retention?done=period")

    async def _case(
        self,
        request: Request,
        ctx: Context,
        actor: Actor,
        case_id: int,
        errors: list[dict] | None = None,
        values: dict | None = None,
        status_code: int = 200,
    ) -> Template:
        info = await retention.case_summary(ctx, actor, case_id)
        return await page(
            request,
            "admin/retention_case.html",
            case=info,
            errors=errors or [],
            values=values or {},
            today=clock.today(),
            errors_by={e["field"]: e["message"] for e in errors or []},
            personal=False,
            error_title=bool(errors),
            status_code=status_code,
        )

    @get("/{case_id:int}")
    async def case(self, request: Request, ctx: Context, actor: Actor, case_id: int) -> Template:
        await retention.view_case(ctx, actor, case_id)
        return await self._case(request, ctx, actor, case_id)

    @post("/{case_id:int}/extend")
    async def extend(self, request: Request, ctx: Context, actor: Actor, case_id: int) -> Template | Redirect:
        data = await form_data(request)
        try:
            await retention.extend(
                ctx, actor, case_id, form_text(data, "until"), form_text(data, "extend_reason")
            )
        except ValidationFailed as exc:
            return await self._case(request, ctx, actor, case_id, exc.errors, _strings(data), status_code=400)
        return see_other("/admin/retention?done=extended")

    @post("/{case_id:int}/hold")
    async def hold(self, request: Request, ctx: Context, actor: Actor, case_id: int) -> Template | Redirect:
        data = await form_data(request)
        try:
            on = form_text(data, "hold") == "yes"
            await retention.set_legal_hold(ctx, actor, case_id, on, form_text(data, "hold_reason"))
        except ValidationFailed as exc:
            return await self._case(request, ctx, actor, case_id, exc.errors, _strings(data), status_code=400)
        return see_other("/admin/retention?done=" + ("held" if on else "released"))

    @post("/{case_id:int}/restrict")
    async def restrict(
        self, request: Request, ctx: Context, actor: Actor, case_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        try:
            on = form_text(data, "restrict") == "yes"
            await retention.set_restricted(ctx, actor, case_id, on, form_text(data, "restrict_reason"))
        except ValidationFailed as exc:
            return await self._case(request, ctx, actor, case_id, exc.errors, _strings(data), status_code=400)
        return see_other("/admin/retention?done=" + ("restricted" if on else "unrestricted"))

    @post("/{case_id:int}/erase")
    async def erase(self, request: Request, ctx: Context, actor: Actor, case_id: int) -> Template | Redirect:
        data = await form_data(request)
        reason = form_text(data, "erase_reason")
        if form_text(data, "confirmed") != "yes":
            info = await retention.case_summary(ctx, actor, case_id)
            try:
                retention._reason(reason, "erase_reason", "why the case is erased")
            except ValidationFailed as exc:
                return await self._case(
                    request, ctx, actor, case_id, exc.errors, _strings(data), status_code=400
                )
            return await confirm_page(
                request,
                title=f"Erase case {info['reference']}?",
                caption=info["area_title"],
                warning="Its answers, notes, tasks' text, documents and the links to the people on it are removed "
                "for good; people on no other case are anonymised. Only a tombstone is kept. This cannot "
                "be undone.",
                action=f"/admin/retention/{case_id}/erase",
                fields={"erase_reason": reason[: retention.MAX_REASON]},
                button="Erase case",
                cancel=f"/admin/retention/{case_id}",
            )
        try:
            await retention.erase(ctx, actor, case_id, reason)
        except ValidationFailed as exc:
            return await self._case(request, ctx, actor, case_id, exc.errors, _strings(data), status_code=400)
        return see_other("/admin/retention?done=erased")


def _strings(data: dict[str, Any]) -> dict[str, str]:
    return {k: str(v)[:1000] for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}
