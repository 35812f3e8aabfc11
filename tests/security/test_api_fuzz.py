"""Fuzzing the JSON API from its own OpenAPI document: no generated request, valid or not, gets a 5xx.

Schemathesis reads /schema/openapi.json from the app and generates requests for every operation under
/api (schema-valid ones and, on purpose, invalid ones). They are sent by a signed-in caseworker's bearer
token on the test's own event loop and database, and each response is checked: never a server error,
and where the document describes a response, the response matches it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.sharing import service as sharing
from caseframe.core.tasks import service as tasks
from caseframe.core.testing import (
    TEST_PASSWORD,
    empty_tables,
    make_agency,
    make_context,
    make_person,
    make_user,
    sign_in,
)
from tests.fixtures.areas import noise_plugin

#: examples per operation and generation mode: enough to find a crash in the body's shape, quick to run
EXAMPLES = 25
#: operations not fuzzed, each with why
SKIPPED = {
    ("DELETE", "/api/v1/session"): "signs the fuzzing token out; covered by tests/core/test_api.py",
}
CHECKS = [not_a_server_error, response_schema_conformance]
#: errors are RFC 9457 problem details (application/problem+json), which Litestar's generated document
#: lists as application/json: the content type is checked on successful responses only
SUCCESS_CHECKS = [*CHECKS, content_type_conformance]


@pytest.fixture(scope="module")
async def api(database):
    """A signed-in caseworker's client over one app, with a case, person, task and share to aim at."""
    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    await empty_tables()
    ctx = make_context(noise_plugin)
    council = await make_agency(ctx, "fuzz-council")
    police = await make_agency(ctx, "fuzz-police", agency_type="police")
    worker = await make_user(council, ("caseworker", "supervisor"), name="Fern Fuzz")
    admin = await make_user(council, ("system_admin",), name="Sid Admin")
    person = await make_person(worker, given_name="Petra", family_name="Fuzzington")
    case = await cases.open_case(
        ctx,
        worker,
        "noise",
        {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"},
        subjects=[(person["id"], "subject")],
    )
    task = await tasks.add_task(ctx, worker, case["id"], title="Visit")
    today = clock.today()
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-F",
        title="Fuzz",
        parties=[council["id"], police["id"]],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="CDA 1998 s.115",
        starts_on=today - dt.timedelta(days=1),
        ends_on=today + dt.timedelta(days=30),
        max_sensitivity="official",
    )
    app = create_app(
        Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=database
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as client:
        await sign_in(client, worker)  # the document is for signed-in people, like the rest of the site
        raw = (await client.get("/schema/openapi.json")).json()
        client.cookies.clear()  # the API is driven by the bearer token alone
        signed = await client.post("/api/v1/session", json={"email": worker.email, "password": TEST_PASSWORD})
        client.headers["Authorization"] = f"Bearer {signed.json()['token']}"
        ids = {"case_id": case["id"], "person_id": person["id"], "task_id": task["id"]}
        yield client, schemathesis.openapi.from_dict(raw), ids


def _operations(schema) -> list[Any]:
    out = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith("/api/") and (operation.method.upper(), operation.path) not in SKIPPED:
            out.append(operation)
    return out


def _draw(operation, mode: GenerationMode, n: int, ids: dict[str, int] | None = None) -> list[Any]:
    """``n`` generated requests for one operation (drawn up front: the requests are sent on the test's loop);
    ``ids`` pins path parameters to records that exist, so bodies reach the services and not only a 404."""
    drawn: list[Any] = []
    names = {p.name for p in operation.path_parameters} if ids else set()
    pinned = {k: v for k, v in (ids or {}).items() if k in names}
    if ids is not None and not pinned:
        return []

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode, **({"path_parameters": pinned} if pinned else {})))
    def collect(case):
        drawn.append(case)

    collect()
    return drawn


async def _send(client: httpx.AsyncClient, case) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "params": kwargs.get("params"),
        "headers": {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "authorization"},
    }
    if "json" in kwargs:
        request["content"] = json.dumps(kwargs["json"]).encode()
        request["headers"].setdefault("Content-Type", "application/json")
    elif "data" in kwargs:
        data = kwargs["data"]
        request["content"] = data if isinstance(data, bytes | str) else json.dumps(data).encode()
    return await client.request(**request)


async def test_the_schema_describes_the_api(api):
    client, schema, _ = api
    paths = {op.path for op in _operations(schema)}
    assert {"/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/persons", "/api/v1/referrals"} <= paths


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
async def test_no_generated_request_gets_a_server_error(api, mode):
    client, schema, ids = api
    failures: list[str] = []
    sent = 0
    for operation in _operations(schema):
        try:
            drawn = _draw(operation, mode, EXAMPLES) + _draw(operation, mode, EXAMPLES, ids)
        except Exception as exc:  # an operation with nothing invalid to say (no parameters, no body)
            if mode is GenerationMode.NEGATIVE:
                continue
            raise AssertionError(f"could not generate requests for {operation.label}: {exc}") from exc
        for case in drawn:
            response = await _send(client, case)
            sent += 1
            try:
                case.validate_response(
                    response, checks=SUCCESS_CHECKS if response.status_code < 400 else CHECKS
                )
            except (
                BaseExceptionGroup
            ) as exc:  # schemathesis raises a group of the failed checks, with a reproduction
                first = str(exc).strip().splitlines()
                failures.append(
                    f"{operation.label} -> {response.status_code}: {' | '.join(line for line in first if 'curl' in line or 'ST' in line)}"
                )
    assert sent > 50, "too few requests were generated: is the schema being read?"
    assert not failures, f"{len(failures)} responses failed the checks:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cases/3036023620049023345642417684480",
        "/api/v1/tasks/{big}/complete",
        "/api/v1/cases?offset=33681639145811513645023100928",
        # one past PostgreSQL's 32-bit serial ids: SQLite would take it, PostgreSQL's driver not
        "/api/v1/cases/2147483648",
        "/api/v1/referrals/2147483648",
    ],
)
async def test_numbers_too_big_for_the_database_are_refused_not_crashed(api, url):
    """Found by the fuzzing: ids and offsets beyond 64 bits reached the database driver and gave a 500."""
    client, _, _ = api
    method = "POST" if url.endswith("/complete") else "GET"
    response = await client.request(method, url.replace("{big}", str(2**80)))
    assert response.status_code in (400, 404), response.text


@pytest.mark.parametrize("field", ["person_id", "version"])
async def test_ids_in_a_body_beyond_32_bits_are_a_clear_422(api, field):
    """An id or version the database cannot hold is refused with the field named, on SQLite and PostgreSQL alike."""
    client, _, ids = api
    if field == "person_id":  # the caseworker's own case: the body is read before anything is looked up
        url = f"/api/v1/cases/{ids['case_id']}/referrals"
        body = {"target_kind": "agency_type", "target": "police", "reason": "x", "person_id": 2**31}
    else:
        url, body = "/api/v1/referrals/1/decisions", {"action": "link", "case_id": 1, "version": 2**31}
    response = await client.post(url, json=body)
    assert response.status_code == 422, response.text
    assert "too large" in response.text


@pytest.mark.parametrize("how", ["json", "query", "path"])
async def test_a_null_character_is_refused_with_a_clear_message_on_every_database(api, how):
    """Found by the fuzzing on PostgreSQL, whose text columns cannot hold a null character: the driver's error
    was a 500. Now the request is refused before any handler runs, on SQLite too, and nothing is saved."""
    from caseframe.core.persons.tables import Person

    client, _, ids = api
    before = await Person.count()
    if how == "json":
        response = await client.post(
            "/api/v1/persons",
            json={"given_name": "A\u0000b", "family_name": "C", "date_of_birth": "2000-01-01"},
        )
    elif how == "query":
        response = await client.get("/api/v1/cases", params={"area": "no\u0000ise"})
    else:
        response = await client.get("/api/v1/areas/no%00ise")
    assert response.status_code in ((404, 422) if how == "path" else (422,)), response.text
    if response.status_code == 422:
        assert "null character" in response.json()["detail"]
    assert await Person.count() == before
    escaped = await client.post(
        f"/api/v1/cases/{ids['case_id']}/notes", json={"text": "a literal \\u0000 is fine"}
    )
    assert escaped.status_code == 201, escaped.text
