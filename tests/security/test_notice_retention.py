"""A rule's notice to another agency (its ``notify`` action) about a case that retention then restricts or erases:
the notice page explained the facts the rule saw as to the case's owner, special-category answers included,
because the access it filtered by is none for a withheld case and no access meant no filter. Now it shows none of
them, and erasing the case removes them from the stored notice as from the rule's firing."""

from __future__ import annotations

import pytest

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.notifications.tables import Notification
from caseframe.core.retention import service as retention
from caseframe.core.testing import make_user, sign_in, web_client
from tests.core.test_notifications import REPORT, VISIT, ctx, world  # noqa: F401  (fixtures)

SECRET = "Panic attacks"  # the visit's special-category answer (health_impact), above the police's level
YEAR = 365.25


@pytest.mark.parametrize("how", ["kept", "restricted", "erased"])
async def test_a_notice_shows_no_fact_of_a_case_retention_withholds(world, db, how):
    ctx, owner = world["ctx"], world["owner"]
    local_admin = await make_user(world["council"], ("local_admin",), name="Lou Localadmin")
    reader = world["officer"]
    if how == "erased":  # due for erasure: closed seven years ago, by a reader who was there then
        with clock.travel(-8 * YEAR):
            reader = await make_user(world["police"], ("caseworker",), name="Old Timer")
        with clock.travel(-7 * YEAR):
            case = await cases.open_case(ctx, owner, "noise", REPORT)
            case = await cases.save_form(
                ctx, owner, case["id"], "visit", VISIT, expected_version=case["version"]
            )
        with clock.travel(-7 * YEAR + 1):
            await cases.transition_case(ctx, world["chair"], case["id"], "close")
    else:
        case = await cases.open_case(ctx, owner, "noise", REPORT)
        case = await cases.save_form(ctx, owner, case["id"], "visit", VISIT, expected_version=case["version"])
    notice = (
        await Notification.select()
        .where((Notification.kind == "rule_notice") & (Notification.agency == world["police"]["id"]))
        .first()
    )
    assert notice is not None and SECRET in str(notice["detail"])  # the rule saw it
    if how == "restricted":
        await retention.set_restricted(ctx, local_admin, case["id"], True, "Subject contests accuracy")
    elif how == "erased":
        await retention.erase(ctx, local_admin, case["id"], "Seven years after closure")
        stored = (
            await Notification.select(Notification.detail)
            .where(Notification.id == notice["id"])
            .output(load_json=True)
            .first()
        )
        assert SECRET not in str(stored["detail"]) and stored["detail"]["rule_id"]  # which rule stays
    async with web_client(ctx, db) as client:
        await sign_in(client, reader)
        shown = await client.get(f"/notifications/{notice['id']}")
        listing = await client.get("/notifications")
    assert shown.status_code == 200 and "Why you were told" in shown.text
    assert SECRET not in shown.text and SECRET not in listing.text
    assert "The rule looks for the rule" not in shown.text
    if how == "kept":  # the police read the facts at their level: the health answer is not theirs
        assert "Not shared with your agency" in shown.text
    else:
        assert "What the rule saw is no longer shown" in shown.text
