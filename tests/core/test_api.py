"""The JSON API over HTTP: sign-in, deny by default, problem details, cases end to end."""

from __future__ import annotations

import httpx
import pytest

from caseframe.core.settings import Settings
from caseframe.core.testing import TEST_PASSWORD, make_agency, make_user
from caseframe.core.web.app import create_app

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


@pytest.fixture
async def client(db, ctx):
    app = create_app(Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=db)
    # httpx's ASGI transport runs the app on the test's own event loop, as the database pool needs
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
    ) as c:
        yield c


async def signed_in(client, ctx, roles=("caseworker",), slug="ashdown-test"):
    agency = await make_agency(ctx, slug)
    actor = await make_user(agency, roles)
    r = await client.post("/api/v1/session", json={"email": actor.email, "password": TEST_PASSWORD})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}, actor


async def test_health_is_public_and_everything_else_needs_sign_in(client):
    assert (await client.get("/health")).json()["status"] == "ok"
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 303 and schema.headers["location"].startswith("/sign-in")
    for path in ("/api/v1/areas", "/api/v1/cases", "/api/v1/persons", "/api/v1/cases/1"):
        r = await client.get(path)
        assert r.status_code == 401, path
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"] == "Sign in to continue"


async def test_wrong_password_gets_one_message(client, ctx):
    agency = await make_agency(ctx, "x-council")
    actor = await make_user(agency)
    for email, password in ((actor.email, "wrong"), ("nobody@example.org", TEST_PASSWORD)):
        r = await client.post("/api/v1/session", json={"email": email, "password": password})
        assert r.status_code == 401
        assert r.json()["detail"] == "Enter a correct email address and password"


async def test_areas_with_form_schemas(client, ctx):
    headers, _ = await signed_in(client, ctx)
    areas = (await client.get("/api/v1/areas", headers=headers)).json()
    assert [a["slug"] for a in areas] == ["noise"]
    noise = (await client.get("/api/v1/areas/noise", headers=headers)).json()
    assert noise["forms"][0]["schema"]["title"] == "Noise report"
    r = await client.get("/api/v1/areas/nope", headers=headers)
    assert r.status_code == 404 and "not installed" in r.json()["detail"]


async def test_case_journey_over_the_api(client, ctx):
    headers, actor = await signed_in(client, ctx)
    person = (
        await client.post(
            "/api/v1/persons",
            headers=headers,
            json={
                "given_name": "Jordan",
                "family_name": "Reilly",
                "date_of_birth": "1998-03-14",
                "aliases": ["JJ"],
            },
        )
    ).json()
    found = (await client.get("/api/v1/persons", params={"name": "reilly jordan"}, headers=headers)).json()
    assert [p["id"] for p in found] == [person["id"]]
    bad = await client.post(
        "/api/v1/cases", headers=headers, json={"area": "noise", "answers": {"kind": "music"}}
    )
    assert bad.status_code == 422
    assert {"field": "/date_of_incident", "message": "Enter the date of the incident"} in bad.json()["errors"]
    r = await client.post(
        "/api/v1/cases",
        headers=headers,
        json={
            "area": "noise",
            "answers": REPORT,
            "subjects": [{"person_id": person["id"], "role": "subject"}],
        },
    )
    assert r.status_code == 201, r.text
    case = r.json()
    page = (await client.get(f"/api/v1/cases/{case['id']}", headers=headers)).json()
    assert page["subjects"][0]["name"] == "Jordan Reilly"
    visit = {t["name"]: t for t in page["transitions"]}["record_visit"]
    assert visit["allowed"] is False and "visit form" in visit["reason"]
    saved = await client.put(
        f"/api/v1/cases/{case['id']}/forms/visit",
        headers=headers,
        json={"answers": {"risk_level": "high"}, "version": case["version"]},
    )
    assert saved.status_code == 200 and saved.json()["risk_level"] == "high"
    stale = await client.put(
        f"/api/v1/cases/{case['id']}/forms/visit",
        headers=headers,
        json={"answers": {"risk_level": "standard"}, "version": case["version"]},
    )
    assert stale.status_code == 409 and "Someone else changed" in stale.json()["detail"]
    moved = await client.post(
        f"/api/v1/cases/{case['id']}/transitions", headers=headers, json={"transition": "record_visit"}
    )
    assert moved.json()["state"] == "visited"
    refused = await client.post(
        f"/api/v1/cases/{case['id']}/transitions", headers=headers, json={"transition": "close"}
    )
    assert refused.status_code == 403 and "supervisor" in refused.json()["detail"]
    note = await client.post(f"/api/v1/cases/{case['id']}/notes", headers=headers, json={"text": "Visited."})
    assert note.status_code == 201
    task = (
        await client.post(
            f"/api/v1/cases/{case['id']}/tasks",
            headers=headers,
            json={"title": "Call back", "due_date": "2026-12-01"},
        )
    ).json()
    assert (await client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers)).json()[
        "status"
    ] == "done"
    from caseframe.core import clock
    from caseframe.core.panels.tables import Panel

    await Panel.insert(
        Panel(
            slug="complex-case-panel",
            name="Complex Case Panel",
            chair_agency=case["owning_agency_id"],
            member_agencies=[case["owning_agency_id"]],
            areas=["noise"],
            created_at=clock.now(),
        )
    )
    ref = await client.post(
        f"/api/v1/cases/{case['id']}/referrals",
        headers=headers,
        json={
            "target_kind": "panel",
            "target": "complex-case-panel",
            "reason": "Escalating",
            "person_id": person["id"],
        },
    )
    assert ref.status_code == 201
    listed = (await client.get(f"/api/v1/cases/{case['id']}/referrals", headers=headers)).json()
    assert listed[0]["reason"] == "Escalating"


async def test_rule_firing_is_readable_with_its_facts(client, ctx):
    headers, _ = await signed_in(client, ctx)
    for _ in range(2):
        r = await client.post("/api/v1/cases", headers=headers, json={"area": "noise", "answers": REPORT})
    referrals = (await client.get(f"/api/v1/cases/{r.json()['id']}/referrals", headers=headers)).json()
    assert referrals[0]["rule_id"] == "noise:street-hotspot"
    assert referrals[0]["firings"][0]["facts"]["counts"]["same_street_90d"] == 2


async def test_bad_input_gets_problem_details_not_500(client, ctx):
    headers, _ = await signed_in(client, ctx)
    cases = [
        (
            "post",
            "/api/v1/cases",
            {"content": b"{not json", "headers": {**headers, "content-type": "application/json"}},
        ),
        ("post", "/api/v1/cases", {"json": ["a list"], "headers": headers}),
        ("post", "/api/v1/cases", {"json": {"area": "noise", "answers": "text"}, "headers": headers}),
        (
            "post",
            "/api/v1/cases",
            {
                "json": {"area": "noise", "answers": REPORT, "subjects": [{"person_id": "x"}]},
                "headers": headers,
            },
        ),
        ("get", "/api/v1/cases/99999", {"headers": headers}),
        ("get", "/api/v1/cases/abc", {"headers": headers}),
        (
            "put",
            "/api/v1/cases/1/forms/visit",
            {"json": {"answers": {}, "version": "one"}, "headers": headers},
        ),
        ("get", "/api/v1/persons", {"params": {"date_of_birth": "31/02/2000"}, "headers": headers}),
        ("get", "/api/v1/cases", {"params": {"limit": "9999"}, "headers": headers}),
        (
            "post",
            "/api/v1/persons",
            {
                "json": {"given_name": "", "family_name": "X", "date_of_birth": "2999-01-01"},
                "headers": headers,
            },
        ),
    ]
    for method, path, kwargs in cases:
        r = await getattr(client, method)(path, **kwargs)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), path
        assert "Traceback" not in r.text and r.json()["detail"]


async def test_cases_of_another_agency_are_not_found(client, ctx):
    headers, _ = await signed_in(client, ctx)
    case = (
        await client.post("/api/v1/cases", headers=headers, json={"area": "noise", "answers": REPORT})
    ).json()
    other_headers, _ = await signed_in(client, ctx, slug="other-agency")
    assert (await client.get(f"/api/v1/cases/{case['id']}", headers=other_headers)).status_code == 404
    listed = (await client.get("/api/v1/cases", headers=other_headers)).json()
    assert listed["total"] == 0


async def test_sign_out_ends_the_session(client, ctx):
    headers, _ = await signed_in(client, ctx)
    assert (await client.delete("/api/v1/session", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/areas", headers=headers)).status_code == 401
