"""Local admin pages: enabling areas and managing users, refused to other roles."""

from __future__ import annotations

import pytest

from caseframe.core.agencies.tables import AgencyArea
from caseframe.core.auth.tables import Session, User
from caseframe.core.testing import make_agency, make_user, sign_in, web_client


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
    bad = await browser.post(
        "/admin/users",
        data={"csrf_token": token, "name": "New Person", "email": "not-an-email", "password": "short"},
    )
    assert bad.status_code == 400 and "Enter an email address in the correct format" in bad.text
    assert "Password must be 12 characters or more" in bad.text
    ok = await browser.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "name": "New Person",
            "email": "new.person@users-council.example",
            "password": "a long enough password",
            "roles": ["caseworker"],
        },
    )
    assert ok.status_code == 303
    user = await User.select().where(User.email == "new.person@users-council.example").first()
    await browser.post(
        f"/admin/users/{user['id']}/active", data={"csrf_token": token, "active": "no", "confirmed": "yes"}
    )
    assert (await User.select(User.active).where(User.id == user["id"]).first())["active"] is False
    assert await Session.count().where(Session.user == user["id"]) == 0
    forged = await browser.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "name": "Root",
            "email": "root@x.example",
            "password": "a long enough password",
            "roles": ["system_admin"],
        },
    )
    assert forged.status_code == 400 and await User.count().where(User.email == "root@x.example") == 0


async def test_admin_cannot_touch_another_agencys_users(browser, ctx, db):
    mine = await make_agency(ctx, "mine-council")
    theirs = await make_agency(ctx, "their-council")
    victim = await make_user(theirs)
    _, token = await signed_in(browser, mine, ("local_admin",))
    r = await browser.post(f"/admin/users/{victim.id}/active", data={"csrf_token": token, "active": "no"})
    assert r.status_code == 404
    assert (await User.select(User.active).where(User.id == victim.id).first())["active"] is True


# --- agencies: a system admin's job ----------------------------------------------------------------------

NEW_AGENCY = {
    "name": "Wealden Fire and Rescue",
    "slug": "wealden-fire",
    "agency_type": "fire",
    "contact_email": "partnerships@wealden-fire.example",
}


async def test_system_admin_sets_up_an_agency_after_clear_messages(browser, ctx, db):
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.audit.tables import AuditEvent

    county = await make_agency(ctx, "county-council", agency_type="county_council")
    admin, token = await signed_in(browser, county, ("system_admin",))
    home = await browser.get("/")
    assert 'href="/admin/agencies"' in home.text
    listing = await browser.get("/admin/agencies")
    assert (
        listing.status_code == 200 and "County Council" in listing.text and "Set up an agency" in listing.text
    )
    bad = await browser.post(
        "/admin/agencies",
        data={
            "csrf_token": token,
            "name": " ",
            "slug": "Wealden Fire!",
            "agency_type": "spaceport",
            "contact_email": "nobody",
        },
    )
    assert bad.status_code == 400 and "There is a problem" in bad.text
    for message in (
        "Enter the agency’s name",
        "lower-case letters, numbers and hyphens",
        "Select the kind of agency from the list",
        "Enter a contact email address in the correct format",
    ):
        assert message in bad.text
    assert 'value="Wealden Fire!"' in bad.text  # what was typed is kept
    taken = await browser.post(
        "/admin/agencies", data={"csrf_token": token, **NEW_AGENCY, "slug": "county-council"}
    )
    assert taken.status_code == 400 and "An agency with that short name already exists" in taken.text
    assert await Agency.count() == 1
    ok = await browser.post("/admin/agencies", data={"csrf_token": token, **NEW_AGENCY})
    assert ok.status_code == 303 and ok.headers["location"] == "/admin/agencies?done=agency-created"
    row = await Agency.select().where(Agency.slug == "wealden-fire").first()
    assert row["name"] == "Wealden Fire and Rescue" and row["agency_type"] == "fire" and row["active"]
    assert "Wealden Fire and Rescue" in (await browser.get("/admin/agencies")).text
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "admin.agency_create")
        .order_by(AuditEvent.id, ascending=False)
        .output(load_json=True)
        .first()
    )
    assert event["object_id"] == row["id"] and event["detail"]["slug"] == "wealden-fire"
    assert event["actor_id"] == admin.id


async def test_system_admin_renames_an_agency_and_the_change_is_audited(browser, ctx, db):
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.audit.tables import AuditEvent

    county = await make_agency(ctx, "county-council", agency_type="county_council")
    other = await make_agency(ctx, "old-name-council")
    _, token = await signed_in(browser, county, ("system_admin",))
    page = await browser.get(f"/admin/agencies/{other['id']}")
    assert page.status_code == 200 and 'value="Old Name Council"' in page.text
    bad = await browser.post(
        f"/admin/agencies/{other['id']}",
        data={"csrf_token": token, "name": "", "contact_email": "team@old.example"},
    )
    assert bad.status_code == 400 and "Enter the agency’s name" in bad.text
    assert (await Agency.select(Agency.name).where(Agency.id == other["id"]).first())[
        "name"
    ] == "Old Name Council"
    ok = await browser.post(
        f"/admin/agencies/{other['id']}",
        data={"csrf_token": token, "name": "New Name Council", "contact_email": "team@new.example"},
    )
    assert ok.status_code == 303
    assert (await Agency.select(Agency.name).where(Agency.id == other["id"]).first())[
        "name"
    ] == "New Name Council"
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "admin.agency_update")
        .output(load_json=True)
        .first()
    )
    assert event["detail"]["name"] == {"from": "Old Name Council", "to": "New Name Council"}
    missing = await browser.get("/admin/agencies/999999")
    assert missing.status_code == 404


async def test_deactivating_an_agency_signs_its_users_out_until_it_is_reactivated(browser, ctx, db):
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.audit.tables import AuditEvent
    from caseframe.core.auth import service as auth
    from caseframe.core.testing import TEST_PASSWORD

    county = await make_agency(ctx, "county-council", agency_type="county_council")
    closing = await make_agency(ctx, "closing-charity", agency_type="charity")
    worker = await make_user(closing, ("caseworker",))
    token_of_worker, _ = await auth.sign_in(worker.email, TEST_PASSWORD)
    admin, token = await signed_in(browser, county, ("system_admin",))
    own = await browser.post(
        f"/admin/agencies/{county['id']}/active",
        data={"csrf_token": token, "active": "no", "confirmed": "yes"},
    )
    assert own.status_code == 400 and "You cannot deactivate your own agency" in own.text
    r = await browser.post(
        f"/admin/agencies/{closing['id']}/active",
        data={"csrf_token": token, "active": "no", "confirmed": "yes"},
    )
    assert r.status_code == 303
    assert (await Agency.select(Agency.active).where(Agency.id == closing["id"]).first())["active"] is False
    assert await Session.count().where(Session.user == worker.id) == 0
    assert await auth.session_for_token(token_of_worker) is None
    with pytest.raises(auth.SignInFailed):
        await auth.sign_in(worker.email, TEST_PASSWORD)
    listing = await browser.get("/admin/agencies")
    assert "Deactivated" in listing.text
    await browser.post(f"/admin/agencies/{closing['id']}/active", data={"csrf_token": token, "active": "yes"})
    assert (await auth.sign_in(worker.email, TEST_PASSWORD))[1].id == worker.id
    actions = [
        e["action"]
        for e in await AuditEvent.select(AuditEvent.action)
        .where(AuditEvent.object_type == "agency")
        .order_by(AuditEvent.id)
    ]
    assert actions[-2:] == ["admin.agency_deactivate", "admin.agency_activate"]


@pytest.mark.parametrize(
    "roles", [("local_admin",), ("local_admin", "supervisor", "panel_chair"), ("caseworker",)]
)
async def test_only_a_system_admin_manages_agencies(browser, ctx, db, roles):
    from caseframe.core.agencies.tables import Agency

    mine = await make_agency(ctx, "mine-council")
    other = await make_agency(ctx, "other-council")
    _, token = await signed_in(browser, mine, roles)
    assert 'href="/admin/agencies"' not in (await browser.get("/")).text
    assert (await browser.get("/admin/agencies")).status_code == 403
    assert (await browser.get(f"/admin/agencies/{other['id']}")).status_code == 403
    created = await browser.post("/admin/agencies", data={"csrf_token": token, **NEW_AGENCY})
    renamed = await browser.post(
        f"/admin/agencies/{other['id']}",
        data={"csrf_token": token, "name": "Mine Now", "contact_email": "a@b.example"},
    )
    stopped = await browser.post(
        f"/admin/agencies/{other['id']}/active", data={"csrf_token": token, "active": "no"}
    )
    assert [created.status_code, renamed.status_code, stopped.status_code] == [403, 403, 403]
    rows = await Agency.select(Agency.slug, Agency.name, Agency.active).order_by(Agency.id)
    assert rows == [
        {"slug": "mine-council", "name": "Mine Council", "active": True},
        {"slug": "other-council", "name": "Other Council", "active": True},
    ]


async def test_roles_page_says_which_roles_only_a_system_admin_changes(browser, ctx, db):
    """A local admin changing the roles of a colleague who is also a system admin is told that role is not
    theirs to change (it is kept whatever they tick); a system admin is offered it as a checkbox instead."""
    agency = await make_agency(ctx, "kept-council")
    colleague = await make_user(agency, ("local_admin", "system_admin"), name="Kim Kept")
    _, token = await signed_in(browser, agency, ("local_admin",))
    page = await browser.get(f"/admin/users/{colleague.id}/roles")
    assert page.status_code == 200
    assert "Kim Kept is also a system admin; only a system admin can change that." in page.text
    assert 'value="system_admin"' not in page.text
    r = await browser.post(
        f"/admin/users/{colleague.id}/roles",
        data={"csrf_token": token, "roles": ["caseworker", "local_admin"]},
    )
    assert r.status_code == 303
    user = await User.select(User.roles).where(User.id == colleague.id).output(load_json=True).first()
    assert sorted(user["roles"]) == ["caseworker", "local_admin", "system_admin"]
    other = await make_agency(ctx, "kept-county")
    sysadmin = await make_user(other, ("system_admin",))
    await sign_in(browser, sysadmin)
    page = await browser.get(f"/admin/users/{colleague.id}/roles")
    assert "is also a system admin" not in page.text and 'value="system_admin"' in page.text
