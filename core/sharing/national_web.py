"""The national search page: whether another agency holds a record of a person, and nothing more."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Template

from caseframe.core.auth.actor import Actor
from caseframe.core.errors import ValidationFailed
from caseframe.core.sharing.national import national_search
from caseframe.core.web.pages import form_data, form_date, form_text, page


class NationalSearchPage(Controller):
    path = "/search/national"
    include_in_schema = False

    @get("/")
    async def form(self, request: Request) -> Template:
        return await page(request, "sharing/national.html", values={}, errors={}, results=None)

    @post("/")
    async def search(self, request: Request, actor: Actor) -> Template:
        data = await form_data(request)
        # a field sent twice is refused, not searched for as the text of a list
        values = {k: form_text(data, k) for k in data if k != "csrf_token"}
        dob = form_date(values, "dob")
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
