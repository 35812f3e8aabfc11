"""Person pages: search (names never in the URL), create with a duplicate warning, the person page, editing a
person, and merging two records of one person (and a system admin undoing a merge)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from caseframe.core import permissions
from caseframe.core.audit import service as audit
from caseframe.core.audit.service import record_read as audit_read
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.service import enabled_areas
from caseframe.core.context import Context
from caseframe.core.db import MAX_ID
from caseframe.core.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from caseframe.core.persons import service as persons
from caseframe.core.persons.service import GENDERS
from caseframe.core.searching import MAX_SEARCH_LENGTH, name_search_problem
from caseframe.core.sensitivity import sensitivity_rank
from caseframe.core.web.csv_export import csv_line, csv_stream, download_name
from caseframe.core.web.pages import (
    form_data,
    form_date,
    form_int,
    form_list,
    form_number,
    form_text,
    html_error,
    page,
    see_other,
)


def _identifier_types(ctx: Context) -> dict[str, str]:
    return ctx.areas.identifier_types


def _flag_levels(ctx: Context) -> dict[str, str]:
    return ctx.areas.flag_levels


def _dob(data: dict) -> str:
    return form_date(data, "dob")


async def _my_cases_by_person(actor: Actor, ids: list[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {pid: [] for pid in ids}
    for case in await persons.cases_of_persons(ids, actor, owning_agency=actor.agency_id):
        out[case["person_id"]].append(case)
    return out


async def _search(
    request: Request, ctx: Context, actor: Actor
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, str]]]:
    """Read a person search form and run it (the search is audited): the query, the results, the errors."""
    data = await form_data(request)
    query = {
        "name": form_text(data, "name").strip(),
        "identifier": form_text(data, "identifier").strip(),
        "dob-day": form_text(data, "dob-day"),
        "dob-month": form_text(data, "dob-month"),
        "dob-year": form_text(data, "dob-year"),
    }
    dob = _dob(data)
    errors = []
    if name_search_problem(query["name"]) or len(query["identifier"]) > MAX_SEARCH_LENGTH:
        errors.append(
            {
                "field": "name",
                "message": name_search_problem(query["name"])
                or f"Search for an identifier of {MAX_SEARCH_LENGTH} characters or fewer",
            }
        )
    elif not (query["name"] or dob or query["identifier"]):
        errors.append({"field": "name", "message": "Enter a name, a date of birth or an identifier"})
    results = []
    if not errors:
        try:
            results = await persons.find_persons(
                actor,
                name=query["name"],
                date_of_birth=dob,
                identifier=query["identifier"],
                flag_levels=_flag_levels(ctx),
            )
        except ValidationFailed:
            errors.append({"field": "dob", "message": "Date of birth must be a real date"})
    return query, results, errors


class PersonPages(Controller):
    path = "/persons"
    include_in_schema = False

    @get("/")
    async def search_form(self, request: Request) -> Template:
        return await page(request, "persons/search.html", results=None, query={}, errors=[])

    @post("/search")
    async def search(self, request: Request, ctx: Context, actor: Actor) -> Template:
        query, results, errors = await _search(request, ctx, actor)
        cases = await _my_cases_by_person(actor, [p["id"] for p in results])
        return await page(
            request,
            "persons/search.html",
            results=None if errors else results,
            query=query,
            errors=errors,
            cases=cases,
            ctx=ctx,
            status_code=400 if errors else 200,
        )

    @post("/search/export.csv", status_code=200)
    async def export(self, request: Request, ctx: Context, actor: Actor) -> Response:
        """The search's results as CSV (posted, so the name searched for is never in an address): the columns
        the results page shows, for the persons it shows."""
        query, results, errors = await _search(request, ctx, actor)
        if errors:
            return html_error(
                request,
                400,
                "There is a problem",
                " ".join(e["message"] + "." for e in errors) + " Nothing was exported.",
            )
        cases = await _my_cases_by_person(actor, [p["id"] for p in results])
        await audit_read(
            "person.export",
            actor,
            "person",
            detail={
                "rows": len(results),
                "ids": [p["id"] for p in results],
                "filters": {
                    "name": bool(query["name"]),
                    "date_of_birth": bool(_dob(query)),
                    "identifier": bool(query["identifier"]),
                },
            },
        )

        async def lines():
            yield csv_line(["Name", "Date of birth", "Also known as", "On my agency's cases"])
            for p in results:
                yield csv_line(
                    [
                        p["display_name"],
                        p["date_of_birth"] or "Not known",
                        ", ".join(p["aliases"] or []),
                        "; ".join(
                            f"{c['reference']} ({c['role'].replace('_', ' ')})"
                            for c in cases.get(p["id"], [])
                        ),
                    ]
                )

        return csv_stream(lines(), download_name("person-search"))

    @get("/new")
    async def new_form(self, request: Request, ctx: Context) -> Template:
        return await page(
            request,
            "persons/new.html",
            values={},
            errors=[],
            duplicates=[],
            genders=GENDERS,
            identifier_types=_identifier_types(ctx),
        )

    @post("/new")
    async def create(self, request: Request, ctx: Context, actor: Actor) -> Template | Redirect:
        data = await form_data(request)
        # each field is one value, as the page sends it: one sent twice (a crafted form) is refused, not guessed
        # between (it was a list, then a TypeError and a 500)
        repeated = sorted(k for k, v in data.items() if not isinstance(v, str) and k != "csrf_token")
        values = {k: v.strip() for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}
        dob = _dob(data)
        errors = [{"field": f"/{name}", "message": "Enter this only once"} for name in repeated]
        if dob == "invalid":
            errors.append({"field": "/date_of_birth", "message": "Date of birth must be a real date"})
        fields = {
            "given_name": values.get("given_name", ""),
            "family_name": values.get("family_name", ""),
            "date_of_birth": None if dob in ("", "invalid") else dob,
            "gender": values.get("gender", ""),
            "aliases": [a.strip() for a in str(values.get("aliases", "")).split(",") if a.strip()],
            "flags": [],
        }
        if values.get("identifier_value"):
            if values.get("identifier_type") not in _identifier_types(ctx):
                errors.append({"field": "/identifier_type", "message": "Select the kind of identifier"})
            fields["identifiers"] = [
                {"type": values.get("identifier_type"), "value": values["identifier_value"]}
            ]
        if values.get("address_line1") or values.get("address_postcode"):
            fields["addresses"] = [
                {
                    "line1": values.get("address_line1", ""),
                    "town": values.get("address_town", ""),
                    "postcode": values.get("address_postcode", "").upper(),
                }
            ]
        duplicates = []
        if not errors and values.get("confirm_new") != "yes":
            duplicates = await persons.likely_duplicates(
                fields["given_name"], fields["family_name"], fields["date_of_birth"]
            )
            # another agency's record is never shown here: only that one may exist
            visible = await persons.visible_person_ids(actor, [d["id"] for d in duplicates])
            hidden = [d for d in duplicates if d["id"] not in visible]
            duplicates = [d for d in duplicates if d["id"] in visible] + (
                [{"hidden": True}] if hidden else []
            )
        if not errors and not duplicates:
            try:
                person = await persons.create_person(actor, **fields, flag_levels=_flag_levels(ctx))
                return see_other(f"/persons/{person['id']}?done=person-created")
            except ValidationFailed as exc:
                errors = exc.errors + errors
        return await page(
            request,
            "persons/new.html",
            values=values,
            errors=errors,
            duplicates=duplicates,
            genders=GENDERS,
            identifier_types=_identifier_types(ctx),
            error_title=bool(errors),
            status_code=400 if errors else 200,
        )

    @get("/{person_id:int}")
    async def show(self, request: Request, ctx: Context, actor: Actor, person_id: int) -> Template | Redirect:
        survivor = await persons.survivor_of(actor, person_id)
        if survivor is not None:  # a merged record: its address (bookmarks, old links) leads to the survivor
            return see_other(f"/persons/{survivor}?done=person-merged-here")
        person = await persons.get_person(actor, person_id, flag_levels=_flag_levels(ctx))
        mine, others = await persons.person_case_links(actor, person_id)
        for link in mine:
            area = ctx.areas.get(link["area"])
            link["area_title"] = area.title if area else link["area"]
            link["state_label"] = area.workflow.label(link["state"]) if area else link["state"]
            link["role_label"] = area.roles.get(link["role"], link["role"]) if area else link["role"]
        enabled = await enabled_areas(actor.agency_id)
        rights = await persons.person_rights(actor, person_id)
        duplicates = await _duplicates(ctx, actor, person_id)
        return await page(
            request,
            "persons/show.html",
            person=person,
            cases=mine,
            other_agency_cases=others,
            areas=[a for a in ctx.areas if a.slug in enabled] if permissions.can(actor, "case.open") else [],
            identifier_types=_identifier_types(ctx),
            rights=rights,
            duplicates=duplicates,
            merges=await persons.merges_into(actor, person_id),
        )

    @get("/{person_id:int}/edit")
    async def edit_form(self, request: Request, ctx: Context, actor: Actor, person_id: int) -> Template:
        person = await persons.get_person(actor, person_id, flag_levels=_flag_levels(ctx))
        if not (await persons.person_rights(actor, person_id))["edit"]:
            raise Forbidden(EDIT_REFUSED)
        return await _edit_page(request, ctx, person, _form_of(person), [])

    @post("/{person_id:int}/edit")
    async def edit(self, request: Request, ctx: Context, actor: Actor, person_id: int) -> Template | Redirect:
        data = await form_data(request)
        fields, errors = _fields_from_form(data)
        version = form_number(data, "version")
        try:
            if errors:
                raise ValidationFailed("There is a problem with the person’s details", errors=errors)
            await persons.update_person(
                actor,
                person_id,
                expected_version=version,
                fields=fields,
                identifier_types=_identifier_types(ctx),
                flag_levels=_flag_levels(ctx),
            )
        except ValidationFailed as exc:
            person = await persons.get_person(
                actor, person_id, audit_view=False, flag_levels=_flag_levels(ctx)
            )
            form = {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}
            form["flags"] = fields.get("flags", person.get("flags", []))
            return await _edit_page(request, ctx, person, form, exc.errors, status_code=400)
        return see_other(f"/persons/{person_id}?done=person-saved")

    @get("/{person_id:int}/merge")
    async def merge_start(
        self, request: Request, ctx: Context, actor: Actor, person_id: int
    ) -> Template | Redirect:
        person = await persons.get_person(actor, person_id, flag_levels=_flag_levels(ctx))
        if not (await persons.person_rights(actor, person_id))["merge"]:
            raise Forbidden(MERGE_REFUSED)
        error = ""
        other = request.query_params.get("with")
        if other is not None:
            number = form_int(other)
            if number is None or not 0 < number <= MAX_ID:
                error = "Enter the record number of the other person, for example 1042"
            elif number == person_id:
                error = "Enter the number of another record, not this one"
            else:
                return see_other(f"/persons/{person_id}/merge/{number}")
        return await page(
            request,
            "persons/merge_start.html",
            person=person,
            duplicates=await _duplicates(ctx, actor, person_id),
            error=error,
            other=(other or "")[:20],
            status_code=400 if error else 200,
        )

    @get("/{person_id:int}/merge/{other_id:int}")
    async def compare(
        self, request: Request, ctx: Context, actor: Actor, person_id: int, other_id: int
    ) -> Template:
        return await _compare_page(request, ctx, actor, person_id, other_id)

    @post("/{person_id:int}/merge/{other_id:int}")
    async def merge(
        self, request: Request, ctx: Context, actor: Actor, person_id: int, other_id: int
    ) -> Template | Redirect:
        data = await form_data(request)
        first, second = await _pair(actor, person_id, other_id)
        chosen = {"a": first, "b": second}

        def choice(name: str) -> str:
            # "a" or "b", as the page's radios send it; a field sent twice (a crafted form) is no choice, never a
            # list looked up in a dict (a TypeError and a 500)
            value = data.get(name)
            return value if isinstance(value, str) else ""

        keep_key = choice("survivor")
        errors = []
        if keep_key not in chosen:
            errors.append({"field": "survivor", "message": "Choose which record to keep"})
        for field in persons.MERGE_CHOICE_FIELDS:
            if first[field] != second[field] and choice(field) not in chosen:
                errors.append(
                    {"field": field, "message": f"Choose which {FIELD_LABELS[field].lower()} to keep"}
                )
        if errors:
            return await _compare_page(
                request, ctx, actor, person_id, other_id, errors=errors, form=data, status_code=400
            )
        keep, other = (first, second) if keep_key == "a" else (second, first)
        other_key = "b" if keep_key == "a" else "a"
        take = {f for f in persons.MERGE_CHOICE_FIELDS if first[f] != second[f] and choice(f) == other_key}
        lists = {}
        for field, name in (("aliases", "alias"), ("identifiers", "identifier"), ("addresses", "address")):
            union = persons.union_of(first[field], second[field])
            picked = form_list(data, name)
            lists[field] = [item for i, item in enumerate(union) if str(i) in picked]
        try:
            result = await persons.merge_persons(
                ctx,
                actor,
                keep["id"],
                other["id"],
                take_from_merged=take,
                versions={
                    first["id"]: form_number(data, "version_a"),
                    second["id"]: form_number(data, "version_b"),
                },
                **lists,
            )
        except ValidationFailed as exc:
            return await _compare_page(
                request, ctx, actor, person_id, other_id, errors=exc.errors, form=data, status_code=400
            )
        return see_other(f"/persons/{result['survivor_id']}?done=persons-merged")


class PersonMergeAdminPages(Controller):
    """A system admin's list of every merge (numbers, not names) and the page that undoes one."""

    path = "/admin/person-merges"
    include_in_schema = False

    @get("/")
    async def merges(self, request: Request, actor: Actor) -> Template:
        merges = await persons.list_merges(actor)
        return await page(request, "persons/merges.html", merges=merges)

    @get("/{merge_id:int}/undo")
    async def undo_form(self, request: Request, actor: Actor, merge_id: int) -> Template:
        merge = await persons.merge_record(actor, merge_id)
        return await page(request, "persons/undo_merge.html", merge=merge)

    @post("/{merge_id:int}/undo")
    async def undo(self, request: Request, ctx: Context, actor: Actor, merge_id: int) -> Template | Redirect:
        try:
            result = await persons.undo_merge(ctx, actor, merge_id)
        except NotFound:
            raise
        except ServiceError as exc:
            merge = await persons.merge_record(actor, merge_id)  # refuses, as the undo did, who may not undo
            return await page(
                request,
                "persons/undo_merge.html",
                merge=merge,
                errors=[{"field": "", "message": exc.message}],
                status_code=403 if isinstance(exc, Forbidden) else 400,
            )
        if await persons.survivor_of(actor, result["merged_id"]) is None and result[
            "merged_id"
        ] in await persons.visible_person_ids(actor, [result["merged_id"]]):
            return see_other(f"/persons/{result['merged_id']}?done=merge-undone")
        return see_other("/admin/person-merges?done=merge-undone")


EDIT_REFUSED = (
    "Only the agency that recorded this person can change their details. Ask them to correct the record."
)
MERGE_REFUSED = (
    "Only a supervisor, local admin or system admin of the agency that recorded both persons can merge "
    "their records."
)
FIELD_LABELS = {
    "given_name": "First name",
    "family_name": "Last name",
    "date_of_birth": "Date of birth",
    "gender": "Gender",
}


async def _duplicates(ctx: Context, actor: Actor, person_id: int) -> list[dict[str, Any]]:
    """Likely duplicates the user may see, with why; the ids shown are recorded (it is a read of persons)."""
    found = await persons.duplicate_candidates(actor, person_id, identifier_types=_identifier_types(ctx))
    if found:
        await audit.record_read(
            "person.duplicates", actor, "person", person_id, detail={"person_ids": [p["id"] for p in found]}
        )
    return found


def _form_of(person: dict[str, Any]) -> dict[str, str]:
    """A person's details as the edit form's fields."""
    form = {
        "given_name": person["given_name"],
        "family_name": person["family_name"],
        "gender": person["gender"],
        "aliases": "\n".join(person["aliases"]),
        "version": str(person["version"]),
        "flags": list(person.get("flags", [])),
    }
    if person["date_of_birth"]:
        year, month, day = person["date_of_birth"].split("-")
        form.update(
            {
                "date_of_birth-year": year,
                "date_of_birth-month": str(int(month)),
                "date_of_birth-day": str(int(day)),
            }
        )
    for i, ident in enumerate(person["identifiers"]):
        if isinstance(ident, dict):
            form[f"identifiers-{i}-type"] = str(ident.get("type", ""))
            form[f"identifiers-{i}-value"] = str(ident.get("value", ""))
    for i, address in enumerate(person["addresses"]):
        if not isinstance(address, dict):
            continue
        for part in ("line1", "town", "postcode"):
            form[f"addresses-{i}-{part}"] = str(address.get(part, ""))
        for end in ("from", "to"):
            if address.get(end):
                year, month, day = str(address[end]).split("-")
                form.update(
                    {
                        f"addresses-{i}-{end}-year": year,
                        f"addresses-{i}-{end}-month": str(int(month)),
                        f"addresses-{i}-{end}-day": str(int(day)),
                    }
                )
    return form


def _rows(data: dict[str, Any], prefix: str, parts: tuple[str, ...]) -> int:
    """How many numbered rows (prefix-0-part, prefix-1-part...) the form holds, up to the most a person keeps."""
    count = 0
    while count < persons.MAX_ENTRIES and any(
        f"{prefix}-{count}-{p}" in data or f"{prefix}-{count}-{p}-year" in data for p in parts
    ):
        count += 1
    return count


def _fields_from_form(data: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The edit form's fields as the service takes them; rows left empty are dropped (that removes them)."""

    def text(name: str) -> str:
        # sent twice, refused: read as "", a row's value sent twice removed the row without a word
        return form_text(data, name).strip()

    errors: list[dict[str, str]] = []
    dob = form_date(data, "date_of_birth")
    fields: dict[str, Any] = {
        "given_name": text("given_name"),
        "family_name": text("family_name"),
        "gender": text("gender"),
        "date_of_birth": dob or None,
        "aliases": [a.strip() for a in text("aliases").splitlines() if a.strip()],
    }
    if "flags-shown" in data:  # the page's markers section was sent: the boxes ticked are the markers kept
        fields["flags"] = form_list(data, "flags")
    fields["identifiers"] = []
    for i in range(_rows(data, "identifiers", ("type", "value"))):
        value = text(f"identifiers-{i}-value")
        if value:
            fields["identifiers"].append({"type": text(f"identifiers-{i}-type"), "value": value})
    fields["addresses"] = []
    for i in range(_rows(data, "addresses", ("line1", "town", "postcode", "from", "to"))):
        address = {part: text(f"addresses-{i}-{part}") for part in ("line1", "town", "postcode")}
        address["from"] = form_date(data, f"addresses-{i}-from")
        address["to"] = form_date(data, f"addresses-{i}-to")
        if any(address.values()):
            fields["addresses"].append(address)
    return fields, errors


def _flag_choices(ctx: Context, person: dict[str, Any]) -> list[dict[str, str]]:
    """The warning markers the edit page offers: every one declared, least sensitive first, then any the record
    holds that no area declares any more (kept unless unticked)."""
    declared = ctx.areas.person_flags
    choices = [
        {"name": name, "label": flag.label, "audience": FLAG_AUDIENCE[flag.sensitivity]}
        for name, flag in sorted(
            declared.items(), key=lambda item: (sensitivity_rank(item[1].sensitivity), item[1].label)
        )
    ]
    choices += [
        {"name": name, "label": ctx.areas.flag_label(name), "audience": FLAG_AUDIENCE[""]}
        for name in person.get("flags", [])
        if name not in declared
    ]
    return choices


#: who reads a marker of each level, as the edit page says under it
FLAG_AUDIENCE = {
    "official": "Every agency that sees this person",
    "sensitive": "Partners whose agreement allows sensitive information",
    "special_category": "Partners whose agreement allows special category information (health, ethnicity, "
    "religion, sexuality)",
    "": "No area declares this marker any more: partners see it only when their agreement allows special "
    "category information",
}


async def _edit_page(
    request: Request,
    ctx: Context,
    person: dict[str, Any],
    form: dict[str, str],
    errors: list[dict[str, str]],
    status_code: int = 200,
) -> Template:
    identifiers = max(_rows(form, "identifiers", ("type", "value")), len(person["identifiers"])) + 1
    addresses = (
        max(_rows(form, "addresses", ("line1", "town", "postcode", "from", "to")), len(person["addresses"]))
        + 1
    )
    return await page(
        request,
        "persons/edit.html",
        person=person,
        form=form,
        errors=errors,
        errors_by={e["field"]: e["message"] for e in errors},
        genders=GENDERS,
        identifier_types=_identifier_types(ctx),
        person_flags=_flag_choices(ctx, person),
        identifier_rows=min(identifiers, persons.MAX_ENTRIES),
        address_rows=min(addresses, persons.MAX_ENTRIES),
        error_title=bool(errors),
        status_code=status_code,
    )


async def _pair(actor: Actor, person_id: int, other_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two records to compare, both visible to the user (else 404, the same as for any unseen person)."""
    first = await persons.get_person(actor, person_id, audit_view=False)
    second = await persons.get_person(actor, other_id, audit_view=False)
    if person_id == other_id:
        raise NotFound("Choose two different records to compare")
    rights = await persons.person_rights(actor, person_id)
    other_rights = await persons.person_rights(actor, other_id)
    if not (rights["merge"] and other_rights["merge"]):
        raise Forbidden(MERGE_REFUSED)
    return first, second


async def _compare_page(
    request: Request,
    ctx: Context,
    actor: Actor,
    person_id: int,
    other_id: int,
    *,
    errors: list | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    first, second = await _pair(actor, person_id, other_id)
    await audit.record_read(
        "person.compare", actor, "person", person_id, detail={"person_ids": [person_id, other_id]}
    )
    reasons = await persons.explain_pair(person_id, other_id, _identifier_types(ctx))
    cases = {
        pid: len(
            {
                c["case_id"]
                for c in await persons.cases_of_person(pid, actor)
                if c["owning_agency_id"] == actor.agency_id
            }
        )
        for pid in (person_id, other_id)
    }
    unions = {
        field: persons.union_of(first[field], second[field])
        for field in ("aliases", "identifiers", "addresses")
    }
    form = form or {}
    picked = {
        name: (form.get(name) if isinstance(form.get(name), list) else [form.get(name)]) if form else None
        for name in ("alias", "identifier", "address")
    }
    return await page(
        request,
        "persons/compare.html",
        a=first,
        b=second,
        reasons=reasons,
        cases=cases,
        unions=unions,
        picked=picked,
        form=form,
        errors=errors or [],
        errors_by={e["field"]: e["message"] for e in errors or []},
        labels=FIELD_LABELS,
        choice_fields=persons.MERGE_CHOICE_FIELDS,
        identifier_types=_identifier_types(ctx),
        error_title=bool(errors),
        status_code=status_code,
    )
