"""The national search page: whether another agency holds a record of a person, and nothing more."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Template

from caseframe.core.auth.actor import Actor
from caseframe.core.errors import ValidationFailed
from caseframe.core.numbers import typed_date
from caseframe.core.sharing.national import national_search
from caseframe.core.web.pages import form_data, page


class NationalSearchPage(Controller):
    path = "/search/national"
    include_in_schema = False

    @get("/")
    async def form(self, request: Request) -> Template:
        return await page(request, "sharing/national.html", values={}, errors={}, results=None)

    @post("/")
    async def search(self, request: Request, actor: Actor) -> Template:
        data = await form_data(request)
        values = {k: str(v) for k, v in data.items() if k != "csrf_token"}
        dob = typed_date(values, "dob")
        try:
            results = await national_search(
                actor, purpose=values.get("purpose", ""), name=values.get("name", ""), date_of_birth=dob
            )
        except ValidationFailed as exc:
            return await page(
                request,
                "sharing/national.html",
                values=values,
                results=None,
                errors={e["field"]: e["message"] for e in exc.errors},
                error_list=exc.errors,
                error_title=True,
                status_code=400,
            )
        return await page(request, "sharing/national.html", values=values, errors={}, results=results)
