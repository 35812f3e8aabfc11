"""Pages for information sharing agreements: everyone reads their agency's; a system admin sets them up and ends them."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from caseframe.core import permissions
from caseframe.core.auth.actor import Actor
from caseframe.core.context import Context
from caseframe.core.errors import ValidationFailed
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.policy import PURPOSES, SENSITIVITY_LABELS
from caseframe.core.web.pages import form_data, form_list, form_text, page, see_other


class AgreementPages(Controller):
    path = "/sharing/agreements"
    include_in_schema = False

    @get("/")
    async def list_agreements(self, request: Request, ctx: Context, actor: Actor) -> Template:
        return await self._page(request, ctx, actor, {}, [])

    async def _page(
        self,
        request: Request,
        ctx: Context,
        actor: Actor,
        values: dict,
        errors: list[dict],
        status_code: int = 200,
    ) -> Template:
        found = await sharing.agreements_for(ctx, actor)
        return await page(
            request,
            "sharing/agreements.html",
            **found,
            values=values,
            errors={e["field"]: e["message"] for e in errors},
            error_list=errors,
            areas=list(ctx.areas),
            sensitivity=SENSITIVITY_LABELS,
            personal=False,
            can_manage=permissions.can(actor, "isa.manage"),
            error_title=bool(errors),
            status_code=status_code,
        )

    @post("/")
    async def create(self, request: Request, ctx: Context, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        try:
            await sharing.create_isa(
                ctx,
                actor,
                reference=form_text(data, "reference"),
                title=form_text(data, "title"),
                parties=form_list(data, "parties"),
                purposes=form_list(data, "purposes"),
                areas=form_list(data, "areas"),
                legal_basis=form_text(data, "legal_basis"),
                starts_on=form_text(data, "starts_on"),
                ends_on=form_text(data, "ends_on"),
                max_sensitivity=form_text(data, "max_sensitivity"),
            )
        except ValidationFailed as exc:
            values = {k: v for k, v in data.items() if k != "csrf_token"}
            return await self._page(request, ctx, actor, values, exc.errors, status_code=400)
        return see_other("/sharing/agreements?done=isa-created")

    @post("/{isa_id:int}/end")
    async def end(self, request: Request, ctx: Context, actor: Actor, isa_id: int) -> Template | Redirect:
        from caseframe.core.agencies.web import confirm_page

        data = await form_data(request)
        reason = form_text(data, "reason")
        try:
            if form_text(data, "confirmed") != "yes":
                isa = await sharing.isa_to_end(actor, isa_id, reason)
                return await confirm_page(
                    request,
                    title=f"End {isa['reference']} now?",
                    caption=isa["title"],
                    warning="Partners lose access to every case shared under it from today, and nothing more can "
                    "be shared under it. This cannot be undone: a new agreement would be needed.",
                    action=f"/sharing/agreements/{isa_id}/end",
                    fields={"reason": reason.strip()},
                    button="End agreement",
                    cancel="/sharing/agreements",
                )
            await sharing.end_isa(actor, isa_id, reason)
        except ValidationFailed as exc:
            return await self._page(
                request,
                ctx,
                actor,
                {},
                [{"field": f"/end/{isa_id}", "message": exc.errors[0]["message"]}],
                status_code=400,
            )
        return see_other("/sharing/agreements?done=isa-ended")


__all__ = ["AgreementPages", "PURPOSES"]
