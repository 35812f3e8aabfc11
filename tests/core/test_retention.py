"""Retention: when cases fall due, the local admin's decisions, erasure to a tombstone, the sweep and its command."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from caseframe.core import clock
from caseframe.core.areas.loader import load_area
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import Case, CaseEvent, CaseSubject
from caseframe.core.errors import AreaError, Forbidden, Gone, NotFound, ValidationFailed
from caseframe.core.persons.tables import Person
from caseframe.core.retention import service as retention
from caseframe.core.retention.tables import CaseRetention
from caseframe.core.testing import (
    csrf_token_of,
    make_agency,
    make_context,
    make_person,
    make_user,
    sign_in,
    web_client,
)
from tests.fixtures.areas import noise_plugin

REPORT = {"date_of_incident": "2019-11-01", "street": "Kestrel Way", "kind": "music"}
YEAR = 365.25


async def _closed_case(ctx, worker, boss, *, years_ago: float, person=None):
    """A noise case opened and closed ``years_ago``."""
    with clock.travel(-years_ago * YEAR):
        subjects = [(person["id"], "subject")] if person else None
        case = await cases.open_case(ctx, worker, "noise", REPORT, subjects=subjects)
        await cases.add_note(ctx, worker, case["id"], "Visited; music audible from the street")
        await cases.transition_case(ctx, boss, case["id"], "close")
    return case


@pytest.fixture
async def world(db, ctx):
    agency = await make_agency(ctx, "ret-council")
    other = await make_agency(ctx, "other-council")
    worker = await make_user(agency, ("caseworker",))
    boss = await make_user(agency, ("supervisor",))
    admin = await make_user(agency, ("local_admin",))
    stranger = await make_user(other, ("local_admin",))
    return {
        "agency": agency,
        "other": other,
        "worker": worker,
        "boss": boss,
        "admin": admin,
        "stranger": stranger,
    }


def _noise_toml(tmp_path: Path, retention: str) -> Path:
    source = Path(noise_plugin.__file__).parent / "noise"
    target = tmp_path / "noise"
    target.mkdir()
    (target / "forms").mkdir()
    for f in (source / "forms").iterdir():
        (target / "forms" / f.name).write_text(f.read_text())
    text = (source / "area.toml").read_text()
    start = text.index("[retention]")
    end = text.index("[workflow]")
    (target / "area.toml").write_text(text[:start] + retention + "\n" + text[end:])
    return target


def test_a_retention_period_outside_its_bounds_is_refused_at_load_with_the_pointer(tmp_path):
    directory = _noise_toml(
        tmp_path, "[retention]\nyears_after_closure = 12\nmin_years = 2\nmax_years = 10\n"
    )
    with pytest.raises(AreaError) as err:
        load_area(directory)
    assert any(
        p.pointer == "/retention/years_after_closure" and "outside" in p.reason for p in err.value.problems
    )


def test_a_misspelt_retention_key_is_refused_by_the_meta_schema(tmp_path):
    directory = _noise_toml(
        tmp_path, "[retention]\nyears_after_closure = 6\nmin_years = 2\nmax_years = 10\nyears = 3\n"
    )
    with pytest.raises(AreaError) as err:
        load_area(directory)
    assert any(p.pointer == "/retention/years" and "unknown key" in p.reason for p in err.value.problems)


def test_every_built_in_area_declares_a_retention_period():
    ctx = make_context(builtins=True)
    for area in ctx.areas:
        assert area.retention is not None and area.retention.min_years <= area.retention.years_after_closure
        assert area.retention.basis


async def test_a_case_closed_past_its_period_is_due_with_the_reason_in_words(ctx, world):
    old = await _closed_case(ctx, world["worker"], world["boss"], years_ago=7)
    await _closed_case(ctx, world["worker"], world["boss"], years_ago=2)
    due = await retention.due_cases(ctx, world["agency"]["id"])
    assert [d.id for d in due] == [old["id"]]
    assert "keeps cases 6 years after closure" in due[0].reason and due[0].overdue
    # another agency's local admin sees nothing of it
    assert await retention.due_cases(ctx, world["other"]["id"]) == []


async def test_a_case_never_closed_falls_due_years_after_its_last_change(ctx, world):
    with clock.travel(-7 * YEAR):
        idle = await cases.open_case(ctx, world["worker"], "noise", REPORT)
    due = await retention.due_cases(ctx, world["agency"]["id"])
    assert [d.id for d in due] == [idle["id"]] and "Never closed" in due[0].reason


async def test_the_agencys_own_period_within_bounds_moves_the_due_date(ctx, world):
    case = await _closed_case(ctx, world["worker"], world["boss"], years_ago=4)
    assert await retention.due_cases(ctx, world["agency"]["id"]) == []
    with pytest.raises(ValidationFailed) as bad:
        await retention.set_period(ctx, world["admin"], "noise", "1", "Shorter")
    assert "from 2 to 10" in bad.value.errors[0]["message"]
    await retention.set_period(ctx, world["admin"], "noise", "3", "Our schedule says three years")
    assert [d.id for d in await retention.due_cases(ctx, world["agency"]["id"])] == [case["id"]]
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "retention.period_set")
        .output(load_json=True)
        .first()
    )
    assert event["detail"]["to"] == 3 and event["detail"]["reason"] == "Our schedule says three years"


async def test_extending_is_capped_at_the_areas_maximum_and_moves_the_case_out_of_the_queue(ctx, world):
    case = await _closed_case(ctx, world["worker"], world["boss"], years_ago=7)
    info = await retention.case_summary(ctx, world["admin"], case["id"])
    too_late = info["max_until"] + dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as bad:
        await retention.extend(ctx, world["admin"], case["id"], too_late.isoformat(), "Complaint pending")
    assert "at most until" in bad.value.errors[0]["message"]
    with pytest.raises(ValidationFailed):
        await retention.extend(ctx, world["admin"], case["id"], "next year", "")
    until = clock.today() + dt.timedelta(days=365)
    await retention.extend(
        ctx, world["admin"], case["id"], until.isoformat(), "Complaint to the ombudsman pending"
    )
    assert await retention.due_cases(ctx, world["agency"]["id"]) == []
    with clock.travel(366):
        [due] = await retention.due_cases(ctx, world["agency"]["id"])
        assert "Complaint to the ombudsman pending" in due.reason


async def test_a_legal_hold_blocks_erasure_and_the_sweep(ctx, world):
    case = await _closed_case(ctx, world["worker"], world["boss"], years_ago=7)
    await retention.set_legal_hold(ctx, world["admin"], case["id"], True, "Civil claim issued")
    with pytest.raises(Forbidden, match="legal hold"):
        await retention.erase(ctx, world["admin"], case["id"], "Past retention")
    report = await retention.sweep(ctx)
    assert report.on_hold == 1 and report.newly_flagged == 0
    await retention.set_legal_hold(ctx, world["admin"], case["id"], False, "Claim settled")
    await retention.erase(ctx, world["admin"], case["id"], "Past retention")


async def test_a_restricted_case_is_refused_to_its_caseworkers_with_a_clear_reason(ctx, world):
    case = await _closed_case(ctx, world["worker"], world["boss"], years_ago=7)
    await retention.set_restricted(ctx, world["admin"], case["id"], True, "Under review")
    with pytest.raises(Forbidden, match="restricted while it is reviewed"):
        await cases.get_case(ctx, world["worker"], case["id"])
    assert (await cases.get_case(ctx, world["admin"], case["id"]))["reference"] == case["reference"]


async def test_erasure_leaves_a_tombstone_and_anonymises_a_person_found_nowhere_else(ctx, world):
    only_here = await make_person(world["worker"], given_name="Dorothy", family_name="Quill")
    elsewhere = await make_person(world["worker"], given_name="Ronan", family_name="Vale")
    case = await _closed_case(ctx, world["worker"], world["boss"], years_ago=7, person=only_here)
    with clock.travel(-7 * YEAR):
        await CaseSubject.insert(
            CaseSubject(case=case["id"], person=elsewhere["id"], role="complainant", added_at=clock.now())
        )
    await cases.open_case(ctx, world["worker"], "noise", REPORT, subjects=[(elsewhere["id"], "subject")])
    with pytest.raises(NotFound):
        await retention.erase(ctx, world["stranger"], case["id"], "Not mine")
    with pytest.raises(ValidationFailed):
        await retention.erase(ctx, world["admin"], case["id"], "  ")
    result = await retention.erase(ctx, world["admin"], case["id"], "Six years after closure, reviewed")
    assert result["persons_anonymised"] == 1
    row = await Case.select().where(Case.id == case["id"]).output(load_json=True).first()
    assert row["data"] == {} and row["reference"] == case["reference"]
    summaries = [
        e["summary"] for e in await CaseEvent.select(CaseEvent.summary).where(CaseEvent.case == case["id"])
    ]
    assert not any("audible" in s for s in summaries) and any(
        "under the retention policy" in s for s in summaries
    )
    assert (await Person.select().where(Person.id == only_here["id"]).first())["given_name"] == "Erased"
    assert (await Person.select().where(Person.id == elsewhere["id"]).first())["given_name"] == "Ronan"
    tomb = (
        await AuditEvent.select().where(AuditEvent.action == "retention.erase").output(load_json=True).first()
    )
    assert tomb["detail"]["reference"] == case["reference"] and tomb["detail"]["reason"].startswith(
        "Six years"
    )
    with pytest.raises(Gone, match="was erased on"):
        await cases.get_case(ctx, world["worker"], case["id"])
    assert await retention.due_cases(ctx, world["agency"]["id"]) == []
    with pytest.raises(Forbidden, match="already been erased"):
        await retention.erase(ctx, world["admin"], case["id"], "Again")


async def test_a_case_not_yet_due_cannot_be_erased(ctx, world):
    case = await _closed_case(ctx, world["worker"], world["boss"], years_ago=1)
    with pytest.raises(Forbidden, match="not due for review until"):
        await retention.erase(ctx, world["admin"], case["id"], "Tidy up")


async def test_the_sweep_flags_once_and_a_dry_run_changes_nothing(ctx, world):
    await _closed_case(ctx, world["worker"], world["boss"], years_ago=7)
    seen = []
    dry = await retention.sweep(
        ctx, dry_run=True, progress=lambda done, total, name: seen.append((done, total))
    )
    assert dry.newly_flagged == 1 and await CaseRetention.count() == 0 and seen[-1] == (2, 2)
    first = await retention.sweep(ctx)
    again = await retention.sweep(ctx)
    assert first.newly_flagged == 1 and again.newly_flagged == 0 and len(again.due) == 1
    assert await AuditEvent.count().where(AuditEvent.action == "retention.flagged") == 1
    with pytest.raises(NotFound):
        await retention.sweep(ctx, agency_slug="no-such-agency")


async def test_the_review_pages_act_for_the_local_admin_only_with_csrf_and_a_confirmation(ctx, world, db):
    case = await _closed_case(ctx, world["worker"], world["boss"], years_ago=7)
    async with web_client(ctx, db) as browser:
        token = await sign_in(browser, world["worker"])
        assert (await browser.get("/admin/retention")).status_code == 403
    async with web_client(ctx, db) as browser:
        token = await sign_in(browser, world["stranger"])
        assert (await browser.get(f"/admin/retention/{case['id']}")).status_code == 404
        r = await browser.post(
            f"/admin/retention/{case['id']}/erase",
            data={"csrf_token": token, "erase_reason": "x", "confirmed": "yes"},
        )
        assert r.status_code == 404
    async with web_client(ctx, db) as browser:
        token = await sign_in(browser, world["admin"])
        queue = await browser.get("/admin/retention")
        assert case["reference"] in queue.text and "keeps cases 6 years after closure" in queue.text
        no_csrf = await browser.post(
            f"/admin/retention/{case['id']}/erase", data={"erase_reason": "x", "confirmed": "yes"}
        )
        assert no_csrf.status_code == 403
        empty = await browser.post(
            f"/admin/retention/{case['id']}/erase", data={"csrf_token": token, "erase_reason": ""}
        )
        assert empty.status_code == 400 and "Enter why the case is erased" in empty.text
        confirm = await browser.post(
            f"/admin/retention/{case['id']}/erase",
            data={"csrf_token": token, "erase_reason": "Reviewed: nothing pending"},
        )
        assert confirm.status_code == 200 and f"Erase case {case['reference']}?" in confirm.text
        assert (await Case.select(Case.data).where(Case.id == case["id"]).output(load_json=True).first())[
            "data"
        ]
        done = await browser.post(
            f"/admin/retention/{case['id']}/erase",
            data={
                "csrf_token": csrf_token_of(confirm.text),
                "erase_reason": "Reviewed: nothing pending",
                "confirmed": "yes",
            },
        )
        assert done.status_code == 303 and done.headers["location"] == "/admin/retention?done=erased"
        gone = await browser.get(f"/cases/{case['id']}")
        assert gone.status_code == 410 and "under the retention" in gone.text
        bad = await browser.post(
            "/admin/retention/periods",
            data={"csrf_token": token, "period_area": "noise", "period_years": "99", "period_reason": ""},
        )
        assert bad.status_code == 400 and "Enter a number of years from 2 to 10" in bad.text


def _caseframe(*args: str) -> subprocess.CompletedProcess:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("CASEFRAME_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "caseframe", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--limit", "ten"], "limit must be a whole number, not 'ten'"),
        (["--limit", "0"], "limit must be between 1 and 1000000"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_retention_flags_are_one_clear_line(tmp_path, flags, words):
    r = _caseframe("--database", f"sqlite:///{tmp_path / 'x.sqlite'}", "retention", "run", *flags)
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.own_sqlite
def test_the_dry_run_on_the_demo_says_what_it_would_flag_and_the_real_run_flags_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    assert _caseframe("--database", url, "demo", "load").returncode == 0
    unknown = _caseframe("--database", url, "retention", "run", "--agency", "nowhere")
    assert (
        unknown.returncode == 2
        and "No agency 'nowhere'" in unknown.stderr
        and "Traceback" not in unknown.stderr
    )
    dry = _caseframe("--database", url, "retention", "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "agencies  ashdown-council" in dry.stdout and "] 12/12 agencies" in dry.stdout  # the progress bar
    assert (
        "ASB-2018-000001  Anti-social behaviour  due 2025-" in dry.stdout
        and "would flag for review" in dry.stdout
    )
    assert "Dry run, nothing changed: 2 case(s) due" in dry.stdout
    real = _caseframe("--database", url, "retention", "run", "--agency", "ashdown-council", "--limit", "1")
    assert real.returncode == 0 and "1 case(s) due for review in 1 agency(ies); 1 flagged" in real.stdout
    again = _caseframe("--database", url, "retention", "run")
    assert (
        "already flagged on" in again.stdout
        and "2 case(s) due" in again.stdout
        and "; 1 flagged" in again.stdout
    )
