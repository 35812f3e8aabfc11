"""Date conditions declared in area.toml: transition guards and rule dates, with core.clock travelling in time."""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import Case, CaseEvent
from caseframe.core.errors import Forbidden
from caseframe.core.referrals.explain import NOT_SHARED, REFERRAL_ACCESS, explain
from caseframe.core.referrals.tables import Referral, RuleFiring
from caseframe.core.sharing.policy import OWNER
from caseframe.core.testing import make_agency, make_context, make_user
from caseframe.core.workflows.dates import DaysSince, parse_date
from tests.fixtures.areas import notices_plugin

REPORT = {"address": "4 Linden Row"}


@pytest.fixture
def ctx():
    return make_context(notices_plugin)


@pytest.fixture
async def worker(db, ctx):
    council = await make_agency(ctx, "ashdown-test")
    return await make_user(council, ("caseworker", "supervisor"))


def days_ago(n: int) -> str:
    return (clock.today() - dt.timedelta(days=n)).isoformat()


def long(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


async def served_case(ctx, worker, served_on: str) -> dict:
    case = await cases.open_case(ctx, worker, "notices", REPORT)
    await cases.save_form(ctx, worker, case["id"], "notice", {"served_on": served_on}, expected_version=None)
    return await cases.transition_case(ctx, worker, case["id"], "serve")


async def refusal(ctx, worker, case_id: int, transition: str) -> str:
    with pytest.raises(Forbidden) as exc:
        await cases.transition_case(ctx, worker, case_id, transition)
    return str(exc.value)


# -- guards ------------------------------------------------------------------------------------


async def test_a_notice_period_guard_refuses_until_the_period_has_passed(ctx, worker):
    served = clock.today()
    case = await served_case(ctx, worker, served.isoformat())
    reason = await refusal(ctx, worker, case["id"], "enforce")
    assert reason == (
        f"The 7-day notice period has not passed. Possible from {long(served + dt.timedelta(days=7))}."
    )
    with clock.travel(days=6):
        assert "has not passed" in await refusal(ctx, worker, case["id"], "enforce")
    assert (await Case.select(Case.state).where(Case.id == case["id"]).first())["state"] == "served"
    with clock.travel(days=7):  # the seventh day: the period is over
        moved = await cases.transition_case(ctx, worker, case["id"], "enforce")
    assert moved["state"] == "enforced"


async def test_an_at_most_guard_closes_when_the_window_has_passed(ctx, worker):
    served = clock.today()
    case = await served_case(ctx, worker, served.isoformat())
    with clock.travel(days=22):
        reason = await refusal(ctx, worker, case["id"], "appeal")
    assert reason == (
        "Appeals must be made within 21 days of the notice. "
        f"Only possible until {long(served + dt.timedelta(days=21))}."
    )
    with clock.travel(days=21):
        assert (await cases.transition_case(ctx, worker, case["id"], "appeal"))["state"] == "appealed"


async def test_at_least_zero_reads_today_on_or_after_the_date_on_a_nested_question(ctx, worker):
    case = await served_case(ctx, worker, clock.today().isoformat())
    await cases.transition_case(ctx, worker, case["id"], "appeal")
    hearing = (clock.today() + dt.timedelta(days=3)).isoformat()
    await cases.save_form(
        ctx,
        worker,
        case["id"],
        "notice",
        {"served_on": clock.today().isoformat(), "hearing": {"on": hearing}},
        expected_version=None,
    )
    assert "The hearing has not happened yet" in await refusal(ctx, worker, case["id"], "hear")
    with clock.travel(days=3):
        assert (await cases.transition_case(ctx, worker, case["id"], "hear"))["state"] == "heard"


async def test_a_days_until_guard_closes_a_set_number_of_days_before_the_date(ctx, worker):
    case = await served_case(ctx, worker, clock.today().isoformat())
    await cases.transition_case(ctx, worker, case["id"], "appeal")
    hearing = clock.today() + dt.timedelta(days=10)
    await cases.save_form(
        ctx,
        worker,
        case["id"],
        "notice",
        {"served_on": clock.today().isoformat(), "hearing": {"on": hearing.isoformat()}},
        expected_version=None,
    )
    with clock.travel(days=9):
        reason = await refusal(ctx, worker, case["id"], "withdraw")
    assert reason == (
        "An appeal can be withdrawn until 2 days before the hearing. "
        f"Only possible until {long(hearing - dt.timedelta(days=2))}."
    )
    with clock.travel(days=8):
        assert (await cases.transition_case(ctx, worker, case["id"], "withdraw"))["state"] == "closed"


async def test_a_days_until_rule_fires_once_within_a_week_of_the_date(ctx, worker):
    case = await served_case(ctx, worker, clock.today().isoformat())
    hearing = (clock.today() + dt.timedelta(days=10)).isoformat()
    notice = {"served_on": clock.today().isoformat(), "hearing": {"on": hearing}}
    await cases.save_form(ctx, worker, case["id"], "notice", notice, expected_version=None)
    assert await RuleFiring.count().where(RuleFiring.rule_id == "notices:hearing-soon") == 0
    for days in (3, 4, 11):  # a week before, again, and after the hearing: once, and not again
        with clock.travel(days=days):
            await cases.save_form(ctx, worker, case["id"], "notice", notice, expected_version=None)
    assert await RuleFiring.count().where(RuleFiring.rule_id == "notices:hearing-soon") == 1


async def test_a_missing_date_refuses_with_a_clear_message(ctx, worker):
    case = await served_case(ctx, worker, clock.today().isoformat())
    await cases.transition_case(ctx, worker, case["id"], "appeal")
    reason = await refusal(ctx, worker, case["id"], "hear")  # no hearing date recorded
    assert (
        reason
        == "The hearing has not happened yet. \u2018Date of the hearing\u2019 in Notice is not recorded yet."
    )


async def test_an_unparseable_stored_date_refuses_and_never_errors(ctx, worker):
    case = await served_case(ctx, worker, clock.today().isoformat())
    # answers written before a form had "format": "date", or by hand: never trusted to be dates
    for bad in ("next Tuesday", "2026-02-30", 20261201, None, ["2026-12-01"]):
        await Case.update({Case.data: {"report": REPORT, "notice": {"served_on": bad}}}).where(
            Case.id == case["id"]
        )
        with clock.travel(days=100):
            reason = await refusal(ctx, worker, case["id"], "enforce")
        assert reason.startswith(
            "The 7-day notice period has not passed. \u2018Date the notice was served\u2019 in Notice"
        )
        assert reason.endswith("is not a date." if bad is not None else "is not recorded yet.")


def test_days_since_in_isolation():
    cond = DaysSince("notice", "/served_on", at_least=7, at_most=10, question="Served", form_title="Notice")
    today = dt.date(2026, 12, 10)
    assert cond.holds({"notice": {"served_on": "2026-12-03"}}, today)
    assert cond.holds({"notice": {"served_on": "2026-11-30"}}, today)
    assert not cond.holds({"notice": {"served_on": "2026-11-29"}}, today)
    assert cond.why_not({"notice": {"served_on": "2026-12-04"}}, today) == "Possible from 11 December 2026."
    assert cond.why_not({"notice": {"served_on": "9999-12-31"}}, today) == "Not possible yet."
    assert cond.why_not({}, today).endswith("is not recorded yet.")
    assert cond.why_not({"notice": "not an object"}, today).endswith("is not recorded yet.")
    assert parse_date("2026-1-1") is None and parse_date("2026-01-01") == dt.date(2026, 1, 1)


def test_days_until_in_isolation():
    # "at least 2 and at most 10 days before the hearing"
    cond = DaysSince(
        "notice", "/hearing/on", at_least=2, at_most=10, question="Hearing", form_title="Notice", until=True
    )
    today = dt.date(2026, 12, 10)
    hearing = {"notice": {"hearing": {"on": "2026-12-20"}}}
    assert cond.holds(hearing, today) and cond.days(hearing, today) == 10
    assert cond.why_not(hearing, dt.date(2026, 12, 9)) == "Possible from 10 December 2026."
    assert cond.why_not(hearing, dt.date(2026, 12, 19)) == "Only possible until 18 December 2026."
    # and after it
    assert cond.why_not(hearing, dt.date(2027, 1, 1)) == "Only possible until 18 December 2026."
    assert cond.looks_for() == "the rule needs 2 days or more and 10 days or fewer until this date"


# -- rule dates ----------------------------------------------------------------------------------


async def test_a_rule_date_fires_only_once_the_period_has_passed(ctx, worker):
    case = await served_case(ctx, worker, days_ago(10))  # 10 days: not yet 14
    assert await RuleFiring.count() == 0
    with clock.travel(days=4):
        await cases.save_form(
            ctx, worker, case["id"], "report", {**REPORT, "seen_count": 2}, expected_version=None
        )
    firings = await RuleFiring.select().where(RuleFiring.rule_id == "notices:period-over-to-police")
    assert len(firings) == 1 and firings[0]["person"] is None


async def test_a_rule_date_without_an_answer_never_fires(ctx, worker):
    case = await cases.open_case(ctx, worker, "notices", REPORT)
    with clock.travel(days=400):
        await cases.save_form(
            ctx, worker, case["id"], "report", {**REPORT, "seen_count": 1}, expected_version=None
        )
    assert await RuleFiring.count() == 0


async def test_why_a_date_rule_fired_names_the_date_and_the_period(ctx, worker):
    await served_case(ctx, worker, "2026-01-05")
    firing = (
        await RuleFiring.select()
        .where(RuleFiring.rule_id == "notices:period-over-to-police")
        .output(load_json=True)
        .first()
    )
    lines = explain(ctx, firing["rule_id"], None, firing["facts"], OWNER)
    assert {
        "question": "Notice: Date the notice was served",
        "answer": "5 January 2026",
        "looks_for": "the rule needs 14 days or more since this date",
    } in lines


async def test_a_partner_reading_why_sees_no_date_above_its_level(ctx, worker):
    # the notice date is marked sensitive: an addressee reading at official level is not told it
    await served_case(ctx, worker, "2026-01-05")
    firing = (
        await RuleFiring.select()
        .where(RuleFiring.rule_id == "notices:period-over-to-police")
        .output(load_json=True)
        .first()
    )
    lines = explain(ctx, firing["rule_id"], None, firing["facts"], REFERRAL_ACCESS)
    line = next(x for x in lines if x["question"] == "Notice: Date the notice was served")
    assert line == {"question": "Notice: Date the notice was served", "answer": NOT_SHARED, "looks_for": ""}


async def test_the_rule_fired_event_appears_once_on_the_timeline(ctx, worker):
    case = await served_case(ctx, worker, days_ago(30))
    for i in range(3):
        await cases.save_form(
            ctx, worker, case["id"], "report", {**REPORT, "seen_count": i}, expected_version=None
        )
    events = await CaseEvent.select(CaseEvent.summary).where(
        (CaseEvent.case == case["id"]) & (CaseEvent.kind == "referral")
    )
    assert len(events) == 1 and events[0]["summary"].startswith("Referred to police")
    assert await Referral.count() == 1


# -- the case page -------------------------------------------------------------------------------


async def test_the_case_page_says_why_a_date_guarded_step_is_not_available_yet(db, ctx, worker):
    from caseframe.core.testing import csrf_token_of, sign_in, web_client

    served = clock.today()
    case = await served_case(ctx, worker, served.isoformat())
    until = long(served + dt.timedelta(days=7))
    async with web_client(ctx, db) as browser:
        await sign_in(browser, worker)
        page = await browser.get(f"/cases/{case['id']}")
        assert page.status_code == 200
        assert (
            f'<p class="cf-refusal" id="refusal-enforce">The 7-day notice period has not passed. '
            f"Possible from {until}.</p>"
        ) in page.text
        # pressing the button anyway: the same words, a clear refusal, the case unchanged
        posted = await browser.post(
            f"/cases/{case['id']}/transitions/enforce", data={"csrf_token": csrf_token_of(page.text)}
        )
        assert posted.status_code < 500 and f"Possible from {until}." in posted.text
        assert (await Case.select(Case.state).where(Case.id == case["id"]).first())["state"] == "served"
        with clock.travel(days=7):
            await sign_in(browser, worker)  # a week on, the session has long expired
            page = await browser.get(f"/cases/{case['id']}")
            assert 'id="refusal-enforce"' not in page.text and "Enforce the notice" in page.text


async def test_the_api_gives_a_date_guarded_step_its_reason(db, ctx, worker):
    import httpx

    from caseframe.core.settings import Settings
    from caseframe.core.testing import TEST_PASSWORD
    from caseframe.core.web.app import create_app

    served = clock.today()
    case = await served_case(ctx, worker, served.isoformat())
    app = create_app(Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
    ) as client:
        token = (
            await client.post("/api/v1/session", json={"email": worker.email, "password": TEST_PASSWORD})
        ).json()
        got = (
            await client.get(
                f"/api/v1/cases/{case['id']}", headers={"Authorization": f"Bearer {token['token']}"}
            )
        ).json()
    steps = {t["name"]: t for t in got["transitions"]}
    assert steps["enforce"] == {
        "name": "enforce",
        "label": "Enforce the notice",
        "allowed": False,
        "reason": "The 7-day notice period has not passed. "
        f"Possible from {long(served + dt.timedelta(days=7))}.",
    }
    assert steps["appeal"]["allowed"] is True
