"""Demo data for panel packs: a published meeting with attendees and an agenda, if the demo has none yet."""

from __future__ import annotations

import datetime as dt
from typing import Any

from caseframe.core import clock
from caseframe.core.auth.tables import User
from caseframe.core.cases.tables import Case
from caseframe.core.db.tx import transaction
from caseframe.core.panels.tables import AgendaItem, Meeting, MeetingAttendee, Panel

#: (agency slug, email local part) of the demo users who attend; see core/demo.py DEMO_USERS
ATTENDING = [
    ("ashdown-council", "priya.shah"),
    ("northshire-police", "sam.okafor"),
    ("ashdown-homes", "ruth.ellis"),
]


async def create_demo_meeting(agency_ids: dict[str, dict[str, Any]]) -> int:
    """One published meeting of the demo panel, so the pack page has something to show; 0 if one exists."""
    if await Meeting.count() > 0:
        return 0  # the panels demo already made meetings: the pack page works on those
    panel = await Panel.select(Panel.id).where(Panel.slug == "complex-case-panel").first()
    if panel is None:
        return 0
    chair_agency = agency_ids["ashdown-council"]["id"]
    # the council's own cases and one partner's, so packs differ by who they are for
    open_cases = Case.closed_at.is_null()
    own = (
        await Case.select(Case.id, Case.reference)
        .where(open_cases & (Case.owning_agency == chair_agency))
        .order_by(Case.id)
        .limit(3)
    )
    partner = (
        await Case.select(Case.id, Case.reference)
        .where(open_cases & (Case.owning_agency != chair_agency))
        .order_by(Case.id)
        .limit(2)
    )
    now = clock.now()
    starts = dt.datetime.combine(clock.today() + dt.timedelta(days=7), dt.time(10, 0), tzinfo=dt.UTC)
    async with transaction():
        meeting = Meeting(
            panel=panel["id"],
            starts_at=starts,
            location="Ashdown Civic Centre, Committee Room 2",
            status="published",
            published_at=now,
            created_at=now,
        )
        await meeting.save()
        for position, row in enumerate(own + partner, 1):
            await AgendaItem.insert(
                AgendaItem(
                    meeting=meeting.id,
                    position=position,
                    kind="review",
                    case=row["id"],
                    title=f"Review: {row['reference']}",
                    created_at=now,
                )
            )
        await AgendaItem.insert(
            AgendaItem(
                meeting=meeting.id,
                position=0,
                kind="actions",
                title="Actions from the last meeting",
                created_at=now,
            )
        )
        for slug, local in ATTENDING:
            user = (
                await User.select(User.id, User.name).where(User.email == f"{local}@{slug}.example").first()
            )
            if user is not None:
                await MeetingAttendee.insert(
                    MeetingAttendee(
                        meeting=meeting.id, user=user["id"], name=user["name"], agency=agency_ids[slug]["id"]
                    )
                )
        await MeetingAttendee.insert(
            MeetingAttendee(
                meeting=meeting.id,
                name="Jo Wells",
                kind="guest",
                organisation="Ashdown Advocacy Service (fictional)",
            )
        )
    return meeting.id
