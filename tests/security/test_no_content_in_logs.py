"""No case content in application logs: answers, names and notes never reach a log record, even on failures."""

from __future__ import annotations

import logging

import pytest

from caseframe.core.cases import service as cases
from caseframe.core.errors import ServiceError
from caseframe.core.testing import make_agency, make_context, make_person, make_user, sign_in, web_client
from tests.fixtures.areas import noise_plugin

SECRET_STREET = "Zephyrine Crescent"
SECRET_NAME = "Quillon"
SECRET_NOTE = "disclosed a Xanthic medical history"


async def test_a_working_day_leaves_no_case_content_in_the_logs(db, caplog):
    caplog.set_level(logging.DEBUG)
    ctx = make_context(noise_plugin)
    agency = await make_agency(ctx, "ashdown-council")
    worker = await make_user(agency, ("caseworker", "supervisor"))
    person = await make_person(worker, given_name="Ilse", family_name=SECRET_NAME)
    case = await cases.open_case(
        ctx,
        worker,
        "noise",
        {"date_of_incident": "2026-11-01", "street": SECRET_STREET, "kind": "music"},
        subjects=[(person["id"], "complainant")] if "complainant" in ctx.area("noise").roles else None,
    )
    await cases.add_note(ctx, worker, case["id"], SECRET_NOTE)
    for bad in ({"street": SECRET_STREET}, [SECRET_STREET], {"kind": SECRET_STREET}):
        with pytest.raises(ServiceError):
            await cases.save_form(ctx, worker, case["id"], "report", bad, expected_version=None)
    async with web_client(ctx, db) as client:
        token = await sign_in(client, worker)
        await client.get(f"/cases/{case['id']}")
        await client.post(
            f"/cases/{case['id']}/forms/report", data={"f.street": SECRET_STREET, "csrf_token": token}
        )
        await client.post("/persons", data={"name": SECRET_NAME, "csrf_token": token})
        await client.post("/sign-in", data={"email": f"{SECRET_NAME}@x.example", "password": SECRET_NOTE})
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for secret in (SECRET_STREET, SECRET_NAME, SECRET_NOTE, "Xanthic"):
        assert secret not in logged, f"{secret!r} reached the logs"
