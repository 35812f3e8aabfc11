"""The JSON API under /api/v1: areas, persons, cases and their work; thin over the services."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter

from caseframe.core.auth import service as auth
from caseframe.core.auth.actor import Actor
from caseframe.core.cases import service as cases
from caseframe.core.context import Context
from caseframe.core.db import MAX_ID
from caseframe.core.errors import PreconditionRequired, ValidationFailed
from caseframe.core.persons import service as persons
from caseframe.core.referrals import service as referrals
from caseframe.core.referrals.inbox import readable_referrals
from caseframe.core.referrals.queries import referrals_of_case
from caseframe.core.searching import MAX_SEARCH_LENGTH, name_search_problem
from caseframe.core.sharing.policy import Access
from caseframe.core.tasks import service as tasks
from caseframe.core.web.auth import session_token
from caseframe.core.web.client_address import request_source
from caseframe.core.web.input_guard import SIGN_IN_MAX_BODY

#: no list is this long, and a larger offset could not be sent to the database
MAX_OFFSET = 1_000_000_000


def _body(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed("Send a JSON object", errors=[{"field": "", "message": "Send a JSON object"}])
    return data


def _int(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(
            f"{field} must be a whole number",
            errors=[
                {
                    "field": f"/{field}",
                    "message": f"{field.replace('_', ' ').capitalize()} must be a whole number",
                }
            ],
        )
    if not -MAX_ID <= value <= MAX_ID:
        raise ValidationFailed(
            f"{field} is too large",
            errors=[
                {"field": f"/{field}", "message": f"{field.replace('_', ' ').capitalize()} is too large"}
            ],
        )
    return value


def _text(body: dict[str, Any], field: str) -> str:
    """A text field of a JSON body: "" when absent or null, a 422 naming the field when it is not text."""
    value = body.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        message = f"{field.replace('_', ' ').capitalize()} must be text"
        raise ValidationFailed(message, errors=[{"field": f"/{field}", "message": message}])
    return value


def _object(body: dict[str, Any], field: str) -> dict[str, Any] | None:
    """An object field of a JSON body (a form's answers): None when absent or null, a 422 when not an object."""
    value = body.get(field)
    if value is not None and not isinstance(value, dict):
        message = f"{field.replace('_', ' ').capitalize()} must be an object"
        raise ValidationFailed(message, errors=[{"field": f"/{field}", "message": message}])
    return value


class SessionAPI(Controller):
    path = "/api/v1/session"
    tags = ["session"]

    @post(
        "/",
        opt={"public": True},
        status_code=201,
        summary="Sign in and get a session token",
        request_max_body_size=SIGN_IN_MAX_BODY,
    )
    async def sign_in(self, request: Request, data: dict[str, Any]) -> Response:
        body = _body(data)
        totp = _text(body, "totp")
        # a user with two-step verification sends the current code from their app as "totp"
        token, actor = await auth.sign_in(
            _text(body, "email"),
            _text(body, "password"),
            browser=False,
            totp=totp or None,
            source=request_source(request),
        )
        # API clients send the token as a bearer header; no cookie, so no cross-site requests
        return Response({"token": token, "user": actor.as_dict()}, status_code=201)

    @delete("/", status_code=204, summary="Sign out")
    async def sign_out(self, request: Request, actor: Actor) -> None:
        await auth.sign_out(session_token(request), actor, api=True)


class AreasAPI(Controller):
    path = "/api/v1/areas"
    tags = ["areas"]

    @get("/", summary="Installed business areas")
    async def list_areas(self, ctx: Context) -> list[dict[str, Any]]:
        return [a.as_dict() for a in ctx.areas]

    @get("/{slug:str}", summary="One area, with its forms' JSON Schemas")
    async def get_area(self, ctx: Context, slug: str) -> dict[str, Any]:
        return ctx.area(slug).as_dict(with_schemas=True)


class PersonsAPI(Controller):
    path = "/api/v1/persons"
    tags = ["persons"]

    @get("/", summary="Search persons by name, date of birth or identifier")
    async def search(
        self,
        ctx: Context,
        actor: Actor,
        name: str = "",
        date_of_birth: str = "",
        identifier: str = "",
        limit: int = Parameter(default=50, ge=1, le=200),
    ) -> list[dict[str, Any]]:
        problem = name_search_problem(name) or (
            "Search for an identifier of 100 characters or fewer"
            if len(identifier) > MAX_SEARCH_LENGTH
            else ""
        )
        if problem:
            raise ValidationFailed(
                problem,
                errors=[{"field": "/identifier" if "identifier" in problem else "/name", "message": problem}],
            )
        return await persons.find_persons(
            actor,
            name=name,
            date_of_birth=date_of_birth,
            identifier=identifier,
            limit=limit,
            flag_levels=ctx.areas.flag_levels,
        )

    @post("/", status_code=201, summary="Create a person")
    async def create(self, ctx: Context, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
        body = _body(data)
        allowed = (
            "given_name",
            "family_name",
            "date_of_birth",
            "gender",
            "aliases",
            "addresses",
            "identifiers",
            "flags",
        )
        return await persons.create_person(
            actor,
            **{k: body.get(k) for k in allowed if k in body or k.endswith("name")},
            flag_levels=ctx.areas.flag_levels,
        )

    @get("/{person_id:int}", summary="One person and the cases they are on")
    async def get_person(self, ctx: Context, actor: Actor, person_id: int) -> dict[str, Any]:
        person = await persons.get_person(actor, person_id, flag_levels=ctx.areas.flag_levels)
        person["cases"] = [
            c
            for c in await persons.cases_of_person(person_id, actor)
            if c["owning_agency_id"] == actor.agency_id
        ]
        return person


class CasesAPI(Controller):
    path = "/api/v1/cases"
    tags = ["cases"]

    @get("/", summary="Cases of my agency")
    async def list_cases(
        self,
        ctx: Context,
        actor: Actor,
        area: str | None = None,
        case_state: str | None = Parameter(query="state", default=None),
        limit: int = Parameter(default=50, ge=1, le=200),
        offset: int = Parameter(default=0, ge=0, le=MAX_OFFSET),
    ) -> dict[str, Any]:
        items, total = await cases.list_cases(
            ctx, actor, area=area, state=case_state, limit=limit, offset=offset
        )
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    @post("/", status_code=201, summary="Open a case from the area's opening form")
    async def open_case(self, ctx: Context, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
        body = _body(data)
        subjects = body.get("subjects") or []
        if not isinstance(subjects, list) or not all(isinstance(s, dict) for s in subjects):
            raise ValidationFailed(
                "Subjects must be a list",
                errors=[{"field": "/subjects", "message": "Send subjects as a list of {person_id, role}"}],
            )
        pairs = [(_int(s.get("person_id"), "person_id"), _text(s, "role")) for s in subjects]
        return await cases.open_case(
            ctx, actor, _text(body, "area"), _object(body, "answers"), subjects=pairs
        )

    @get("/{case_id:int}", summary="A case with its subjects, timeline, tasks and next steps")
    async def get_case(self, ctx: Context, actor: Actor, case_id: int) -> dict[str, Any]:
        row, access = await cases.visible_case(actor, case_id)
        await cases.record_view(actor, case_id, access)
        case = cases.case_dict(ctx, row, access)
        case["subjects"] = await cases.subjects_of(case_id)
        case["timeline"] = cases.redact_timeline(
            ctx,
            case["area"],
            await cases.timeline(case_id, access=access, reader=actor, ctx=ctx, area=case["area"]),
            access,
        )
        case["tasks"] = await tasks.tasks_of_case(case_id, reader=actor)
        from caseframe.core.documents import service as documents

        # the documents this reader's access reaches, described (the content is downloaded from the case page)
        case["documents"] = [
            {
                k: v.isoformat() if k == "uploaded_at" else v
                for k, v in d.items()
                if k not in ("uploaded_by_name",)
            }
            for d in await documents.documents_of(case_id, access)
        ]
        if ctx.areas.get(case["area"]) is not None:
            # a reader (a partner, a role that works no cases) is offered no step, as on the case page
            case["transitions"] = [
                {
                    "name": t.name,
                    "label": t.label,
                    "allowed": refusal is None,
                    "reason": refusal.reason if refusal else None,
                }
                for t, refusal in await cases.available_transitions(ctx, actor, row, access)
            ]
        if not access.is_owner:
            agency, lead = await cases.holder_of(row)
            case["holder"] = {
                "agency": (agency or {}).get("name", ""),
                "contact_email": (agency or {}).get("contact_email", ""),
                "lead_officer": lead,
            }
        return case

    @put("/{case_id:int}/forms/{form:str}", summary="Save a form's answers (send the version you read)")
    async def save_form(
        self, ctx: Context, actor: Actor, case_id: int, form: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        body = _body(data)
        if body.get("version") is None:
            # without the version read, a save would silently overwrite whatever someone else saved meanwhile
            raise PreconditionRequired(
                'Send the case\'s version you read as "version": it is how a change made '
                "meanwhile by someone else is caught instead of overwritten",
                errors=[{"field": "/version", "message": "Send the version you read"}],
            )
        return await cases.save_form(
            ctx,
            actor,
            case_id,
            form,
            _object(body, "answers"),
            expected_version=_int(body.get("version"), "version"),
        )

    @post("/{case_id:int}/transitions", summary="Move the case through a workflow transition")
    async def transition(
        self, ctx: Context, actor: Actor, case_id: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        body = _body(data)
        return await cases.transition_case(
            ctx,
            actor,
            case_id,
            _text(body, "transition"),
            expected_version=_int(body.get("version"), "version"),
        )

    @post("/{case_id:int}/notes", status_code=201, summary="Add a note")
    async def add_note(
        self, ctx: Context, actor: Actor, case_id: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        return await cases.add_note(ctx, actor, case_id, _text(_body(data), "text"))

    @post("/{case_id:int}/subjects", status_code=201, summary="Add a person to the case with a role")
    async def add_subject(
        self, ctx: Context, actor: Actor, case_id: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        body = _body(data)
        return await cases.add_subject(
            ctx, actor, case_id, _int(body.get("person_id"), "person_id") or 0, _text(body, "role")
        )

    @post("/{case_id:int}/tasks", status_code=201, summary="Add a task")
    async def add_task(
        self, ctx: Context, actor: Actor, case_id: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        body = _body(data)
        return await tasks.add_task(
            ctx,
            actor,
            case_id,
            title=_text(body, "title"),
            due_date=body.get("due_date"),
            assignee_id=_int(body.get("assignee_id"), "assignee_id"),
            description=_text(body, "description"),
        )

    @get("/{case_id:int}/referrals", summary="Referrals raised from the case, each with why")
    async def referrals_of(self, ctx: Context, actor: Actor, case_id: int) -> list[dict[str, Any]]:
        # the referrals show what the rules read of the case: a view of it, audited
        await cases.get_case(ctx, actor, case_id)
        return await referrals_of_case(ctx, actor, case_id)

    @post(
        "/{case_id:int}/referrals",
        status_code=201,
        summary="Refer the case to another area, agency type or panel",
    )
    async def refer(self, ctx: Context, actor: Actor, case_id: int, data: dict[str, Any]) -> dict[str, Any]:
        body = _body(data)
        case = cases.case_dict(ctx, await cases._load_workable(actor, case_id), Access.owner())
        r = await referrals.raise_referral(
            ctx,
            actor,
            target_kind=_text(body, "target_kind"),
            target=_text(body, "target"),
            reason=_text(body, "reason"),
            person_id=_int(body.get("person_id"), "person_id"),
            case=case,
        )
        # a panel chosen by its number is stored by its slug, made from the name it first had: read as any list
        r = (await readable_referrals(actor, [r], ctx))[0]
        return {
            "id": r["id"],
            "target_kind": r["target_kind"],
            "target": r["target"],
            "reason": r["reason"],
            "status": r["status"],
            "merged": r["merged"],
        }


class TasksAPI(Controller):
    path = "/api/v1/tasks"
    tags = ["tasks"]

    @post("/{task_id:int}/complete", summary="Mark a task done")
    async def complete(self, ctx: Context, actor: Actor, task_id: int) -> dict[str, Any]:
        # the task as the actor reads it: a panel action's words name a case its agency may no longer see
        return (await tasks.readable_task(actor, await tasks.complete_task(ctx, actor, task_id)))[0]


def _referral_out(r: dict[str, Any]) -> dict[str, Any]:
    person = r.get("person")
    out = {
        "id": r["id"],
        "target_kind": r["target_kind"],
        "target": r["target"],
        "target_label": r.get("target_label", ""),
        "reason": r["reason"],
        "rule_id": r["rule_id"],
        "status": r["status"],
        "version": r["version"],
        "from_case_id": r["from_case"],
        "resulting_case_id": r["resulting_case"],
        "created_at": r["created_at"].isoformat(),
        "decision_note": r["decision_note"],
    }
    if isinstance(person, dict) and person:
        out["person"] = {
            "id": person["id"],
            "given_name": person["given_name"],
            "family_name": person["family_name"],
            "date_of_birth": person["date_of_birth"].isoformat() if person["date_of_birth"] else None,
        }
    elif r.get("given_name") is not None:
        out["person"] = {
            "id": person,
            "given_name": r["given_name"],
            "family_name": r["family_name"],
            "date_of_birth": r["dob"].isoformat() if r.get("dob") else None,
        }
    return out


class ReferralsAPI(Controller):
    path = "/api/v1/referrals"
    tags = ["referrals"]

    @get("/", summary="My agency's referrals: waiting (default), decided or sent")
    async def list_referrals(
        self,
        ctx: Context,
        actor: Actor,
        box: str = Parameter(default="waiting", pattern="^(waiting|decided|sent)$"),
        area: str = Parameter(default="", max_length=40),
    ) -> list[dict[str, Any]]:
        from caseframe.core.referrals import inbox

        return [_referral_out(r) for r in await inbox.inbox(ctx, actor, box=box, area=area)]

    @get(
        "/{referral_id:int}",
        summary="One referral: why it was made (each fact the rule tested), its messages",
    )
    async def show(self, ctx: Context, actor: Actor, referral_id: int) -> dict[str, Any]:
        from caseframe.core.referrals import inbox

        r = await inbox.get_referral(ctx, actor, referral_id)
        out = _referral_out(r)
        out["why"] = [
            {
                "rule_id": f["rule_id"],
                "event": f["event"],
                "fired_at": f["fired_at"].isoformat(),
                "facts": [
                    {"question": w["question"], "answer": w["answer"], "looks_for": w["looks_for"]}
                    for w in f["why"]
                ],
            }
            for f in r["firings"]
        ]
        out["messages"] = [
            {
                "kind": m["kind"],
                "text": m["text"],
                "author": m["author_name"],
                "agency": m["agency_name"],
                "at": m["at"].isoformat(),
            }
            for m in r["messages"]
        ]
        out["can_decide"], out["can_answer"] = r["can_decide"], r["can_answer"]
        return out

    @post(
        "/{referral_id:int}/decisions",
        status_code=200,
        summary="Decide: decline, ask, answer, link or panel (with the version read)",
    )
    async def decide(
        self, ctx: Context, actor: Actor, referral_id: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        from caseframe.core.referrals import inbox

        body = _body(data)
        version = _int(body.get("version"), "version")
        action, text = body.get("action"), _text(body, "text")
        if action == "decline":
            await inbox.decline(ctx, actor, referral_id, version=version, reason=text)
        elif action == "ask":
            await inbox.request_info(ctx, actor, referral_id, version=version, question=text)
        elif action == "answer":
            await inbox.give_info(ctx, actor, referral_id, version=version, answer=text)
        elif action == "link":
            await inbox.accept_link(
                ctx, actor, referral_id, version=version, case_id=_int(body.get("case_id"), "case_id")
            )
        elif action == "panel":
            await inbox.accept_to_panel(ctx, actor, referral_id, version=version)
        elif action == "open_case":
            await inbox.accept_new_case(
                ctx,
                actor,
                referral_id,
                version=version,
                area_slug=_text(body, "area"),
                answers=_object(body, "answers") or {},
                role=_text(body, "role"),
            )
        else:
            raise ValidationFailed(
                "Say what to do",
                errors=[
                    {
                        "field": "/action",
                        "message": "action must be decline, ask, answer, link, panel or open_case",
                    }
                ],
            )
        return _referral_out(await inbox.get_referral(ctx, actor, referral_id, audit_view=False))


API_CONTROLLERS = [SessionAPI, AreasAPI, PersonsAPI, CasesAPI, TasksAPI, ReferralsAPI]
