"""Case pages: area lists, opening a case from its form, the case page and the work done on it."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
from collections import OrderedDict
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from markupsafe import Markup

from caseframe.core import clock, permissions
from caseframe.core.audit.service import record_read as audit_read
from caseframe.core.auth.actor import Actor
from caseframe.core.cases import lists, page_reads
from caseframe.core.cases import service as cases
from caseframe.core.context import Context
from caseframe.core.db import MAX_ID
from caseframe.core.db.engine import quick_reads
from caseframe.core.errors import CaseClosed, Conflict, Forbidden, ServiceError, ValidationFailed
from caseframe.core.forms import summary
from caseframe.core.forms.parse import parse_form
from caseframe.core.forms.render import error_summary, render_form
from caseframe.core.numbers import whole_number
from caseframe.core.persons import service as persons
from caseframe.core.referrals import service as referrals
from caseframe.core.referrals.queries import raised_from_case, referral_targets
from caseframe.core.searching import name_search_problem
from caseframe.core.sharing.policy import Access, readable_changes, visible_among
from caseframe.core.tasks import service as tasks
from caseframe.core.web.csv_export import csv_line, csv_stream, download_name
from caseframe.core.web.pages import (
    claim_submission,
    finish_submission,
    form_data,
    form_date,
    form_int,
    form_number,
    form_text,
    is_htmx,
    page,
    release_submission,
    see_other,
)


def _area_or_404(ctx: Context, slug: str):
    area = ctx.areas.get(slug)
    if area is None:
        raise NotFoundException()
    return area


_TIMELINES: OrderedDict[bytes, Markup] = OrderedDict()
TIMELINE_CACHE_SIZE = 200


def timeline_items(request: Request, case: dict[str, Any], events: list[dict[str, Any]]) -> Markup:
    """The timeline's list as HTML, rendered once per version of what it shows and then reused.

    Rendering 100 entries is the dearest part of the case page. The key is a digest of everything the
    list shows (each entry's kind, text, author, time and the changes this reader may see, and the case's
    reference), so a new entry, a renamed author or another reader's narrower view is a new key, never a
    stale page. The last ``TIMELINE_CACHE_SIZE`` lists are kept per process.
    """
    shown = repr(
        (
            case["reference"],
            [(e["id"], e["kind"], e["summary"], e["actor_name"], e["at"], e.get("changes")) for e in events],
        )
    )
    key = hashlib.sha256(shown.encode()).digest()
    html = _TIMELINES.get(key)
    if html is not None:
        _TIMELINES.move_to_end(key)
        return html
    template = request.app.template_engine.engine.get_template("cases/_timeline_items.html")
    html = Markup(template.render(timeline=events, case=case))
    _TIMELINES[key] = html
    if len(_TIMELINES) > TIMELINE_CACHE_SIZE:
        _TIMELINES.popitem(last=False)
    return html


async def _nothing() -> list:
    return []


async def _case_page_reads(
    ctx: Context, actor: Actor, row: dict[str, Any], case: dict[str, Any], access: Access, worker: bool
) -> tuple[Any, ...]:
    """What the case page reads once the reader may see the case, and the view's audit event: the timeline, tasks,
    colleagues, referrals raised, people, shares, viewers, partners, referral targets, documents and (on
    PostgreSQL) the bell's count, in that order. The owning agency sees who it shares with and who has viewed;
    those who work the case, where to refer; only the documents this reader's access reaches are listed."""
    from caseframe.core.documents import service as documents
    from caseframe.core.sharing import service as sharing

    case_id, owner = case["id"], access.is_owner
    nothing = _nothing
    # the audit write and the page's reads at once (on SQLite the write goes to the writer connection); on
    # PostgreSQL the view's audit event, the case's own rows and the bell's count are one statement (page_reads),
    # and each module finishes its rows as ever
    if not page_reads.uses_one_statement():
        return (
            *(
                await asyncio.gather(
                    cases.record_view(actor, case_id, access),
                    cases.timeline(
                        case_id, limit=200, access=access, reader=actor, ctx=ctx, area=case["area"]
                    ),
                    tasks.tasks_of_case(case_id, reader=actor),
                    lists.colleagues(actor),
                    raised_from_case(case_id, reader=actor, ctx=ctx, access=access),
                    cases.subjects_of(case_id, reader=actor, flag_levels=ctx.areas.flag_levels),
                    sharing.shares_of(case_id) if owner else nothing(),
                    cases.viewers_of(case_id) if owner else nothing(),
                    sharing.partners_for(actor, row) if owner and worker else nothing(),
                    referral_targets(ctx, actor) if owner and worker else nothing(),
                    documents.documents_of(case_id, access),
                )
            )[1:],
            None,
        )
    from caseframe.core.notifications.service import unread_statement

    together = page_reads.WITH_VIEW_AND_BELL
    _, read, users, partners, targets = await asyncio.gather(
        nothing() if together else cases.record_view(actor, case_id, access),
        page_reads.case_page_rows(
            case_id,
            owner=owner,
            view=cases.view_statement(actor, case_id, access) if together else None,
            unread=unread_statement(actor) if together else None,
        ),
        lists.colleagues(actor),
        sharing.partners_for(actor, row) if owner and worker else nothing(),
        referral_targets(ctx, actor) if owner and worker else nothing(),
    )
    assert read is not None
    # a part the one statement did not give back (page_reads.case_page_rows) its module reads itself
    events, case_tasks, refs, subjects, shares, views, case_documents = await asyncio.gather(
        cases.timeline(
            case_id,
            limit=200,
            access=access,
            reader=actor,
            ctx=ctx,
            area=case["area"],
            rows=read.get("timeline"),
        ),
        tasks.tasks_of_case(case_id, reader=actor, rows=read.get("tasks")),
        raised_from_case(case_id, reader=actor, ctx=ctx, access=access, rows=read.get("referrals")),
        cases.subjects_of(
            case_id, rows=read.get("subjects"), reader=actor, flag_levels=ctx.areas.flag_levels
        ),
        sharing.shares_of(case_id, rows=read.get("shares")) if owner else nothing(),
        cases.viewers_of(case_id, rows=read.get("viewers")) if owner else nothing(),
        documents.documents_of(case_id, access, rows=read.get("documents")),
    )
    return (
        events,
        case_tasks,
        users,
        refs,
        subjects,
        shares,
        views,
        partners,
        targets,
        case_documents,
        read["unread"] if together else None,
    )


async def case_page_context(request: Request, ctx: Context, actor: Actor, case_id: int) -> dict[str, Any]:
    """Everything the case page shows; also used to re-render parts of it after an htmx change."""
    with quick_reads():  # each of its reads is an indexed lookup of one case's rows (most bounded)
        return await _case_page_context(request, ctx, actor, case_id)


async def _case_page_context(request: Request, ctx: Context, actor: Actor, case_id: int) -> dict[str, Any]:
    row, access = await cases.visible_case(actor, case_id)
    case = cases.case_dict(ctx, row, access)
    area = ctx.areas.get(case["area"])
    from caseframe.core.documents import service as documents

    owner, worker = access.is_owner, permissions.can(actor, "case.edit", access)
    (
        events,
        case_tasks,
        users,
        refs,
        subjects,
        shares,
        views,
        partners,
        targets,
        case_documents,
        unread,
    ) = await _case_page_reads(ctx, actor, row, case, access, worker)
    # page() shows the bell's count read with the rest rather than reading it again
    bell = {} if unread is None else {"unread": unread}
    forms = []
    transitions = []
    if area is None:  # the area's package was uninstalled: its answers stay readable
        forms = [
            {
                "name": name,
                "title": name.replace("_", " ").capitalize(),
                "done": True,
                "rows": summary.rows_without_schema(answers),
            }
            for name, answers in case["data"].items()
        ]
    else:
        for name, form in area.forms.items():
            answers = case["data"].get(name)
            if answers is None and not owner:
                # a reader who works no forms here is shown what it may read: a form it may see nothing of (or not
                # yet filled in) is not listed, since "Not started" would be untrue of one filled in above its level
                continue
            forms.append(
                {
                    "name": name,
                    "title": form.title,
                    "done": answers is not None,
                    "rows": summary.rows(form, answers),
                }
            )
        transitions = await cases.available_transitions(ctx, actor, row, access)
    for event in events:
        if event["kind"] == "form" and area is not None and event["detail"].get("form") in area.forms:
            form = area.forms[event["detail"]["form"]]
            event["changes"] = [
                summary.change_text(form, c)
                for c in readable_changes(access, form.schema, event["detail"].get("changes"))
            ][:20]
    names = {u["id"]: u["name"] for u in users}
    for t in case_tasks:
        t["assignee_name"] = names.get(t["assignee_id"], "")
    lead_officer = names.get(case["lead_officer_id"], "")
    owning_agency = None
    if not owner:
        # a partner reads who holds the case and whom to contact: the owning agency, its lead officer
        # (a colleague list is only the reader's own agency) and the agency's contact address
        owning_agency, lead_officer = await cases.holder_of(row)
    sharing_info = {"shares": shares, "views": views, "partners": partners} if owner else {}
    panels = []
    if ctx.pm.hook.case_panels.get_hookimpls():
        viewer = actor.as_dict()
        for result in ctx.pm.hook.case_panels(case=case, actor=viewer, user=viewer):
            panels.extend(result or [])
    return {
        "case": case,
        "area": area,
        "forms": forms,
        "transitions": transitions,
        "timeline": events,
        "timeline_html": timeline_items(request, case, events),
        "tasks": case_tasks,
        "subjects": subjects,
        "users": users,
        "referrals": refs,
        "referral_targets": targets,
        "referral_status": REFERRAL_STATUS,
        "panels": panels,
        "today": clock.today(),
        "user": actor.as_dict(),
        "lead_officer": lead_officer,
        "owning_agency": owning_agency,
        "access": access,
        **sharing_info,
        "documents": case_documents,
        "document_form": documents.form_context(),
        # a closed case is read, not changed (cases.refuse_closed): no form that would be refused is offered,
        # but stopping a share and completing a task still are, and the area's reopen step if it has one
        "can_change": worker and case["area_installed"] and not case["closed_at"],
        "can_reassign_lead": worker and not case["closed_at"],
        "can_stop_sharing": worker and case["area_installed"],
        **bell,
    }


REFERRAL_STATUS = {
    "open": "Waiting",
    "info_requested": "More information asked for",
    "accepted": "Accepted",
    "declined": "Declined",
}


def _many(value: Any) -> list[Any]:
    """A posted field that may be repeated (checkboxes) as a list."""
    if value in (None, ""):
        return []
    return value if isinstance(value, list) else [value]


def _list_url(area, filters: dict[str, str]) -> str:
    return f"/areas/{area.slug}?" + urlencode({k: v for k, v in filters.items() if v})


async def _list_page(
    request: Request,
    ctx: Context,
    actor: Actor,
    area,
    values: Any,
    *,
    errors: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> Template:
    """The area list: filtered, sorted, a page of 25; with the bulk-reassign form for those who may use it."""
    listed = await lists.area_list(ctx, actor, area, values)
    filters = listed["filters"]
    query = urlencode({k: v for k, v in filters.items() if v})
    # the new-case button only for those the new-case form would serve (it refuses everyone else)
    # (a display choice, so the menu's cached list serves: the form itself checks the area is enabled)
    can_open = permissions.can(actor, "case.open") and area.slug in await cases.enabled_areas(
        actor.agency_id, cached=True
    )
    can_reassign = permissions.can(actor, "case.reassign_bulk")
    ticked = {str(v) for v in _many(values.get("case"))} if errors else set()
    return await page(
        request,
        "cases/list.html",
        area=area,
        items=listed["items"],
        total=listed["total"],
        page_number=listed["number"],
        pages=listed["pages"],
        filters=filters,
        can_open=can_open,
        page_base="?" + query,
        query=query,
        leads=listed["leads"],
        can_reassign=can_reassign,
        lead_choices=await cases.lead_officer_choices(actor.agency_id, listed["leads"])
        if can_reassign
        else [],
        errors=errors or [],
        ticked=ticked,
        chosen_lead=str(values.get("lead_officer_id", "")) if errors else "",
        chosen_tasks=values.get("tasks") == "yes" if errors else False,
        chosen_scope=values.get("scope") == "all" if errors else False,
        max_bulk=cases.MAX_BULK_REASSIGN,
        export_limit=lists.EXPORT_LIMIT,
        error_title=bool(errors),
        status_code=status_code,
    )


#: the export's rows are streamed, a few hundred at a time, never held whole
EXPORT_CHUNK = 500


async def _case_lines(ctx, area, actor, ids: list[int]):
    """The export's CSV lines: the header, then each case in the list's order, read a chunk at a time."""
    yield csv_line(["Reference", "Area", "People", "State", "Risk", "Lead officer", "Opened", "Last updated"])
    names = {u["id"]: u["name"] for u in await cases.agency_users(actor.agency_id)}
    for start in range(0, len(ids), EXPORT_CHUNK):
        chunk = ids[start : start + EXPORT_CHUNK]
        rows, subjects = await lists.export_rows(actor, chunk)
        for case_id in chunk:
            r = rows.get(case_id)
            if r is None:
                continue
            people = "; ".join(
                f"{s['name']} ({area.roles.get(s['role'], s['role']).lower()})"
                for s in subjects.get(case_id, [])
            )
            yield csv_line(
                [
                    r["reference"],
                    area.title,
                    people,
                    area.workflow.label(r["state"]),
                    (r["risk_level"] or "").replace("_", " ").capitalize() or "Not assessed",
                    names.get(r["lead_officer"], ""),
                    _day(r["opened_at"]),
                    _day(r["updated_at"]),
                ]
            )


def _day(value: Any) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.date().isoformat() if value else ""


def _closed_problems(closed: list[str]) -> list[dict[str, str]]:
    """Ticked closed cases, as the bulk form's error (the service refuses them too)."""
    try:
        cases.refuse_closed_in_bulk(closed)
    except CaseClosed as exc:
        return [{"field": "case-0", "message": exc.message}]
    return []


class AreaPages(Controller):
    path = "/areas"
    include_in_schema = False

    @get("/{slug:str}")
    async def list_cases(self, request: Request, ctx: Context, actor: Actor, slug: str) -> Template:
        area = _area_or_404(ctx, slug)
        return await _list_page(request, ctx, actor, area, request.query_params)

    @get("/{slug:str}/export.csv")
    async def export_cases(self, request: Request, ctx: Context, actor: Actor, slug: str) -> Response:
        """The area list with its current filters and sort as CSV: the columns the list shows, nothing more."""
        area = _area_or_404(ctx, slug)
        # the export's audit event names every case it holds, written before the first row leaves
        ids, _ = await lists.export_ids(actor, area, request.query_params)
        return csv_stream(_case_lines(ctx, area, actor, ids), download_name(f"{area.slug}-cases"))

    @post("/{slug:str}/reassign")
    async def check_reassign(self, request: Request, ctx: Context, actor: Actor, slug: str) -> Template:
        """The first step of a bulk reassignment: what would change, to confirm (nothing is changed yet)."""
        area = _area_or_404(ctx, slug)
        cases.check_may_bulk_reassign(actor)
        data = await form_data(request)
        rows, filters = await lists.reassign_candidates(actor, area, data)
        errors = []
        choices = {u["id"]: u for u in await cases.lead_officer_choices(actor.agency_id)}
        lead_id = form_number(data, "lead_officer_id")
        if lead_id not in choices:
            errors.append({"field": "lead_officer_id", "message": "Select the new lead officer"})
        if not rows:
            errors.append(
                {
                    "field": "case-0",
                    "message": "Select at least one case, or all the cases matching the filters",
                }
            )
        elif len(rows) > cases.MAX_BULK_REASSIGN:
            errors.append(
                {
                    "field": "case-0",
                    "message": f"Reassign at most {cases.MAX_BULK_REASSIGN} cases at "
                    "once: narrow the filters",
                }
            )
        else:
            errors += _closed_problems([r["reference"] for r in rows if r["closed_at"]])
        if errors:
            return await _list_page(request, ctx, actor, area, data, errors=errors, status_code=400)
        lead = choices[lead_id]
        names = {u["id"]: u["name"] for u in await cases.agency_users(actor.agency_id)}
        move_tasks = form_text(data, "tasks") == "yes"
        handed = await lists.tasks_to_hand_over(actor, rows) if move_tasks else {}
        changes = [
            {
                **r,
                "from": names.get(r["lead_officer"], "No one") if r["lead_officer"] else "No one",
                "state_label": area.workflow.label(r["state"]),
                "same": r["lead_officer"] == lead_id,
                "tasks": handed.get(r["id"], 0),
            }
            for r in rows
        ]
        await audit_read(
            "case.list",
            actor,
            "case",
            detail={"ids": [r["id"] for r in rows], "area": area.slug, "for": "reassign"},
        )
        return await page(
            request,
            "cases/reassign_confirm.html",
            area=area,
            lead=lead,
            changes=changes,
            moving=sum(1 for c in changes if not c["same"]),
            move_tasks=move_tasks,
            tasks_moving=sum(handed.values()),
            filters=filters,
            back=_list_url(area, filters),
        )

    @post("/{slug:str}/reassign/confirm")
    async def reassign(self, request: Request, ctx: Context, actor: Actor, slug: str) -> Template | Redirect:
        """Reassign the confirmed cases, all or nothing; a case changed meanwhile stops the lot, named."""
        area = _area_or_404(ctx, slug)
        cases.check_may_bulk_reassign(actor)
        data = await form_data(request)
        chosen = []
        for value in _many(data.get("case")):
            case_id, _, version = str(value).partition(":")
            case_id, version = form_int(case_id), form_int(version)
            if case_id is None or version is None or case_id > MAX_ID or version > MAX_ID:
                return await _list_page(
                    request,
                    ctx,
                    actor,
                    area,
                    data,
                    status_code=400,
                    errors=[
                        {
                            "field": "case-0",
                            "message": "The cases to reassign could not be read: choose them again",
                        }
                    ],
                )
            chosen.append((case_id, version))
        try:
            done = await cases.reassign_cases(
                ctx,
                actor,
                chosen,
                form_number(data, "lead_officer_id"),
                move_tasks=form_text(data, "tasks") == "yes",
            )
        except (ValidationFailed, Conflict, Forbidden, CaseClosed) as exc:
            message = (
                exc.message
                if isinstance(exc, (Conflict, Forbidden, CaseClosed))
                else "; ".join(e["message"] for e in exc.errors)
            )
            return await _list_page(
                request,
                ctx,
                actor,
                area,
                data,
                status_code=exc.status if isinstance(exc, (Conflict, Forbidden, CaseClosed)) else 400,
                errors=[{"field": "case-0", "message": message}],
            )
        return see_other(_list_url(area, {"owner": str(done["lead"]["id"])}) + "&done=cases-reassigned")

    @get("/{slug:str}/new")
    async def new_case(self, request: Request, ctx: Context, actor: Actor, slug: str) -> Template:
        area = _area_or_404(ctx, slug)
        await cases.check_may_open(actor, area)
        person = await _person_param(request, actor)
        return await _open_form(request, area, {}, [], person)

    @post("/{slug:str}/new")
    async def open_case(self, request: Request, ctx: Context, actor: Actor, slug: str) -> Template | Redirect:
        area = _area_or_404(ctx, slug)
        await cases.check_may_open(actor, area)
        data = await form_data(request)
        person = await _person_param(request, actor, form_text(data, "person_id"))
        # read before the submission is claimed: answers refused here leave the key free for the corrected form
        answers = parse_form(area.forms[area.opening_form], data)
        key = form_text(data, "submission_key")
        earlier = await claim_submission(request, actor, key)
        if earlier:
            return see_other(earlier)
        subjects = []
        role = form_text(data, "role")
        if person is not None:
            if role not in area.roles:
                await release_submission(key)
                errors = [
                    {"field": "/role", "message": f"Select {person['display_name']}’s role on the case"}
                ]
                return await _open_form(request, area, answers, errors, person, role=role)
            subjects = [(person["id"], role)]
        try:
            case = await cases.open_case(ctx, actor, area.slug, answers, subjects=subjects)
        except ValidationFailed as exc:
            await release_submission(key)
            return await _open_form(request, area, answers, exc.errors, person, role=role)
        except ServiceError:
            await release_submission(key)
            raise
        url = f"/cases/{case['id']}?done=case-opened"
        await finish_submission(key, url)
        return see_other(url)


async def _person_param(request: Request, actor: Actor, value: str | None = None):
    raw = value if value is not None else request.query_params.get("person", "")
    if not raw:
        return None
    person_id = whole_number(raw)
    if person_id is None or person_id > MAX_ID:
        raise NotFoundException()
    try:
        return await persons.get_person(actor, person_id, audit_view=False)
    except ServiceError:
        raise NotFoundException() from None


async def _open_form(
    request: Request, area, answers: dict, errors: list[dict], person, *, role: str = ""
) -> Template:
    from caseframe.core.forms.validation import FieldError

    form = area.forms[area.opening_form]
    field_errors = [FieldError(e["field"], e["message"]) for e in errors if e["field"] != "/role"]
    role_error = next((e["message"] for e in errors if e["field"] == "/role"), "")
    return await page(
        request,
        "cases/open.html",
        area=area,
        form=form,
        person=person,
        role=role,
        role_error=role_error,
        summary=error_summary(field_errors),
        fields=render_form(form, answers, field_errors),
        submission_key=secrets.token_urlsafe(24),
        error_title=bool(errors),
        status_code=400 if errors else 200,
    )


class CasePages(Controller):
    path = "/cases"
    include_in_schema = False

    @get("/{case_id:int}")
    async def show(self, request: Request, ctx: Context, actor: Actor, case_id: int) -> Template:
        return await page(request, "cases/show.html", **await case_page_context(request, ctx, actor, case_id))

    @get("/{case_id:int}/forms/{form_name:str}")
    async def edit_form(
        self, request: Request, ctx: Context, actor: Actor, case_id: int, form_name: str
    ) -> Template:
        # a reader (a partner, a role that does not work cases) gets a refusal, never a form to fill in
        await _editable(actor, case_id)
        # the page shows the stored answers: a view of the case, audited as the case page is
        case = await cases.get_case(ctx, actor, case_id)
        return await _edit_page(
            request, ctx, case, form_name, case["data"].get(form_name) or {}, [], case["version"]
        )

    @post("/{case_id:int}/forms/{form_name:str}")
    async def save_form(
        self, request: Request, ctx: Context, actor: Actor, case_id: int, form_name: str
    ) -> Template | Redirect:
        await _editable(actor, case_id)
        case = await cases.get_case(ctx, actor, case_id, audit_view=False)
        area = ctx.areas.get(case["area"])
        if area is None or form_name not in area.forms:
            raise NotFoundException()
        data = await form_data(request)
        answers = parse_form(area.forms[form_name], data)
        version = form_number(data, "version")
        version = -1 if version is None else version
        try:
            await cases.save_form(ctx, actor, case_id, form_name, answers, expected_version=version)
        except ValidationFailed as exc:
            return await _edit_page(request, ctx, case, form_name, answers, exc.errors, version)
        except Conflict as exc:
            return await _edit_page(request, ctx, case, form_name, answers, [], version, conflict=exc.message)
        return see_other(f"/cases/{case_id}?done=form-saved")

    @post("/{case_id:int}/transitions/{name:str}")
    async def transition(
        self, request: Request, ctx: Context, actor: Actor, case_id: int, name: str
    ) -> Template | Redirect:
        data = await form_data(request)
        version = form_number(data, "version")
        try:
            await cases.transition_case(ctx, actor, case_id, name, expected_version=version)
        except (Forbidden, Conflict) as exc:
            context = await case_page_context(request, ctx, actor, case_id)
            return await page(
                request,
                "cases/show.html",
                refusal=exc.message,
                error_title=True,
                status_code=exc.status,
                **context,
            )
        return see_other(f"/cases/{case_id}?done=moved")

    @post("/{case_id:int}/shares")
    async def share(self, request: Request, ctx: Context, actor: Actor, case_id: int) -> Template | Redirect:
        from caseframe.core.sharing import service as sharing

        data = await form_data(request)
        agency_id = form_number(data, "agency_id") or 0
        try:
            await sharing.share_case(actor, case_id, agency_id=agency_id, purpose=form_text(data, "purpose"))
        except ValidationFailed as exc:
            context = await case_page_context(request, ctx, actor, case_id)
            return await page(
                request,
                "cases/show.html",
                **context,
                share_errors=exc.errors,
                share_values=data,
                error_title=True,
                status_code=400,
            )
        return see_other(f"/cases/{case_id}?done=shared#sharing")

    @post("/{case_id:int}/shares/{share_id:int}/revoke")
    async def revoke_share(self, actor: Actor, case_id: int, share_id: int) -> Redirect:
        from caseframe.core.sharing import service as sharing

        await sharing.revoke_share(actor, case_id, share_id)
        return see_other(f"/cases/{case_id}?done=share-ended#sharing")

    @post("/{case_id:int}/referrals")
    async def refer(self, request: Request, ctx: Context, actor: Actor, case_id: int) -> Template | Redirect:
        data = await form_data(request)
        row = await cases._load_workable(actor, case_id)
        kind, _, target = form_text(data, "target").partition(":")
        person = form_text(data, "person_id")
        try:
            made = await referrals.raise_referral(
                ctx,
                actor,
                target_kind=kind,
                target=target,
                reason=form_text(data, "reason"),
                person_id=form_int(person),
                case=cases.case_dict(ctx, row, Access.owner()),
            )
        except ValidationFailed as exc:
            context = await case_page_context(request, ctx, actor, case_id)
            return await page(
                request,
                "cases/show.html",
                **context,
                refer_errors=exc.errors,
                refer_values=data,
                error_title=True,
                status_code=400,
            )
        return see_other(
            f"/cases/{case_id}?done={'referral-merged' if made['merged'] else 'referral-made'}#referrals"
        )

    @post("/{case_id:int}/notes")
    async def add_note(
        self, request: Request, ctx: Context, actor: Actor, case_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        error = ""
        try:
            await cases.add_note(ctx, actor, case_id, form_text(data, "text"))
        except ValidationFailed as exc:
            error = exc.errors[0]["message"] if exc.errors else exc.message
        return await _after_change(
            request,
            ctx,
            actor,
            case_id,
            "note-added",
            "cases/_timeline.html",
            note_error=error,
            note_text=form_text(data, "text") if error else "",
        )

    @post("/{case_id:int}/tasks")
    async def add_task(
        self, request: Request, ctx: Context, actor: Actor, case_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        error = {}
        assignee = form_text(data, "assignee_id")
        due = form_date(data, "due")
        try:
            await tasks.add_task(
                ctx,
                actor,
                case_id,
                title=form_text(data, "title"),
                due_date=due or None,
                assignee_id=form_int(assignee),
            )
        except ValidationFailed as exc:
            error = {e["field"]: e["message"] for e in exc.errors}
        return await _after_change(
            request,
            ctx,
            actor,
            case_id,
            "task-added",
            "cases/_tasks.html",
            task_error=error,
            task_values=data if error else {},
        )

    @get("/{case_id:int}/lead")
    async def lead_form(self, request: Request, ctx: Context, actor: Actor, case_id: int) -> Template:
        row = await cases.workable_row(actor, case_id)  # refused if closed: a closed case keeps its lead
        return await _lead_page(request, ctx, actor, row, str(row["lead_officer"] or ""), row["version"])

    @post("/{case_id:int}/lead")
    async def change_lead(
        self, request: Request, ctx: Context, actor: Actor, case_id: int
    ) -> Template | Redirect:
        row = await cases.workable_row(actor, case_id)
        data = await form_data(request)
        version = form_number(data, "version")
        chosen = form_text(data, "lead_officer_id")
        try:
            await cases.reassign_lead(
                ctx, actor, case_id, form_int(chosen), expected_version=-1 if version is None else version
            )
        except ValidationFailed as exc:
            return await _lead_page(request, ctx, actor, row, chosen, version, errors=exc.errors)
        except Conflict as exc:
            return await _lead_page(request, ctx, actor, row, chosen, version, conflict=exc.message)
        return see_other(f"/cases/{case_id}?done=lead-changed")

    @post("/{case_id:int}/subjects/search")
    async def find_subject(self, request: Request, ctx: Context, actor: Actor, case_id: int) -> Template:
        # the first step of adding a person: only for those who may change the case, checked before searching
        await cases.workable_row(actor, case_id)
        data = await form_data(request)
        name = form_text(data, "name").strip()
        error = name_search_problem(name) if name else "Enter a name to search for"
        results = await persons.find_persons(actor, name=name) if not error else []
        context = await case_page_context(request, ctx, actor, case_id)
        return await page(
            request, "cases/add_subject.html", results=results, name=name, error=error, **context
        )

    @post("/{case_id:int}/subjects")
    async def add_subject(
        self, request: Request, ctx: Context, actor: Actor, case_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        person_id = form_number(data, "person_id")
        if person_id is None:
            raise NotFoundException()
        await cases.add_subject(ctx, actor, case_id, person_id, form_text(data, "role"))
        return see_other(f"/cases/{case_id}?done=subject-added")

    @post("/{case_id:int}/subjects/{subject_id:int}/remove")
    async def remove_subject(self, ctx: Context, actor: Actor, case_id: int, subject_id: int) -> Redirect:
        await cases.remove_subject(ctx, actor, case_id, subject_id)
        return see_other(f"/cases/{case_id}?done=subject-removed")


class TaskPages(Controller):
    path = "/tasks"
    include_in_schema = False

    @post("/{task_id:int}/complete")
    async def complete(
        self, request: Request, ctx: Context, actor: Actor, task_id: int
    ) -> Template | Redirect | Response:
        done = await tasks.complete_task(ctx, actor, task_id)
        # a task with no case, or a panel action on a case the agency no longer sees (its share ended): to My work,
        # not the case page (htmx from a page open since the share ended: the whole page goes there)
        if done["case_id"] is None or not (await tasks.readable_task(actor, done))[1]:
            if is_htmx(request):
                return Response(content="", status_code=200, headers={"HX-Redirect": "/?done=task-done"})
            return see_other("/?done=task-done")
        return await _after_change(request, ctx, actor, done["case_id"], "task-done", "cases/_tasks.html")

    @get("/{task_id:int}/edit")
    async def edit_form(self, request: Request, actor: Actor, task_id: int) -> Template:
        row = await tasks.task_to_edit(actor, task_id)
        # the page shows the task's title: a read of the task, recorded
        await audit_read("task.view", actor, "task", task_id, detail={"case_id": row["case"]})
        due = row["due_date"]
        values = {
            "title": row["title"],
            "assignee_id": str(row["assignee"] or row["created_by"] or ""),
            "due-day": str(due.day) if due else "",
            "due-month": str(due.month) if due else "",
            "due-year": str(due.year) if due else "",
        }
        return await _task_page(request, actor, row, values, row["state"])

    @post("/{task_id:int}/edit")
    async def edit(self, request: Request, ctx: Context, actor: Actor, task_id: int) -> Template | Redirect:
        row = await tasks.task_to_edit(actor, task_id)
        data = await form_data(request)
        due = form_date(data, "due")
        state = form_text(data, "state")
        try:
            await tasks.edit_task(
                ctx,
                actor,
                task_id,
                title=form_text(data, "title") if "title" in data else None,
                due_date=due or None,
                assignee_id=form_number(data, "assignee_id"),
                expected_state=state,
            )
        except ValidationFailed as exc:
            return await _task_page(request, actor, row, data, state, errors=exc.errors)
        except Conflict as exc:
            return await _task_page(request, actor, row, data, state, conflict=exc.message)
        if row["case"] not in await visible_among(actor, [row["case"]]):
            return see_other("/?done=task-changed")
        return see_other(f"/cases/{row['case']}?done=task-changed#tasks")


async def _lead_page(
    request: Request,
    ctx: Context,
    actor: Actor,
    row: dict[str, Any],
    chosen: str,
    version: int | None,
    *,
    errors: list[dict[str, str]] | None = None,
    conflict: str = "",
) -> Template:
    area = ctx.areas.get(row["area"])
    choices = await cases.lead_officer_choices(row["owning_agency"])
    current = next(
        (u["name"] for u in await cases.agency_users(row["owning_agency"]) if u["id"] == row["lead_officer"]),
        "",
    )
    return await page(
        request,
        "cases/lead.html",
        case={
            "id": row["id"],
            "reference": row["reference"],
            "area_title": area.title if area else row["area"],
        },
        choices=choices,
        chosen=chosen,
        version=version,
        current=current,
        errors=errors or [],
        conflict=conflict,
        user=actor.as_dict(),
        error_title=bool(errors or conflict),
        status_code=409 if conflict else 400 if errors else 200,
    )


async def _task_page(
    request: Request,
    actor: Actor,
    row: dict[str, Any],
    values: dict[str, Any],
    state: str,
    *,
    errors: list[dict[str, str]] | None = None,
    conflict: str = "",
) -> Template:
    # the task's own agency changes it, but the case it is on may be one that agency can no longer see
    reference = await cases.visible_reference(actor, row["case"])
    back = f"/cases/{row['case']}#tasks" if reference else "/"
    return await page(
        request,
        "cases/task_edit.html",
        task=row,
        reference=reference,
        values=values,
        back=back,
        state=state,
        people=await tasks.assignee_choices(row["owner_agency"]),
        errors={e["field"]: e["message"] for e in errors or []},
        error_list=errors or [],
        conflict=conflict,
        error_title=bool(errors or conflict),
        status_code=409 if conflict else 400 if errors else 200,
    )


async def _editable(actor: Actor, case_id: int) -> None:
    """Refuse a form page of a case the actor may only read (403, in words) or that is closed (409)."""
    await cases.workable_row(actor, case_id)


async def _after_change(
    request: Request, ctx: Context, actor: Actor, case_id: int, done: str, fragment: str, **extra: Any
):
    """htmx gets the changed part of the page back; a plain form post goes back to the case page."""
    has_error = any(extra.get(k) for k in ("note_error", "task_error"))
    if is_htmx(request):
        context = await case_page_context(request, ctx, actor, case_id)
        return await page(request, fragment, **context, **extra, status_code=200)
    if has_error:
        context = await case_page_context(request, ctx, actor, case_id)
        return await page(request, "cases/show.html", **context, **extra, error_title=True, status_code=400)
    return see_other(f"/cases/{case_id}?done={done}")


async def _edit_page(
    request: Request,
    ctx: Context,
    case: dict,
    form_name: str,
    answers: dict,
    errors: list[dict],
    version: int,
    conflict: str = "",
) -> Template:
    from caseframe.core.forms.validation import FieldError

    area = ctx.areas.get(case["area"])
    if area is None or form_name not in area.forms:
        raise NotFoundException()
    form = area.forms[form_name]
    field_errors = [FieldError(e["field"], e["message"]) for e in errors]
    return await page(
        request,
        "cases/form.html",
        case=case,
        area=area,
        form=form,
        version=version,
        summary=error_summary(field_errors),
        fields=render_form(form, answers, field_errors),
        conflict=conflict,
        error_title=bool(errors or conflict),
        status_code=409 if conflict else 400 if errors else 200,
    )
