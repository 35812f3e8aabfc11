"""Demo panel history: the chair takes referred cases onto the panel, and last month's meeting is minuted.

Built through the services, the way a chair would: so the panel's list, the outstanding-actions report,
the case timelines and My work all show a panel that has been running for a while.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from caseframe.core import clock
from caseframe.core.agencies import service as agencies
from caseframe.core.auth.tables import User
from caseframe.core.context import Context
from caseframe.core.panels import service
from caseframe.core.panels.tables import AgendaItem, Panel
from caseframe.core.referrals import inbox
from caseframe.core.referrals.tables import Referral

CHAIR = "priya.shah@ashdown-council.example"
OFFICER = "sam.okafor@northshire-police.example"
HOUSING = "ruth.ellis@ashdown-homes.example"


async def load_panel_demo(ctx: Context, agency_ids: dict[str, dict[str, Any]]) -> dict[str, int]:
    chair_user = await User.select(User.id).where(User.email == CHAIR).first()
    panel = await Panel.select(Panel.id, Panel.slug).where(Panel.slug == "complex-case-panel").first()
    if chair_user is None or panel is None:
        return {}
    chair = await agencies.actor_for(chair_user["id"])
    accepted = 0
    for ref in (
        await Referral.select()
        .where(
            (Referral.target_kind == "panel")
            & (Referral.target == panel["slug"])
            & (Referral.status == "open")
        )
        .order_by(Referral.id)
    ):
        with clock.travel(-35):
            await inbox.accept_to_panel(
                ctx,
                chair,
                ref["id"],
                version=ref["version"],
                review_due=clock.today() + dt.timedelta(days=28),
            )
        accepted += 1
    # last month's meeting: the referred cases discussed, decisions made, actions given out
    with clock.travel(-28):
        starts = dt.datetime.combine(clock.today(), dt.time(10, 0), tzinfo=dt.UTC)
        meeting = await service.schedule_meeting(
            chair, panel["id"], starts_at=starts, location="Ashdown Civic Centre, Committee Room 2"
        )
        for suggestion in (await service.agenda_suggestions(meeting))[:3]:
            await service.add_agenda_item(
                chair, meeting["id"], kind=suggestion["kind"], case_id=suggestion["case"]
            )
        if not await AgendaItem.count().where(AgendaItem.meeting == meeting["id"]):
            return {"panel cases": accepted}
        await service.set_status(chair, meeting["id"], "published")
        await service.set_status(chair, meeting["id"], "in_progress")
        items = await service.agenda(meeting["id"])
        police, homes = agency_ids["northshire-police"]["id"], agency_ids["ashdown-homes"]["id"]
        officer = await User.select(User.id).where(User.email == OFFICER).first()
        housing = await User.select(User.id).where(User.email == HOUSING).first()
        script = [
            (
                "discussion",
                "Police attended twice since the referral; neighbours describe music until 3am and "
                "intimidation on the stairwell.",
                None,
            ),
            (
                "decision",
                "Agree a joint warning visit; consider a Community Protection Warning if it continues.",
                None,
            ),
            (
                "action",
                "Joint warning visit with the housing officer",
                (police, officer["id"] if officer else None, -5),
            ),
            (
                "action",
                "Check the tenancy conditions and write to the tenant",
                (homes, housing["id"] if housing else None, 10),
            ),
        ]
        for item in items[:2]:
            for kind, text, action in script:
                extra: dict[str, Any] = {}
                if action:
                    owner, assignee, due_in = action
                    extra = {
                        "owner_agency_id": owner,
                        "assignee_id": assignee,
                        "due_date": clock.today() + dt.timedelta(days=28 + due_in),
                    }
                await service.add_minute(
                    ctx, chair, meeting["id"], item_id=item["id"], kind=kind, text=text, **extra
                )
            script = script[:2]  # one set of actions is enough to show the report
        await service.set_status(chair, meeting["id"], "closed")
    return {"panel cases": accepted, "minuted meetings": 1}
