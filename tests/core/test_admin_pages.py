"""Local admin pages: enabling areas and managing users, refused to other roles."""
from __future__ import annotations

import pytest

from core.agencies.tables import AgencyArea
from core.auth.tables import Session, User
from core.testing import make_agency, make_context, make_user, sign_in, web_client
from tests.fixtures.areas import noise_plugin


@pytest.fixture
def ctx():
    return make_context(noise_plugin)


@pytest.fixture
async def browser(db, ctx):
    async with web_client(ctx, db) as client:
        yield client


async def signed_in(browser, agency, roles):
    actor = await make_user(agency, roles)
    return actor, await sign_in(browser, actor)


async def test_local_admin_enables_and_disables_an_area(browser, ctx, db):
    agency = await make_agency(ctx, "admin-council", areas=[])
    _, token = await signed_in(browser, agency, ("local_admin", "caseworker"))
    home = await browser.get("/")
    assert 'href="/areas/noise"' not in home.text and 'href="/admin"' in home.text
    page = await browser.get("/admin/areas")
    assert "Noise nuisance" in page.text and "Not enabled" in page.text
    r = await browser.post("/admin/areas/noise", data={"csrf_token": token, "enable": "yes"})
    assert r.status_code == 303
    assert 'href="/areas/noise"' in (await browser.get("/")).text
    await browser.post("/admin/areas/noise", data={"csrf_token": token, "enable": "no"})
    assert await AgencyArea.count() == 0
    unknown = await browser.post("/admin/areas/nope", data={"csrf_token": token, "enable": "yes"})
    assert unknown.status_code == 404 and "not installed" in unknown.text


async def test_caseworker_cannot_reach_admin(browser, ctx, db):
    agency = await make_agency(ctx, "plain-council")
    _, token = await signed_in(browser, agency, ("caseworker",))
    assert (await browser.get("/admin/areas")).status_code == 403
    r = await browser.post("/admin/areas/noise", data={"csrf_token": token, "enable": "no"})
    assert r.status_code == 403 and await AgencyArea.count() == 1


async def test_admin_adds_and_deactivates_users(browser, ctx, db):
    agency = await make_agency(ctx, "users-council")
    admin, token = await signed_in(browser, agency, ("local_admin",))
    bad = await browser.post("/admin/users", data={"csrf_token": token, "name": "New Person",
                                                   "email": "not-an-email", "password": "short"})
    assert bad.status_code == 400 and "Enter an email address in the correct format" in bad.text
    assert "Password must be 12 characters or more" in bad.text
    ok = await browser.post("/admin/users", data={"csrf_token": token, "name": "New Person",
                                                  "email": "new.person@users-council.example",
                                                  "password": "a long enough password", "roles": ["caseworker"]})
    assert ok.status_code == 303
    user = await User.select().where(User.email == "new.person@users-council.example").first()
    await browser.post(f"/admin/users/{user['id']}/active", data={"csrf_token": token, "active": "no"})
    assert (await User.select(User.active).where(User.id == user["id"]).first())["active"] is False
    assert await Session.count().where(Session.user == user["id"]) == 0
    forged = await browser.post("/admin/users", data={"csrf_token": token, "name": "Root", "email": "root@x.example",
                                                      "password": "a long enough password", "roles": ["system_admin"]})
    assert forged.status_code == 400 and await User.count().where(User.email == "root@x.example") == 0


async def test_admin_cannot_touch_another_agencys_users(browser, ctx, db):
    mine = await make_agency(ctx, "mine-council")
    theirs = await make_agency(ctx, "their-council")
    victim = await make_user(theirs)
    _, token = await signed_in(browser, mine, ("local_admin",))
    r = await browser.post(f"/admin/users/{victim.id}/active", data={"csrf_token": token, "active": "no"})
    assert r.status_code == 404
    assert (await User.select(User.active).where(User.id == victim.id).first())["active"] is True
