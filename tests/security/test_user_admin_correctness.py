"""User admin as a tester found it: a system admin could not add a new agency's first user, roles could not be
changed on any page, and deactivating a user, ending an ISA or closing a meeting took one unconfirmed click."""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.core import clock
from caseframe.core.agencies import service as agencies
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.auth.tables import Session, User
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.tables import SharingAgreement
from caseframe.core.testing import TEST_PASSWORD, make_agency, make_user, sign_in, web_client

PASSWORD = "a long enough temporary password"


@pytest.fixture
async def world(db, ctx):
    county = await make_agency(ctx, "northshire-county")
    council = await make_agency(ctx, "ashdown-council")
    sysadmin = await make_user(county, ("system_admin",), name="Sam Sysadmin")
    admin = await make_user(council, ("local_admin",), name="Lou Localadmin")
    worker = await make_user(council, ("caseworker",), name="Casey Worker")
    return {"county": county, "council": council, "sysadmin": sysadmin, "admin": admin, "worker": worker}


async def _roles(user_id: int) -> list[str]:
    return (await User.select(User.roles).where(User.id == user_id).output(load_json=True).first())["roles"]


async def test_a_system_admin_adds_the_first_user_of_a_new_agency(world, client, ctx):
    token = await sign_in(client, world["sysadmin"])
    made = await client.post(
        "/admin/agencies",
        data={
            "csrf_token": token,
            "name": "Wealden Fire and Rescue",
            "slug": "wealden-fire",
            "agency_type": "fire",
            "contact_email": "partnerships@wealden-fire.example",
        },
    )
    assert made.status_code == 303
    fire = (await agencies.list_agencies())[-1]
    assert fire["slug"] == "wealden-fire"
    agency_page = await client.get(f"/admin/agencies/{fire['id']}")
    assert f'href="/admin/agencies/{fire["id"]}/users"' in agency_page.text
    empty = await client.get(f"/admin/agencies/{fire['id']}/users")
    assert empty.status_code == 200 and "has no users yet" in empty.text
    assert f'action="/admin/agencies/{fire["id"]}/users"' in empty.text
    bad = await client.post(
        f"/admin/agencies/{fire['id']}/users",
        data={
            "csrf_token": token,
            "name": "Fay Fire",
            "email": "fay@wealden-fire.example",
            "password": "short",
        },
    )
    assert (
        bad.status_code == 400 and "Select at least one role" in bad.text and 'value="Fay Fire"' in bad.text
    )
    added = await client.post(
        f"/admin/agencies/{fire['id']}/users",
        data={
            "csrf_token": token,
            "name": "Fay Fire",
            "email": "fay@wealden-fire.example",
            "password": PASSWORD,
            "roles": ["local_admin", "caseworker"],
        },
    )
    assert (
        added.status_code == 303
        and added.headers["location"] == f"/admin/agencies/{fire['id']}/users?done=user-added"
    )
    user = await User.select().where(User.email == "fay@wealden-fire.example").output(load_json=True).first()
    assert user["agency"] == fire["id"] and user["roles"] == ["caseworker", "local_admin"]
    assert (
        await AuditEvent.count().where(
            (AuditEvent.action == "admin.user_create") & (AuditEvent.object_id == user["id"])
        )
        == 1
    )
    assert "Fay Fire" in (await client.get(f"/admin/agencies/{fire['id']}/users")).text


async def test_a_local_admin_adds_users_only_to_their_own_agency(world, client):
    token = await sign_in(client, world["admin"])
    other = await client.post(
        f"/admin/agencies/{world['county']['id']}/users",
        data={
            "csrf_token": token,
            "name": "Sneaky",
            "email": "sneaky@x.example",
            "password": PASSWORD,
            "roles": ["caseworker"],
        },
    )
    assert other.status_code == 403
    escalate = await client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "name": "Root",
            "email": "root@x.example",
            "password": PASSWORD,
            "roles": ["system_admin"],
        },
    )
    assert (
        escalate.status_code == 400 and "Only a system admin can make someone a system admin" in escalate.text
    )
    assert await User.count().where(User.email.is_in(["sneaky@x.example", "root@x.example"])) == 0


async def test_a_local_admin_changes_roles_in_their_agency_audited(world, client):
    worker = world["worker"]
    token = await sign_in(client, world["admin"])
    listing = await client.get("/admin/users")
    assert f'href="/admin/users/{worker.id}/roles"' in listing.text
    form = await client.get(f"/admin/users/{worker.id}/roles")
    assert form.status_code == 200 and 'value="caseworker" checked' in form.text
    assert 'value="system_admin"' not in form.text
    saved = await client.post(
        f"/admin/users/{worker.id}/roles", data={"csrf_token": token, "roles": ["caseworker", "supervisor"]}
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/users?done=roles-saved"
    assert await _roles(worker.id) == ["caseworker", "supervisor"]
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "admin.user_roles")
        .output(load_json=True)
        .first()
    )
    assert event["object_id"] == worker.id and event["actor_id"] == world["admin"].id
    assert event["detail"]["roles"] == {"from": ["caseworker"], "to": ["caseworker", "supervisor"]}
    # no roles, a made-up role, system admin: refused in words, nothing changed, the choice kept
    for roles, message in (
        ([], "Select at least one role"),
        (["wizard"], "Select at least one role"),
        (["system_admin"], ""),
    ):
        r = await client.post(f"/admin/users/{worker.id}/roles", data={"csrf_token": token, "roles": roles})
        assert r.status_code == 400 and message in r.text
    assert await _roles(worker.id) == ["caseworker", "supervisor"]
    # the last local admin cannot remove their own admin role
    own = await client.post(
        f"/admin/users/{world['admin'].id}/roles", data={"csrf_token": token, "roles": ["caseworker"]}
    )
    assert own.status_code == 400 and "You cannot remove your own admin role" in own.text
    assert await _roles(world["admin"].id) == ["local_admin"]


async def test_roles_are_refused_to_other_agencies_and_other_roles(world, client, ctx):
    stranger = await make_user(world["county"], ("caseworker",), name="Stan Stranger")
    token = await sign_in(client, world["admin"])
    assert (await client.get(f"/admin/users/{stranger.id}/roles")).status_code == 404
    r = await client.post(
        f"/admin/users/{stranger.id}/roles", data={"csrf_token": token, "roles": ["local_admin"]}
    )
    assert r.status_code == 404 and await _roles(stranger.id) == ["caseworker"]
    async with web_client(ctx, None) as other:
        token = await sign_in(other, world["worker"])
        assert (await other.get(f"/admin/users/{world['admin'].id}/roles")).status_code == 403
        r = await other.post(
            f"/admin/users/{world['worker'].id}/roles", data={"csrf_token": token, "roles": ["local_admin"]}
        )
        assert r.status_code == 403 and await _roles(world["worker"].id) == ["caseworker"]


async def test_a_system_admin_changes_any_roles_but_never_leaves_an_agency_without_a_local_admin(
    world, client
):
    admin, worker = world["admin"], world["worker"]
    token = await sign_in(client, world["sysadmin"])
    last = await client.post(
        f"/admin/users/{admin.id}/roles", data={"csrf_token": token, "roles": ["caseworker"]}
    )
    assert (
        last.status_code == 400
        and "last local admin" in last.text
        and await _roles(admin.id) == ["local_admin"]
    )
    last = await client.post(
        f"/admin/users/{admin.id}/active", data={"csrf_token": token, "active": "no", "confirmed": "yes"}
    )
    assert last.status_code == 400 and "last local admin" in last.text
    promoted = await client.post(
        f"/admin/users/{worker.id}/roles",
        data={"csrf_token": token, "roles": ["local_admin", "system_admin"]},
    )
    assert promoted.status_code == 303
    assert promoted.headers["location"] == f"/admin/agencies/{world['council']['id']}/users?done=roles-saved"
    assert await _roles(worker.id) == ["local_admin", "system_admin"]
    demoted = await client.post(
        f"/admin/users/{admin.id}/roles", data={"csrf_token": token, "roles": ["caseworker"]}
    )
    assert demoted.status_code == 303 and await _roles(admin.id) == ["caseworker"]


async def test_a_local_admins_change_keeps_a_system_admin_role_it_cannot_give(world, client):
    worker = world["worker"]
    await agencies.set_user_roles(world["sysadmin"], worker.id, ["caseworker", "system_admin"])
    token = await sign_in(client, world["admin"])
    r = await client.post(
        f"/admin/users/{worker.id}/roles", data={"csrf_token": token, "roles": ["supervisor"]}
    )
    assert r.status_code == 303 and await _roles(worker.id) == ["supervisor", "system_admin"]


async def test_deactivating_a_user_needs_a_confirmation_step(world, client):
    worker = world["worker"]
    token = await sign_in(client, world["admin"])
    listing = await client.get("/admin/users")
    assert f'href="/admin/users/{worker.id}/deactivate"' in listing.text
    confirm = await client.get(f"/admin/users/{worker.id}/deactivate")
    assert confirm.status_code == 200 and "Deactivate Casey Worker?" in confirm.text
    assert "govuk-warning-text" in confirm.text and 'name="confirmed" value="yes"' in confirm.text
    # a post without the confirmation (an old form, a forged link) only leads to the confirmation page
    unconfirmed = await client.post(
        f"/admin/users/{worker.id}/active", data={"csrf_token": token, "active": "no"}
    )
    assert (
        unconfirmed.status_code == 303
        and unconfirmed.headers["location"] == f"/admin/users/{worker.id}/deactivate"
    )
    assert (await User.select(User.active).where(User.id == worker.id).first())["active"] is True
    done = await client.post(
        f"/admin/users/{worker.id}/active", data={"csrf_token": token, "active": "no", "confirmed": "yes"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin/users?done=user-deactivated"
    assert (await User.select(User.active).where(User.id == worker.id).first())["active"] is False
    assert await Session.count().where(Session.user == worker.id) == 0
    again = await client.post(f"/admin/users/{worker.id}/active", data={"csrf_token": token, "active": "yes"})
    assert (
        again.status_code == 303
        and (await User.select(User.active).where(User.id == worker.id).first())["active"]
    )
    # another agency's user: not found, confirmation page included
    stranger = await make_user(world["county"], ("caseworker",))
    assert (await client.get(f"/admin/users/{stranger.id}/deactivate")).status_code == 404


async def test_ending_an_isa_needs_a_confirmation_step(world, client, ctx):
    isa = await sharing.create_isa(
        ctx,
        world["sysadmin"],
        reference="ISA-2026-09",
        title="Night-time economy",
        parties=[world["county"]["id"], world["council"]["id"]],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="CDA 1998 s.115",
        starts_on=clock.today() - dt.timedelta(days=5),
        ends_on=clock.today() + dt.timedelta(days=50),
        max_sensitivity="official",
    )
    token = await sign_in(client, world["sysadmin"])
    no_reason = await client.post(f"/sharing/agreements/{isa['id']}/end", data={"csrf_token": token})
    assert no_reason.status_code == 400 and "Enter why the agreement is ending" in no_reason.text
    confirm = await client.post(
        f"/sharing/agreements/{isa['id']}/end", data={"csrf_token": token, "reason": "Replaced by ISA-2027"}
    )
    assert confirm.status_code == 200 and "End ISA-2026-09 now?" in confirm.text
    assert (
        'name="reason" value="Replaced by ISA-2027"' in confirm.text and "govuk-warning-text" in confirm.text
    )
    row = await SharingAgreement.select().where(SharingAgreement.id == isa["id"]).first()
    assert row["ends_on"] > clock.today()
    ended = await client.post(
        f"/sharing/agreements/{isa['id']}/end",
        data={"csrf_token": token, "reason": "Replaced by ISA-2027", "confirmed": "yes"},
    )
    assert ended.status_code == 303
    row = await SharingAgreement.select().where(SharingAgreement.id == isa["id"]).first()
    assert row["ends_on"] < clock.today()


async def test_deactivating_an_agency_needs_a_confirmation_step(world, client):
    from caseframe.core.agencies.tables import Agency

    token = await sign_in(client, world["sysadmin"])
    council = world["council"]
    confirm = await client.post(
        f"/admin/agencies/{council['id']}/active", data={"csrf_token": token, "active": "no"}
    )
    assert confirm.status_code == 200 and "govuk-warning-text" in confirm.text
    assert (await Agency.select(Agency.active).where(Agency.id == council["id"]).first())["active"] is True
    done = await client.post(
        f"/admin/agencies/{council['id']}/active",
        data={"csrf_token": token, "active": "no", "confirmed": "yes"},
    )
    assert done.status_code == 303
    assert (await Agency.select(Agency.active).where(Agency.id == council["id"]).first())["active"] is False


async def test_signing_in_still_works_for_a_user_a_system_admin_added(world, client):
    from caseframe.core.auth import service as auth

    token = await sign_in(client, world["sysadmin"])
    await client.post(
        f"/admin/agencies/{world['council']['id']}/users",
        data={
            "csrf_token": token,
            "name": "New Person",
            "email": "new.person@ashdown-council.example",
            "password": PASSWORD,
            "roles": ["caseworker"],
        },
    )
    _, actor = await auth.sign_in("new.person@ashdown-council.example", PASSWORD)
    assert actor.agency_id == world["council"]["id"]
    assert TEST_PASSWORD  # the other users keep theirs
