"""Licensing: an appeal to the magistrates' court is recorded only within 21 days of the decision."""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.areas import licensing
from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.errors import Forbidden
from caseframe.core.testing import make_agency, make_context, make_user


@pytest.fixture
def ctx():
    return make_context(licensing)


async def test_an_appeal_is_recorded_only_within_21_days_of_the_decision(db, ctx):
    council = await make_agency(ctx, "ashdown-licensing")
    worker = await make_user(council, ("caseworker", "supervisor"))
    case = await cases.open_case(ctx, worker, "licensing", licensing.CASES[0]["forms"]["complaint"])
    decided = clock.today()
    decision = {
        "decision": "revocation",
        "decision_date": decided.isoformat(),
        "reasons": "Not fit and proper.",
    }
    await cases.save_form(ctx, worker, case["id"], "decision", decision, expected_version=None)
    await cases.transition_case(ctx, worker, case["id"], "investigate")
    await cases.transition_case(ctx, worker, case["id"], "decide")
    last = decided + dt.timedelta(days=21)
    with clock.travel(days=22), pytest.raises(Forbidden) as refused:
        await cases.transition_case(ctx, worker, case["id"], "record_appeal")
    assert str(refused.value) == (
        "An appeal to the magistrates' court must be made within 21 days of the decision. "
        f"Only possible until {last.day} {last:%B %Y}."
    )
    with clock.travel(days=21):
        assert (await cases.transition_case(ctx, worker, case["id"], "record_appeal"))["state"] == "appealed"
