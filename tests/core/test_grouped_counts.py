"""A count grouped by a form answer ("noise reports in the same street in 90 days") reads from the database only the
cases that may share the answer, and counts exactly what comparing every case of the window in Python counted: the
same street, written alike to the letter (case, spaces, quotes, accents, SQL-looking text), in the area, opened in
the window, and not withheld by retention. On SQLite and, with CASEFRAME_DATABASE_URL set, PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.core import clock
from caseframe.core.cases.tables import Case
from caseframe.core.referrals import service as referrals
from caseframe.core.referrals.engine import Count
from caseframe.core.retention.tables import CaseRetention
from caseframe.core.testing import make_agency, make_context, make_user, open_case
from tests.fixtures.areas import noise_plugin

STREETS = [
    "Kestrel Way",
    "kestrel way",
    "Kestrel Way ",
    "O'Neill's Yard",
    'The "Old" Mill',
    "Rue de l'Église",
    "x' OR '1'='1",
    "Heron Close",
]
SAME_STREET = Count(
    name="same_street_90d", window_days=90, area="noise", by_form="report", by_field="/street"
)


@pytest.fixture
def ctx():
    return make_context(noise_plugin)


async def _python_count(count: Count, street: str) -> int:
    """What the count was before: every case of the area in the window, compared in Python."""
    since = clock.now() - dt.timedelta(days=count.window_days)
    rows = (
        await Case.select(Case.id, Case.data)
        .where((Case.area == count.area) & (Case.opened_at >= since))
        .output(load_json=True)
    )
    inactive = await referrals.inactive_case_ids()
    return sum(
        1 for r in rows if r["id"] not in inactive and r["data"].get("report", {}).get("street") == street
    )


async def test_a_count_by_street_counts_what_comparing_every_case_counted(ctx, db):
    council = await make_agency(ctx, "ashdown-council")
    police = await make_agency(ctx, "wealden-police", agency_type="police")
    worker = await make_user(council, ("caseworker",))
    officer = await make_user(police, ("caseworker",))
    opened = {}
    for n, street in enumerate(STREETS * 2):
        actor = worker if n % 2 else officer
        answers = {"date_of_incident": "2026-11-01", "street": street, "kind": "music"}
        opened[n] = await open_case(ctx, actor, "noise", answers)
    with clock.travel(-120):  # outside the 90-day window
        await open_case(
            ctx, worker, "noise", {"date_of_incident": "2026-07-01", "street": "Kestrel Way", "kind": "music"}
        )
    # a case retention withholds is never counted
    await CaseRetention.insert(
        CaseRetention(case_id=opened[0]["id"], restricted=True, updated_at=clock.now())
    )
    for street in [*STREETS, "Nowhere Lane", "", "%", "Kestrel%"]:
        case = {"data": {"report": {"street": street}}}
        counted = await referrals._count(SAME_STREET, case, None)
        assert counted == await _python_count(SAME_STREET, street), street
    case = {"data": {"report": {"street": "Kestrel Way"}}}
    assert (
        await referrals._count(SAME_STREET, case, None) == 1
    )  # two opened, one withheld, one outside the window
    assert await referrals._count(SAME_STREET, {"data": {"report": {"street": "Heron Close"}}}, None) == 2


async def test_only_the_cases_on_the_same_street_are_read(ctx, db, monkeypatch):
    worker = await make_user(await make_agency(ctx, "ashdown-council"), ("caseworker",))
    for n in range(12):
        street = "Kestrel Way" if n < 3 else f"Street {n}"
        await open_case(
            ctx, worker, "noise", {"date_of_incident": "2026-11-01", "street": street, "kind": "music"}
        )
    read = []
    original = referrals._cases_answering

    async def counted(*args, **kwargs):
        rows = await original(*args, **kwargs)
        read.extend(rows)
        return rows

    monkeypatch.setattr(referrals, "_cases_answering", counted)
    assert await referrals._count(SAME_STREET, {"data": {"report": {"street": "Kestrel Way"}}}, None) == 3
    assert len(read) == 3
    # an answer that is not text (a number, a yes or no) is compared in Python over the window's cases
    read.clear()
    assert await referrals._cases_answering(
        "noise", clock.now() - dt.timedelta(days=90), "report", "/floor", 3
    )
    assert len(read) == 12
