"""Person pages: search (names never in the URL), create with a duplicate warning, and the person page."""
from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from core.audit.service import record_read as audit_read
from core.cases.service import enabled_areas
from core.cases.tables import Case
from core.errors import ValidationFailed
from core.numbers import typed_date
from core.persons import service as persons
from core.persons.service import GENDERS
from core.sharing.policy import CASEWORKING_ROLES
from core.searching import MAX_SEARCH_LENGTH, name_search_problem
from core.web.auth import current_actor
from core.web.pages import ctx_of, form_data, html_error, page, see_other
from core.web.csv_export import csv_line, csv_stream, download_name


def _identifier_types(request: Request) -> dict[str, str]:
    return ctx_of(request).areas.identifier_types


def _dob(data: dict) -> str:
    return typed_date(data, "dob")


async def _my_cases_by_person(request: Request, ids: list[int]) -> dict[int, list[dict]]:
    actor = current_actor(request)
    out: dict[int, list[dict]] = {pid: [] for pid in ids}
    for case in await persons.cases_of_persons(ids):
        if case["owning_agency_id"] == actor.agency_id:
            out[case["person_id"]].append(case)
    return out


async def _search(request: Request) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, str]]]:
    """Read a person search form and run it (the search is audited): the query, the results, the errors."""
    data = await form_data(request)
    query = {"name": str(data.get("name", "")).strip(), "identifier": str(data.get("identifier", "")).strip(),
             "dob-day": data.get("dob-day", ""), "dob-month": data.get("dob-month", ""),
             "dob-year": data.get("dob-year", "")}
    dob = _dob(data)
    errors = []
    if name_search_problem(query["name"]) or len(query["identifier"]) > MAX_SEARCH_LENGTH:
        errors.append({"field": "name", "message": name_search_problem(query["name"]) or
                       f"Search for an identifier of {MAX_SEARCH_LENGTH} characters or fewer"})
    elif not (query["name"] or dob or query["identifier"]):
        errors.append({"field": "name", "message": "Enter a name, a date of birth or an identifier"})
    results = []
    if not errors:
        try:
            results = await persons.find_persons(current_actor(request), name=query["name"],
                                                 date_of_birth=dob, identifier=query["identifier"])
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
    async def search(self, request: Request) -> Template:
        query, results, errors = await _search(request)
        cases = await _my_cases_by_person(request, [p["id"] for p in results])
        return await page(request, "persons/search.html", results=None if errors else results, query=query,
                          errors=errors, cases=cases, ctx=ctx_of(request), status_code=400 if errors else 200)

    @post("/search/export.csv", status_code=200)
    async def export(self, request: Request) -> Response:
        """The search's results as CSV (posted, so the name searched for is never in an address): the columns
        the results page shows, for the persons it shows."""
        query, results, errors = await _search(request)
        if errors:
            return html_error(request, 400, "There is a problem",
                              " ".join(e["message"] + "." for e in errors) + " Nothing was exported.")
        cases = await _my_cases_by_person(request, [p["id"] for p in results])
        await audit_read("person.export", current_actor(request), "person", detail={
            "rows": len(results), "ids": [p["id"] for p in results],
            "filters": {"name": bool(query["name"]), "date_of_birth": bool(_dob(query)),
                        "identifier": bool(query["identifier"])}})

        async def lines():
            yield csv_line(["Name", "Date of birth", "Also known as", "On my agency's cases"])
            for p in results:
                yield csv_line([p["display_name"], p["date_of_birth"] or "Not known", ", ".join(p["aliases"] or []),
                                "; ".join(f"{c['reference']} ({c['role'].replace('_', ' ')})"
                                          for c in cases.get(p["id"], []))])

        return csv_stream(lines(), download_name("person-search"))

    @get("/new")
    async def new_form(self, request: Request) -> Template:
        return await page(request, "persons/new.html", values={}, errors=[], duplicates=[], genders=GENDERS,
                          identifier_types=_identifier_types(request))

    @post("/new")
    async def create(self, request: Request) -> Template | Redirect:
        data = await form_data(request)
        values = {k: str(v).strip() if isinstance(v, str) else v for k, v in data.items() if k != "csrf_token"}
        dob = _dob(data)
        errors = []
        if dob == "invalid":
            errors.append({"field": "/date_of_birth", "message": "Date of birth must be a real date"})
        fields = {
            "given_name": values.get("given_name", ""), "family_name": values.get("family_name", ""),
            "date_of_birth": None if dob in ("", "invalid") else dob, "gender": values.get("gender", ""),
            "aliases": [a.strip() for a in str(values.get("aliases", "")).split(",") if a.strip()],
            "flags": [],
        }
        if values.get("identifier_value"):
            if values.get("identifier_type") not in _identifier_types(request):
                errors.append({"field": "/identifier_type", "message": "Select the kind of identifier"})
            fields["identifiers"] = [{"type": values.get("identifier_type"), "value": values["identifier_value"]}]
        if values.get("address_line1") or values.get("address_postcode"):
            fields["addresses"] = [{"line1": values.get("address_line1", ""), "town": values.get("address_town", ""),
                                    "postcode": values.get("address_postcode", "").upper()}]
        duplicates = []
        if not errors and values.get("confirm_new") != "yes":
            duplicates = await persons.likely_duplicates(fields["given_name"], fields["family_name"],
                                                         fields["date_of_birth"])
            # another agency's record is never shown here: only that one may exist
            visible = await persons.visible_person_ids(current_actor(request), [d["id"] for d in duplicates])
            hidden = [d for d in duplicates if d["id"] not in visible]
            duplicates = [d for d in duplicates if d["id"] in visible] + ([{"hidden": True}] if hidden else [])
        if not errors and not duplicates:
            try:
                person = await persons.create_person(current_actor(request), **fields)
                return see_other(f"/persons/{person['id']}?done=person-created")
            except ValidationFailed as exc:
                errors = exc.errors + errors
        return await page(request, "persons/new.html", values=values, errors=errors, duplicates=duplicates,
                          genders=GENDERS, identifier_types=_identifier_types(request), error_title=bool(errors),
                          status_code=400 if errors else 200)

    @get("/{person_id:int}")
    async def show(self, request: Request, person_id: int) -> Template:
        ctx, actor = ctx_of(request), current_actor(request)
        person = await persons.get_person(actor, person_id)
        links = await persons.cases_of_person(person_id)
        mine = [link for link in links if link["owning_agency_id"] == actor.agency_id]
        others = len({link["case_id"] for link in links}) - len({m["case_id"] for m in mine})
        rows = {r["id"]: r for r in await Case.select(Case.id, Case.reference, Case.area, Case.state,
                                                     Case.risk_level).where(Case.id.is_in([m["case_id"] for m in mine] or [0]))}
        for link in mine:
            area = ctx.areas.get(link["area"])
            link["area_title"] = area.title if area else link["area"]
            link["state_label"] = area.workflow.label(link["state"]) if area else link["state"]
            link["role_label"] = area.roles.get(link["role"], link["role"]) if area else link["role"]
            link["risk_level"] = rows.get(link["case_id"], {}).get("risk_level")
        enabled = await enabled_areas(actor.agency_id)
        return await page(request, "persons/show.html", person=person, cases=mine, other_agency_cases=others,
                          areas=[a for a in ctx.areas if a.slug in enabled] if actor.has(*CASEWORKING_ROLES) else [],
                          identifier_types=_identifier_types(request))
