"""Panel and meeting pages: set up panels, schedule and run meetings, and follow the minutes live."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage, Template

from caseframe.core import permissions
from caseframe.core.auth.actor import Actor
from caseframe.core.context import Context
from caseframe.core.db import MAX_ID
from caseframe.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from caseframe.core.numbers import date_from_parts, whole_number
from caseframe.core.panels import live, service
from caseframe.core.web.auth import session_token
from caseframe.core.web.pages import (
    NO_STORE,
    form_data,
    form_date_parts,
    form_int,
    form_list,
    form_number,
    form_text,
    page,
    see_other,
)

LONDON = ZoneInfo("Europe/London")
#: how often a follower checks for news even without a signal (and keeps the connection open)
HEARTBEAT_SECONDS = 15.0


def _date(data: dict[str, Any], name: str) -> dt.date | None:
    parts = form_date_parts(data, name)
    return date_from_parts(*parts) if all(parts) else None


def _when(data: dict[str, Any]) -> dt.datetime | None:
    day = _date(data, "starts")
    raw = form_text(data, "starts-time").strip()
    if day is None:
        return None
    hour, _, minute = raw.partition(":")
    try:
        return dt.datetime.combine(
            day, dt.time(whole_number(hour), whole_number(minute)), tzinfo=LONDON
        ).astimezone(dt.UTC)
    except (ValueError, TypeError):
        return None


class PanelPages(Controller):
    path = "/panels"
    include_in_schema = False

    @get("/")
    async def list_panels(self, request: Request, ctx: Context, actor: Actor) -> Template:
        return await _panels_page(request, ctx, actor)

    @post("/")
    async def create(self, request: Request, ctx: Context, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        try:
            panel = await service.save_panel(ctx, actor, **_panel_fields(data))
        except ValidationFailed as exc:
            return await _panels_page(request, ctx, actor, errors=exc.errors, values=data, status_code=400)
        return see_other(f"/panels/{panel['id']}?done=panel-saved")

    @get("/{panel_id:int}")
    async def show(self, request: Request, ctx: Context, actor: Actor, panel_id: int) -> Template:
        from caseframe.core.audit.service import record_read

        response = await _panel_page(request, ctx, actor, panel_id)
        # its cases and outstanding actions speak about cases: reading them is recorded
        await record_read("panel.view", actor, "panel", panel_id)
        return response

    @post("/{panel_id:int}")
    async def update(
        self, request: Request, ctx: Context, actor: Actor, panel_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        try:
            await service.save_panel(ctx, actor, panel_id=panel_id, **_panel_fields(data))
        except ValidationFailed as exc:
            return await _panel_page(
                request, ctx, actor, panel_id, errors=exc.errors, values=data, status_code=400
            )
        return see_other(f"/panels/{panel_id}?done=panel-saved")

    @post("/{panel_id:int}/cases/{panel_case_id:int}/close")
    async def close_case(
        self, request: Request, ctx: Context, actor: Actor, panel_id: int, panel_case_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        try:
            await service.close_panel_case(actor, panel_id, panel_case_id, reason=form_text(data, "reason"))
        except ValidationFailed as exc:
            errors = [{"field": f"/close-{panel_case_id}", "message": e["message"]} for e in exc.errors]
            return await _panel_page(
                request, ctx, actor, panel_id, errors=errors, values=data, status_code=400
            )
        return see_other(f"/panels/{panel_id}?done=panel-case-closed")

    @post("/{panel_id:int}/meetings")
    async def schedule(
        self, request: Request, ctx: Context, actor: Actor, panel_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        try:
            meeting = await service.schedule_meeting(
                actor,
                panel_id,
                starts_at=_when(data),
                location=form_text(data, "location"),
                link=form_text(data, "link"),
            )
        except ValidationFailed as exc:
            return await _panel_page(
                request, ctx, actor, panel_id, errors=exc.errors, values=data, status_code=400
            )
        return see_other(f"/meetings/{meeting['id']}?done=meeting-scheduled")


def _panel_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": form_text(data, "name"),
        "description": form_text(data, "description"),
        "member_agency_ids": [m for m in form_list(data, "members") if m],
        "areas": [a for a in form_list(data, "areas") if a],
        "frequency": form_text(data, "frequency"),
        "chair_agency_id": form_number(data, "chair_agency_id"),
    }


async def _panels_page(
    request: Request,
    ctx: Context,
    actor: Actor,
    *,
    errors: list | None = None,
    values: dict | None = None,
    status_code: int = 200,
) -> Template:
    return await page(
        request,
        "panels/list.html",
        panels=await service.panels_for(actor),
        agencies=await service.active_agencies(),
        areas=list(ctx.areas),
        frequencies=service.FREQUENCIES,
        errors=errors or [],
        values=values or {},
        can_create=permissions.can(actor, "panel.create"),
        error_title=bool(errors),
        status_code=status_code,
    )


async def _panel_page(
    request: Request,
    ctx: Context,
    actor: Actor,
    panel_id: int,
    *,
    errors: list | None = None,
    values: dict | None = None,
    status_code: int = 200,
) -> Template:
    panel = await service.visible_panel(actor, panel_id)
    listed = await service.listed_cases(actor, panel)
    is_chair = service.is_chair_of(actor, panel)
    return await page(
        request,
        "panels/show.html",
        panel=panel,
        listed=listed,
        agencies=await service.active_agencies(),
        meetings=await service.meetings_of(panel_id),
        actions=await service.outstanding_actions(panel_id, viewer=actor),
        areas=list(ctx.areas),
        frequencies=service.FREQUENCIES,
        statuses=service.STATUS_LABELS,
        is_chair=is_chair,
        errors=errors or [],
        values=values or {},
        error_title=bool(errors),
        status_code=status_code,
    )


class MeetingPages(Controller):
    path = "/meetings"
    include_in_schema = False

    @get("/{meeting_id:int}")
    async def show(self, request: Request, actor: Actor, meeting_id: int) -> Template:
        from caseframe.core.audit import service as audit
        from caseframe.core.db.tx import transaction

        response = await _meeting_page(request, actor, meeting_id)
        async with transaction():  # the agenda and minutes speak about cases: reading them is recorded
            await audit.record("meeting.view", actor, object_type="meeting", object_id=meeting_id)
        return response

    @post("/{meeting_id:int}/attendees")
    async def add_attendee(self, request: Request, actor: Actor, meeting_id: int) -> Template | Redirect:
        data = await form_data(request)
        return await _act(
            request,
            actor,
            meeting_id,
            data,
            "attendee-added",
            service.add_attendee(
                actor,
                meeting_id,
                user_id=form_number(data, "user_id"),
                name=form_text(data, "name"),
                email=form_text(data, "email"),
                organisation=form_text(data, "organisation"),
                agency_id=form_number(data, "agency_id"),
                version=form_number(data, "version"),
            ),
        )

    @post("/{meeting_id:int}/agenda")
    async def add_item(self, request: Request, actor: Actor, meeting_id: int) -> Template | Redirect:
        data = await form_data(request)
        kind, _, case = form_text(data, "item", "other:").partition(":")
        return await _act(
            request,
            actor,
            meeting_id,
            data,
            "item-added",
            service.add_agenda_item(
                actor,
                meeting_id,
                kind=kind,
                case_id=form_int(case),
                title=form_text(data, "title"),
                version=form_number(data, "version"),
            ),
        )

    @post("/{meeting_id:int}/agenda/{item_id:int}/remove")
    async def remove_item(
        self, request: Request, actor: Actor, meeting_id: int, item_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        return await _act(
            request,
            actor,
            meeting_id,
            data,
            "item-removed",
            service.remove_agenda_item(actor, meeting_id, item_id, version=form_number(data, "version")),
        )

    @post("/{meeting_id:int}/status")
    async def status(self, request: Request, actor: Actor, meeting_id: int) -> Template | Redirect:
        data = await form_data(request)
        to = form_text(data, "to")
        if to == "closed" and form_text(data, "confirmed") != "yes":
            return await _confirm_close(request, actor, meeting_id, form_number(data, "version"))
        return await _act(
            request,
            actor,
            meeting_id,
            data,
            f"meeting-{to.replace('_', '-')}",
            service.set_status(
                actor,
                meeting_id,
                to,
                version=form_number(data, "version"),
                minute_taker_id=form_number(data, "minute_taker"),
            ),
        )

    @post("/{meeting_id:int}/minutes")
    async def add_minute(
        self, request: Request, ctx: Context, actor: Actor, meeting_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        due = _date(data, "due")
        if due is None and any(form_date_parts(data, "due")):
            errors = [{"field": "/due_date", "message": "The due date must be a real date, like 27 3 2027"}]
            return await _minutes_response(request, actor, meeting_id, errors=errors, values=data)
        try:
            await service.add_minute(
                ctx,
                actor,
                meeting_id,
                item_id=form_number(data, "item_id"),
                kind=form_text(data, "kind"),
                text=form_text(data, "text"),
                owner_agency_id=form_number(data, "owner_agency_id"),
                assignee_id=form_number(data, "assignee_id"),
                due_date=due,
                supersedes=form_number(data, "supersedes"),
            )
        except ValidationFailed as exc:
            return await _minutes_response(request, actor, meeting_id, errors=exc.errors, values=data)
        except Conflict as exc:
            return await _meeting_page(request, actor, meeting_id, conflict=exc.message, status_code=409)
        if request.headers.get("hx-request") == "true":
            return await _minutes_response(
                request, actor, meeting_id, values={"item_id": form_text(data, "item_id")}
            )
        return see_other(f"/meetings/{meeting_id}?done=minute-added#minutes")

    @get("/{meeting_id:int}/minutes/assignees")
    async def action_assignees(self, request: Request, actor: Actor, meeting_id: int) -> Template:
        """The action's person list for the chosen owning agency (htmx swaps it in when the agency changes)."""
        meeting = await service.visible_meeting(actor, meeting_id)
        if not (meeting["is_chair"] or meeting["is_minute_taker"]):
            raise Forbidden("Only the chair or the minute-taker writes the minutes")
        owner = form_int(request.query_params.get("owner_agency_id"))
        return await page(
            request,
            "meetings/_assignee_select.html",
            errors=[],
            member_users=await service.member_users(meeting["panel_row"]),
            values={"owner_agency_id": str(owner) if owner else ""},
        )

    @get("/{meeting_id:int}/events")
    async def events(self, request: Request, actor: Actor, meeting_id: int) -> ServerSentEvent:
        """Server-sent events: each new minute as HTML, as far as the follower may see it."""
        meeting = await service.visible_meeting(actor, meeting_id)
        from caseframe.core.audit.service import record_read

        # following the minutes live reads them as the page does
        await record_read("meeting.view", actor, "meeting", meeting_id, detail={"live": True})
        # the chair and the minute-taker get a "Correct" link on entries arriving live, as on the page
        may_correct = bool(meeting["is_chair"] or meeting["is_minute_taker"])
        header = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
        # an entry number past any id (a crafted Last-Event-ID or ?after=) names no entry yet: read as the last id,
        # where the database driver refused the number mid-stream (a traceback after the response had started)
        after = min(whole_number(header) or 0, MAX_ID)
        template = request.app.template_engine.get_template("meetings/_minute.html")
        token = session_token(request)

        async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
            nonlocal after
            news = await live.follow(meeting_id)
            status = None
            heartbeat = False
            try:
                while True:
                    # the stream lives no longer than the session and the access it was opened with: checked
                    # before anything is sent and at every heartbeat, so sign-out (here or everywhere), expiry
                    # and a lost membership end it
                    if not await _may_follow(token, actor, meeting_id):
                        return
                    if heartbeat:
                        yield ServerSentEventMessage(comment="still here")
                    # and which cases' entries it may read, afresh each time
                    seen_cases: dict[int, bool] = {}
                    since = after

                    async def news_since() -> tuple[str, list[dict[str, Any]], dict[int, dict[str, Any]]]:
                        status_now = await service.meeting_status(meeting_id)
                        new = await service.minutes(meeting_id, after=since)  # noqa: B023 (awaited in this pass)
                        # entries a new one corrects, read again so followers' pages mark them as corrected
                        corrected = [m["corrects"] for m in new if m["corrects"]]
                        old = await service.minutes(meeting_id, ids=corrected) if corrected else []
                        return status_now, new, {m["id"]: m for m in old}

                    current, new_minutes, corrected = await live.shared_read(
                        (meeting_id, since, live.generation(meeting_id)), news_since
                    )
                    if status is not None and current != status:
                        yield ServerSentEventMessage(
                            event="status", data=service.STATUS_LABELS.get(current, "")
                        )
                    status = current
                    # read as this follower may: the words name no case they may not see (shared reads are copied)
                    new_minutes = await service.readable_minutes(actor, new_minutes, seen_cases)
                    corrected = {
                        m["id"]: m
                        for m in await service.readable_minutes(actor, list(corrected.values()), seen_cases)
                    }
                    for m in new_minutes:
                        after = m["id"]
                        html = template.render(
                            m=m, visible=m["visible"], correctable=may_correct and not m["superseded_by"]
                        )
                        if m["corrects"] in corrected:  # swapped in place of the entry already on the page
                            old = corrected[m["corrects"]]
                            html += template.render(
                                m=old, visible=old["visible"], correctable=False, oob=True
                            )
                        yield ServerSentEventMessage(
                            id=str(m["id"]), event="minute", data=html.replace("\n", " ")
                        )
                    try:
                        await asyncio.wait_for(news.wait(), HEARTBEAT_SECONDS)
                        heartbeat = False
                    except TimeoutError:
                        heartbeat = True
                    news.clear()
            finally:
                live.unfollow(meeting_id, news)

        return ServerSentEvent(stream(), headers={**NO_STORE, "X-Accel-Buffering": "no"})


async def _may_follow(token: str | None, actor, meeting_id: int) -> bool:
    """Whether the session a live stream was opened with is still signed in, as the same user, with
    nothing left to do, and may still see the meeting."""
    from caseframe.core.auth import service as auth

    found = await auth.session_for_token(token, touch=False)
    if found is None or found[0].id != actor.id or found[2]:
        return False
    try:
        await service.visible_meeting(found[0], meeting_id)
    except NotFound:
        return False
    return True


async def _act(
    request: Request, actor: Actor, meeting_id: int, data: dict[str, Any], done: str, action
) -> Template | Redirect:
    try:
        await action
    except ValidationFailed as exc:
        return await _meeting_page(
            request, actor, meeting_id, errors=exc.errors, values=data, status_code=400
        )
    except Conflict as exc:
        return await _meeting_page(request, actor, meeting_id, conflict=exc.message, status_code=409)
    return see_other(f"/meetings/{meeting_id}?done={done}")


async def _confirm_close(request: Request, actor: Actor, meeting_id: int, version: int | None) -> Template:
    """Closing is final (the minutes go onto each case's timeline): a confirmation page first."""
    from caseframe.core.agencies.web import confirm_page

    try:
        meeting = await service.meeting_to_move(actor, meeting_id, "closed", version=version)
    except Conflict as exc:
        return await _meeting_page(request, actor, meeting_id, conflict=exc.message, status_code=409)
    starts = meeting["starts_at"].astimezone(LONDON) if meeting["starts_at"] else None
    return await confirm_page(
        request,
        title="Close the meeting?",
        caption=meeting["panel_row"].get("name", "") + (f", {starts:%-d %B %Y}" if starts else ""),
        warning="Closing is final: no more minutes can be written, the minutes and decisions go onto each case’s "
        "timeline, and members stop reading the agenda cases.",
        action=f"/meetings/{meeting_id}/status",
        fields={"to": "closed", "version": str(meeting["version"])},
        button="Close the meeting",
        cancel=f"/meetings/{meeting_id}",
        personal=True,
    )


async def _meeting_context(actor: Actor, meeting_id: int) -> dict[str, Any]:
    meeting = await service.visible_meeting(actor, meeting_id)
    cache: dict[int, bool] = {}
    items = await service.agenda_for(actor, meeting_id, cache)
    minutes = await service.readable_minutes(actor, await service.minutes(meeting_id), cache)
    panel = meeting["panel_row"]
    members = await service.member_agencies(panel)
    can_minute = meeting["status"] == "in_progress" and (meeting["is_chair"] or meeting["is_minute_taker"])
    # the chair picks agenda items until the meeting starts
    picks = meeting["is_chair"] and meeting["status"] in ("planned", "published")
    return {
        "meeting": meeting,
        "panel": panel,
        "items": items,
        "minutes": minutes,
        "attendees": await service.attendees(meeting_id, reader=actor),
        "suggestions": await service.agenda_suggestions(meeting) if picks else [],
        "closed_listed": await service.closed_on_list(meeting) if picks else [],
        "member_agencies": members,
        "member_users": await service.member_users(panel) if (meeting["is_chair"] or can_minute) else [],
        "outstanding": await service.outstanding_actions(
            meeting["panel"], exclude_meeting=meeting_id, viewer=actor
        ),
        "can_minute": can_minute,
        "kinds": service.MINUTE_KINDS,
        "statuses": service.STATUS_LABELS,
        "last_minute": minutes[-1]["id"] if minutes else 0,
        "starts_local": meeting["starts_at"].astimezone(LONDON) if meeting["starts_at"] else None,
    }


async def _meeting_page(
    request: Request,
    actor: Actor,
    meeting_id: int,
    *,
    errors: list | None = None,
    values: dict | None = None,
    conflict: str = "",
    status_code: int = 200,
) -> Template:
    context = await _meeting_context(actor, meeting_id)
    correct = form_int(request.query_params.get("correct"))
    if values is None and correct and context["can_minute"]:
        # "Correct" on an entry: the form starts from it, and the new entry supersedes it
        old = next((m for m in context["minutes"] if m["id"] == correct and not m["superseded_by"]), None)
        if old is not None:
            values = {
                "item_id": str(old["item"]),
                "kind": old["kind"],
                "text": old["text"],
                "supersedes": str(old["id"]),
            }
    return await page(
        request,
        "meetings/show.html",
        **context,
        errors=errors or [],
        values=values or {},
        correcting=bool(values and values.get("supersedes")),
        conflict=conflict,
        error_title=bool(errors or conflict),
        status_code=status_code,
    )


async def _minutes_response(
    request: Request, actor: Actor, meeting_id: int, *, errors: list | None = None, values: dict | None = None
) -> Template:
    if request.headers.get("hx-request") == "true":
        context = await _meeting_context(actor, meeting_id)
        return await page(
            request,
            "meetings/_minute_form.html",
            **context,
            errors=errors or [],
            values=values or {},
            status_code=200,
        )
    return await _meeting_page(
        request, actor, meeting_id, errors=errors, values=values, status_code=400 if errors else 200
    )
