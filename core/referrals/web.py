"""Referral pages: the agency's inbox, one referral with why it was made, and deciding it."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from caseframe.core.auth.actor import Actor
from caseframe.core.cases import service as cases
from caseframe.core.context import Context
from caseframe.core.errors import Conflict, ValidationFailed
from caseframe.core.forms.parse import parse_form
from caseframe.core.forms.render import error_summary, render_form
from caseframe.core.numbers import date_from_parts
from caseframe.core.referrals import inbox
from caseframe.core.web.pages import form_data, form_date_parts, form_number, form_text, page, see_other

BOXES = {"waiting": "Waiting", "decided": "Decided", "sent": "Sent by your agency"}


class ReferralPages(Controller):
    path = "/referrals"
    include_in_schema = False

    @get("/")
    async def list_referrals(self, request: Request, ctx: Context, actor: Actor) -> Template:
        box = request.query_params.get("box", "waiting")
        box = box if box in BOXES else "waiting"
        enabled = await cases.enabled_areas(actor.agency_id)
        areas = [a for a in ctx.areas if a.slug in enabled]
        area = request.query_params.get("area", "")
        area = area if any(a.slug == area for a in areas) else ""
        rows = await inbox.inbox(ctx, actor, box=box, area=area)
        return await page(
            request, "referrals/list.html", rows=rows, box=box, boxes=BOXES, areas=areas, area=area
        )

    @get("/{referral_id:int}")
    async def show(self, request: Request, ctx: Context, actor: Actor, referral_id: int) -> Template:
        return await _show(request, ctx, actor, referral_id)

    @post("/{referral_id:int}/decline")
    async def decline(
        self, request: Request, ctx: Context, actor: Actor, referral_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        return await _act(
            request,
            ctx,
            actor,
            referral_id,
            data,
            "declined",
            lambda ctx, actor: inbox.decline(
                ctx,
                actor,
                referral_id,
                version=form_number(data, "version"),
                reason=form_text(data, "reason"),
            ),
        )

    @post("/{referral_id:int}/ask")
    async def ask(
        self, request: Request, ctx: Context, actor: Actor, referral_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        return await _act(
            request,
            ctx,
            actor,
            referral_id,
            data,
            "asked",
            lambda ctx, actor: inbox.request_info(
                ctx,
                actor,
                referral_id,
                version=form_number(data, "version"),
                question=form_text(data, "question"),
            ),
        )

    @post("/{referral_id:int}/answer")
    async def answer(
        self, request: Request, ctx: Context, actor: Actor, referral_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        return await _act(
            request,
            ctx,
            actor,
            referral_id,
            data,
            "answered",
            lambda ctx, actor: inbox.give_info(
                ctx,
                actor,
                referral_id,
                version=form_number(data, "version"),
                answer=form_text(data, "answer"),
            ),
        )

    @post("/{referral_id:int}/link")
    async def link(
        self, request: Request, ctx: Context, actor: Actor, referral_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        return await _act(
            request,
            ctx,
            actor,
            referral_id,
            data,
            "linked",
            lambda ctx, actor: inbox.accept_link(
                ctx,
                actor,
                referral_id,
                version=form_number(data, "version"),
                case_id=form_number(data, "case_id"),
            ),
        )

    @post("/{referral_id:int}/panel")
    async def to_panel(
        self, request: Request, ctx: Context, actor: Actor, referral_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        due = None
        parts = form_date_parts(data, "review_due")
        if any(parts):
            due = date_from_parts(*parts)
            if due is None:
                return await _show(
                    request,
                    ctx,
                    actor,
                    referral_id,
                    errors=[
                        {"field": "/review_due", "message": "Review date must be a real date, like 27 3 2027"}
                    ],
                    values=data,
                )
        return await _act(
            request,
            ctx,
            actor,
            referral_id,
            data,
            "on-panel",
            lambda ctx, actor: inbox.accept_to_panel(
                ctx, actor, referral_id, version=form_number(data, "version"), review_due=due
            ),
        )

    @get("/{referral_id:int}/accept")
    async def accept_form(self, request: Request, ctx: Context, actor: Actor, referral_id: int) -> Template:
        referral = await inbox.get_referral(ctx, actor, referral_id)
        area_slug = request.query_params.get("area", "")
        return await _accept_page(
            request, ctx, actor, referral, area_slug, None, [], await inbox.source_role(referral)
        )

    @post("/{referral_id:int}/accept")
    async def accept(
        self, request: Request, ctx: Context, actor: Actor, referral_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        referral = await inbox.get_referral(ctx, actor, referral_id, audit_view=False)
        area_slug, role = form_text(data, "area"), form_text(data, "role")
        area = ctx.areas.get(area_slug)
        answers = parse_form(area.forms[area.opening_form], data) if area else {}
        try:
            case = await inbox.accept_new_case(
                ctx,
                actor,
                referral_id,
                version=form_number(data, "version"),
                area_slug=area_slug,
                answers=answers,
                role=role,
            )
        except ValidationFailed as exc:
            await inbox.record_referral_view(actor, referral_id)
            return await _accept_page(request, ctx, actor, referral, area_slug, answers, exc.errors, role)
        except Conflict as exc:
            return await _show(request, ctx, actor, referral_id, conflict=exc.message)
        return see_other(f"/cases/{case['id']}?done=referral-accepted")


async def _act(
    request: Request, ctx: Context, actor: Actor, referral_id: int, data: dict[str, Any], done: str, action
) -> Template | Redirect:
    try:
        await action(ctx, actor)
    except ValidationFailed as exc:
        return await _show(request, ctx, actor, referral_id, errors=exc.errors, values=data)
    except Conflict as exc:
        return await _show(request, ctx, actor, referral_id, conflict=exc.message)
    return see_other(f"/referrals/{referral_id}?done=referral-{done}")


async def _show(
    request: Request,
    ctx: Context,
    actor: Actor,
    referral_id: int,
    *,
    errors: list[dict] | None = None,
    values: dict[str, Any] | None = None,
    conflict: str = "",
) -> Template:
    referral = await inbox.get_referral(ctx, actor, referral_id, audit_view=not (errors or conflict))
    enabled = await cases.enabled_areas(actor.agency_id)
    areas = [a for a in ctx.areas if a.slug in enabled]
    # into the area it was referred to, else the area it came from, when the agency works in it
    suggested = referral["target"] if referral["target_kind"] == "area" else referral["source_area"]
    suggested = suggested if suggested in enabled else ""
    linkable = await inbox.linkable_cases(actor, referral) if referral["can_decide"] else []
    for c in linkable:
        c["area_title"] = ctx.areas.get(c["area"]).title if ctx.areas.get(c["area"]) else c["area"]
    status = 409 if conflict else 400 if errors else 200
    return await page(
        request,
        "referrals/show.html",
        r=referral,
        areas=areas,
        suggested=suggested,
        linkable=linkable,
        errors=errors or [],
        values=values or {},
        conflict=conflict,
        error_title=bool(errors or conflict),
        status_code=status,
    )


async def _accept_page(
    request: Request,
    ctx: Context,
    actor: Actor,
    referral: dict[str, Any],
    area_slug: str,
    answers: dict | None,
    errors: list[dict],
    role: str,
) -> Template:
    from caseframe.core.forms.validation import FieldError

    enabled = await cases.enabled_areas(actor.agency_id)
    areas = [a for a in ctx.areas if a.slug in enabled]
    area = ctx.areas.get(area_slug) if area_slug in enabled else None
    if area is None:
        wanted = referral["target"] if referral["target_kind"] == "area" else referral["source_area"]
        area = ctx.areas.get(wanted) if wanted in enabled else (areas[0] if areas else None)
    if area is None:
        return await _show(
            request,
            ctx,
            actor,
            referral["id"],
            errors=[
                {"field": "/area", "message": "Your agency has no business area enabled to open a case in"}
            ],
        )
    carried = inbox.carried_answers(ctx, referral, await inbox.source_case_row(referral), area.slug)
    form = area.forms[area.opening_form]
    field_errors = [
        FieldError(e["field"], e["message"]) for e in errors if e["field"] not in ("/role", "/area")
    ]
    other_errors = [e for e in errors if e["field"] in ("/role", "/area")]
    return await page(
        request,
        "referrals/accept.html",
        r=referral,
        area=area,
        areas=areas,
        form=form,
        role=role if role in area.roles else "",
        carried=carried,
        summary=error_summary(field_errors),
        other_errors=other_errors,
        fields=render_form(form, answers if answers is not None else carried, field_errors),
        error_title=bool(errors),
        status_code=400 if errors else 200,
    )
