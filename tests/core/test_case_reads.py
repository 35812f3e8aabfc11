"""The case page's reads are fixed SQL statements (building them through the ORM on every view cost more CPU than
the database took to answer them). Each must give exactly the rows the ORM query it replaced gave, for every kind
of reader: the owning agency, a partner reading under an agreement that stops at "official", and a panel member
reading under a "sensitive" one. The ORM queries below are the ones the code used before; the tests run on SQLite
and, with CASEFRAME_DATABASE_URL set, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import Case, CaseEvent
from caseframe.core.documents import service as documents
from caseframe.core.documents import storage
from caseframe.core.documents.samples import tiny_pdf
from caseframe.core.documents.tables import Document
from caseframe.core.errors import Forbidden, Gone, NotFound
from caseframe.core.panels import service as panels
from caseframe.core.referrals import queries as referral_queries
from caseframe.core.referrals.tables import Referral
from caseframe.core.retention.service import refusal_for
from caseframe.core.retention.tables import CaseRetention
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.tables import CaseShare
from caseframe.core.tasks import service as tasks
from caseframe.core.tasks.tables import Task
from caseframe.core.testing import make_user, sign_in, web_client
from tests.fixtures.areas import noise_plugin
from tests.fixtures.partnership import make_panel_world

PDF = tiny_pdf(["Noise diary", "Fictional test document"])


@pytest.fixture
def ctx():
    from caseframe.core.testing import make_context

    return make_context(noise_plugin)


@pytest.fixture
async def world(db, ctx, tmp_path):
    """The partnership fixture's council case, made busy: answers at every level, documents at every level (one
    removed), tasks, a share with the police (ISA at "official") and a stopped one with the charity, and the case
    on the agenda of a published meeting of a panel whose charity member has an ISA at "sensitive"."""
    storage.use_store(storage.LocalStore(tmp_path / "documents"))
    w = await make_panel_world(ctx)
    owner, chair, admin, case = w["owner"], w["chair"], w["admin"], w["case"]
    case_id = case["id"]
    today = clock.today()
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-2",
        title="Victim support",
        parties=[w["council"]["id"], w["charity"]["id"]],
        purposes=["safeguarding"],
        areas=["noise"],
        legal_basis="CDA 1998 s.115",
        starts_on=today - dt.timedelta(days=5),
        ends_on=today + dt.timedelta(days=50),
        max_sensitivity="sensitive",
    )
    version = (await Case.select(Case.version).where(Case.id == case_id).first())["version"]
    await cases.save_form(
        ctx,
        owner,
        case_id,
        "visit",
        {"risk_level": "high", "health_impact": "Cannot sleep"},
        expected_version=version,
    )
    await cases.add_note(ctx, owner, case_id, "Visited the street")
    added = {}
    for level in ("official", "sensitive", "special_category"):
        added[level] = await documents.add_document(
            ctx, owner, case_id, io.BytesIO(PDF), f"{level}.pdf", level
        )
    await documents.add_document(ctx, owner, case_id, io.BytesIO(PDF), "mistake.pdf", "official")
    mistake = (await Document.select(Document.id).where(Document.filename == "mistake.pdf").first())["id"]
    await documents.remove_document(ctx, owner, case_id, mistake, "Added to the wrong case")
    # a document entry written before entries carried a level counts as the most sensitive
    await CaseEvent.insert(
        CaseEvent(
            case=case_id,
            kind="document",
            summary="Document added: old.pdf",
            detail={},
            actor=None,
            at=clock.now(),
        )
    )
    await tasks.add_task(
        ctx, owner, case_id, title="Call the complainant", due_date=today + dt.timedelta(days=2)
    )
    await tasks.add_task(
        ctx, owner, case_id, title="Write to the neighbour", due_date=today - dt.timedelta(days=1)
    )
    police_share = await sharing.share_case(
        owner, case_id, agency_id=w["police"]["id"], purpose="crime_prevention"
    )
    # the charity's share is stopped: it reads the case as a panel member only
    revoked = await sharing.share_case(owner, case_id, agency_id=w["charity"]["id"], purpose="safeguarding")
    await sharing.revoke_share(owner, case_id, revoked["id"])
    await panels.add_agenda_item(chair, w["meeting"]["id"], kind="referral", case_id=case_id)
    await panels.set_status(chair, w["meeting"]["id"], "published")
    w.update(documents=added, share=police_share)
    return w


# the ORM queries the fixed statements replaced, word for word


async def orm_row(case_id):
    return await Case.select().where(Case.id == case_id).output(load_json=True).first()


def _as_read(row, case_id, access):
    """An entry's detail as a reader gets it: a partner is not given the number of another agency's case that a
    referral became (tests/security/test_resulting_case_words.py)."""
    detail = row["detail"] or {}
    if access is None or access.is_owner or row["kind"] != "referral":
        return detail
    if detail.get("resulting_case", case_id) == case_id:
        return detail
    return {k: v for k, v in detail.items() if k != "resulting_case"}


async def orm_timeline(case_id, limit=500, access=None, ctx=None):
    rows = (
        await CaseEvent.select(
            CaseEvent.all_columns(),
            CaseEvent.actor.name.as_alias("actor_name"),
        )
        .where(CaseEvent.case == case_id)
        .order_by(CaseEvent.id, ascending=False)
        .limit(limit)
        .output(load_json=True)
    )
    if access is not None and not access.is_owner:
        rows = [r for r in rows if await _told_to_partner(ctx, case_id, r, access)]
    return [
        {
            "id": r["id"],
            "kind": r["kind"],
            "summary": r["summary"],
            "detail": _as_read(r, case_id, access),
            "actor_id": r["actor"],
            "actor_name": r["actor_name"],
            "at": r["at"].isoformat(),
        }
        for r in rows
        if access is None
        or r["kind"] != "document"
        or access.may_see((r["detail"] or {}).get("sensitivity", "special_category"))
    ]


async def _told_to_partner(ctx, case_id, row, access) -> bool:
    """The timeline's rules for a partner, one entry at a time: nothing about a rule that fired on an answer above
    its level (or the referral such a rule raised), nor a form saved that it may see nothing of."""
    from caseframe.core.referrals.explain import tells_hidden
    from caseframe.core.sharing.policy import may_see_field, readable_changes

    detail = row["detail"] or {}
    rule = detail.get("rule_id")
    if rule is None and detail.get("referral_id") is not None:
        referral = await Referral.select(Referral.rule_id).where(Referral.id == detail["referral_id"]).first()
        if referral is None:
            return False
        rule = referral["rule_id"]
    if rule is not None and tells_hidden(ctx, rule, access):
        return False
    if row["kind"] != "form":
        return True
    area = ctx.areas.get((await Case.select(Case.area).where(Case.id == case_id).first())["area"])
    form = area.forms.get(detail.get("form")) if area else None
    if form is None or not may_see_field(access, form.schema, ""):
        return False
    return not detail.get("changes") or bool(readable_changes(access, form.schema, detail["changes"]))


async def orm_tasks(case_id):
    return [tasks.task_dict(r) for r in await Task.select().where(Task.case == case_id).order_by(Task.id)]


async def orm_referrals(case_id):
    return await Referral.select().where(Referral.from_case == case_id).order_by(Referral.id, ascending=False)


async def orm_shares(case_id):
    from caseframe.core.sharing.policy import PURPOSES, isa_is_live

    rows = (
        await CaseShare.select(
            CaseShare.id,
            CaseShare.purpose,
            CaseShare.shared_at,
            CaseShare.agency.name.as_alias("agency_name"),
            CaseShare.isa.reference.as_alias("isa_reference"),
            CaseShare.isa.starts_on.as_alias("starts_on"),
            CaseShare.isa.ends_on.as_alias("ends_on"),
        )
        .where((CaseShare.case == case_id) & CaseShare.revoked_at.is_null())
        .order_by(CaseShare.id)
    )
    return [
        {**r, "purpose_label": PURPOSES.get(r["purpose"], r["purpose"]), "live": isa_is_live(r)} for r in rows
    ]


async def orm_documents(case_id, access):
    rows = (
        await Document.select(Document.all_columns(), Document.uploaded_by.name.as_alias("uploaded_by_name"))
        .where((Document.case == case_id) & Document.removed_at.is_null())
        .order_by(Document.id, ascending=False)
    )
    return [documents.document_dict(r) for r in rows if access.may_see(r["sensitivity"])]


async def orm_holder(row):
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.auth.tables import User

    agency = (
        await Agency.select(Agency.name, Agency.contact_email)
        .where(Agency.id == row["owning_agency"])
        .first()
    )
    lead = (
        await User.select(User.name).where(User.id == row["lead_officer"]).first()
        if row["lead_officer"]
        else None
    )
    return agency, (lead or {}).get("name", "")


READERS = {
    "owner": ("owner", "official", "special_category"),
    "partner": ("share", "official", "official"),
    "panel member": ("panel", "sensitive", "sensitive"),
}


@pytest.mark.parametrize("reader", list(READERS))
async def test_each_read_of_the_case_page_gives_the_rows_the_orm_gave(world, reader, ctx):
    kind, _, level = READERS[reader]
    actor = {"owner": world["owner"], "partner": world["officer"], "panel member": world["helper"]}[reader]
    case_id = world["case"]["id"]
    row, access = await cases.visible_case(actor, case_id)
    assert (access.kind, access.max_sensitivity) == (kind, level)
    assert row == await orm_row(case_id)
    assert await cases._load(case_id) == row

    timeline = await cases.timeline(case_id, limit=200, access=access, ctx=ctx)
    assert timeline == await orm_timeline(case_id, limit=200, access=access, ctx=ctx)
    assert await cases.timeline(case_id) == await orm_timeline(case_id)
    assert await cases.timeline(case_id, limit=3) == await orm_timeline(case_id, limit=3)
    # what the filter keeps and drops, so the comparison is not of two empty lists
    shown = {e["summary"] for e in timeline if e["kind"] == "document"}
    expected = {
        f"Document added: {name}.pdf"
        for name in ("official", "sensitive", "special_category")
        if access.may_see(name)
    }
    assert {s for s in shown if s.startswith("Document added: ") and "mistake" not in s} == expected | (
        {"Document added: old.pdf"} if level == "special_category" else set()
    )

    listed = await documents.documents_of(case_id, access)
    assert listed == await orm_documents(case_id, access)
    assert [d["filename"] for d in listed] == [
        f"{name}.pdf" for name in ("special_category", "sensitive", "official") if access.may_see(name)
    ]

    assert await tasks.tasks_of_case(case_id) == await orm_tasks(case_id)
    assert len(await tasks.tasks_of_case(case_id)) == 2
    assert await referral_queries.raised_from_case(case_id) == await orm_referrals(case_id)
    assert await referral_queries.raised_from_case(case_id)
    shares = await sharing.shares_of(case_id)
    assert shares == await orm_shares(case_id)
    assert [s["id"] for s in shares] == [world["share"]["id"]]  # the revoked one is not listed
    assert await cases.holder_of(row) == await orm_holder(row)


async def test_a_case_without_a_lead_officer_names_its_holder_alone(world):
    from caseframe.core.cases.tables import Case as CaseTable

    case_id = world["case"]["id"]
    await CaseTable.update({CaseTable.lead_officer: None}).where(CaseTable.id == case_id)
    row, _ = await cases.visible_case(world["officer"], case_id)
    assert (
        await cases.holder_of(row)
        == await orm_holder(row)
        == ({"name": "Ashdown Council", "contact_email": "team@ashdown-council.example"}, "")
    )


@pytest.mark.parametrize("decision", ["none", "kept", "restricted", "erased"])
async def test_the_retention_decision_read_with_the_case_refuses_as_before(world, decision):
    """The case row and its retention decision are one statement now; every reader gets the answer the separate
    read gave: restricted refuses all but the owning agency's local admin, erased is gone for everyone (other
    agencies get 'no such case' for both)."""
    case_id = world["case"]["id"]
    local_admin = await make_user(world["council"], ("local_admin", "caseworker"), name="Lou Local")
    now = clock.now()
    if decision != "none":
        await CaseRetention.insert(
            CaseRetention(
                case_id=case_id,
                restricted=decision == "restricted",
                legal_hold=decision == "kept",
                erased_at=now if decision == "erased" else None,
                updated_at=now,
            )
        )
    for actor in (world["owner"], world["officer"], world["helper"], local_admin):
        expected = await refusal_for(actor, await orm_row(case_id))
        try:
            row, _ = await cases.visible_case(actor, case_id)
        except NotFound:
            # another agency is told nothing of a restricted or erased case (not even that it exists)
            assert decision in ("restricted", "erased") and actor.agency_id != world["owner"].agency_id
            continue
        except (Forbidden, Gone) as refused:
            assert expected is not None and str(refused) == expected
            assert isinstance(refused, Gone) == (decision == "erased")
            continue
        assert expected is None and row == await orm_row(case_id)
    if decision == "restricted":
        assert (await cases.visible_case(local_admin, case_id))[0]["id"] == case_id


@pytest.mark.parametrize("way", ["alone", "with the case page's reads"])
@pytest.mark.parametrize("reader", list(READERS))
async def test_each_view_is_audited_as_the_orm_insert_recorded_it(world, reader, ctx, way):
    """The view's audit event is one written-out INSERT now: the same columns as the ORM's, sealed the same way;
    also when the case page sends it with its reads on PostgreSQL (core/cases/page_reads.py), once."""
    from caseframe.core.audit import service as audit
    from caseframe.core.audit.verify import verify_chain
    from caseframe.core.cases import page_reads

    actor = {"owner": world["owner"], "partner": world["officer"], "panel member": world["helper"]}[reader]
    case_id = world["case"]["id"]
    _, access = await cases.visible_case(actor, case_id)
    views = AuditEvent.count().where(AuditEvent.action == "case.view")
    before = await views
    if way == "alone":
        await cases.record_view(actor, case_id, access)
    elif page_reads.uses_one_statement():
        view = cases.view_statement(actor, case_id, access)
        assert await page_reads.case_page_rows(case_id, owner=access.is_owner, view=view)
    else:
        pytest.skip("SQLite sends the view's event alone")
    assert await AuditEvent.count().where(AuditEvent.action == "case.view") == before + 1
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "case.view")
        .order_by(AuditEvent.id, ascending=False)
        .output(load_json=True)
        .first()
    )
    assert {
        k: event[k]
        for k in (
            "actor_id",
            "agency_id",
            "object_type",
            "object_id",
            "purpose",
            "detail",
            "seq",
            "prev_hash",
            "hash",
        )
    } == {
        "actor_id": actor.id,
        "agency_id": actor.agency_id,
        "object_type": "case",
        "object_id": case_id,
        "purpose": access.purpose,
        "seq": None,
        "prev_hash": "",
        "hash": "",
        "detail": {}
        if access.is_owner
        else {"access": access.kind, "isa_id": access.isa_id, "meeting_id": access.meeting_id},
    }
    assert abs((clock.now() - event["at"]).total_seconds()) < 60
    await audit.seal()
    report = await verify_chain()
    assert report.ok and report.pending == 0 and report.checked >= 1, report


@pytest.mark.parametrize("reader", list(READERS))
async def test_the_case_page_shows_each_reader_what_it_showed(world, ctx, db, reader):
    """Over HTTP: documents and timeline entries above the reader's level are not on the page, an answer above it
    is not shown, and the view is recorded."""
    actor = {"owner": world["owner"], "partner": world["officer"], "panel member": world["helper"]}[reader]
    _, _, level = READERS[reader]
    case_id = world["case"]["id"]
    async with web_client(ctx, db) as client:
        await sign_in(client, actor)
        before = await AuditEvent.count().where(
            (AuditEvent.action == "case.view") & (AuditEvent.actor_id == actor.id)
        )
        page = await client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    from caseframe.core.sharing.policy import sensitivity_rank

    for name in ("official", "sensitive", "special_category"):
        assert (f"{name}.pdf" in page.text) == (sensitivity_rank(name) <= sensitivity_rank(level)), name
    assert ("Cannot sleep" in page.text) == (level == "special_category")
    assert ("old.pdf" in page.text) == (level == "special_category")
    assert "Document removed: mistake.pdf" in page.text  # an official document's removal, on every timeline
    assert (
        await AuditEvent.count().where((AuditEvent.action == "case.view") & (AuditEvent.actor_id == actor.id))
        == before + 1
    )


async def orm_viewers(case_id, recent=200):
    """Who has viewed, as the case page worked it out before: the last views, grouped in Python."""
    rows = await AuditEvent.raw(
        "SELECT v.at, v.actor_id, v.agency_id, v.purpose, u.name AS user_name, a.name AS agency_name "
        "FROM (SELECT id, at, actor_id, agency_id, purpose FROM cf_audit WHERE object_id = {} "
        "AND object_type = 'case' AND action = 'case.view' ORDER BY id DESC LIMIT {}) v "
        "LEFT JOIN cf_user u ON u.id = v.actor_id LEFT JOIN cf_agency a ON a.id = v.agency_id ORDER BY v.id DESC",
        case_id,
        recent,
    )
    groups = {}
    for r in rows:
        group = groups.setdefault((r["actor_id"], r["agency_id"], r["purpose"]), {**r, "times": 0})
        group["times"] += 1
    return [
        {
            "at": dt.datetime.fromisoformat(g["at"]) if isinstance(g["at"], str) else g["at"],
            "times": g["times"],
            "user": g["user_name"] or "Unknown user",
            "agency": g["agency_name"] or "",
            "purpose": g["purpose"],
        }
        for g in groups.values()
    ]


async def test_who_has_viewed_is_grouped_in_the_database_as_it_was_in_python(world):
    """One line per person, agency and purpose over the last views, newest first, with the count and the last
    time: the owner, the partner and the panel member interleaved, a view by no one (an unknown user), another case's
    views left out, and a window that cuts a group in two."""
    from caseframe.core.audit.service import record_read
    from caseframe.core.cases.service import viewers_of

    case_id = world["case"]["id"]
    other = await cases.open_case(
        world["ctx"],
        world["owner"],
        "noise",
        {"date_of_incident": "2026-11-01", "street": "Heron Close", "kind": "music"},
    )
    readers = [
        world["owner"],
        world["officer"],
        world["helper"],
        world["owner"],
        world["owner"],
        world["officer"],
    ]
    for n, actor in enumerate(readers * 3):
        _, access = await cases.visible_case(actor, case_id)
        await cases.record_view(actor, case_id, access)
        if n % 4 == 0:
            await record_read("case.view", None, "case", case_id, purpose="")
            await cases.record_view(world["owner"], other["id"], None)
    shown = await viewers_of(case_id)
    assert shown == await orm_viewers(case_id)
    assert shown[0]["user"] == "Pat Police"  # the newest view
    assert sorted((v["user"], v["times"]) for v in shown) == [
        ("Cal Charity", 3),
        ("Olive Owner", 9),
        ("Pat Police", 6),
        ("Unknown user", 5),
    ]
    for window in (1, 2, 5, 7):
        assert await viewers_of(case_id, window) == await orm_viewers(case_id, window), window
    assert await viewers_of(other["id"]) == await orm_viewers(other["id"])
    assert await viewers_of(999999) == []


async def test_the_newest_views_come_from_an_index_of_case_views_not_a_sort_of_them_all(world):
    """Who viewed a case and the cases a user viewed last read the newest views straight from the partial indexes
    of case views (by case, by viewer), in id order, so a case page and My work cost the same after a million views.
    SQLite's plan is fixed by its schema; PostgreSQL's depends on its statistics and was measured in bench/README
    (a case page's who-viewed read after 4,000 views: 4.8 ms by the action's index and a sort, 0.3 ms now)."""
    from caseframe.core.dashboards import my_work
    from caseframe.core.db.engine import is_sqlite

    if not is_sqlite(AuditEvent._meta.db):
        pytest.skip("a plan on SQLite, fixed by its schema")
    for sql, args, index in (
        (cases.VIEWERS_SQL, [world["case"]["id"], 200], "cf_audit_case_views"),
        (my_work._VIEWED, [world["owner"].id], "cf_audit_views_by_actor"),
    ):
        plan = " | ".join(
            str(row["detail"]) for row in await AuditEvent.raw("EXPLAIN QUERY PLAN " + sql, *args)
        )
        assert f"USING INDEX {index}" in plan, plan
        assert "TEMP B-TREE FOR ORDER BY" not in plan.split("SCAN r")[0], plan  # no sort of the views read


@pytest.mark.parametrize("reader", list(READERS))
async def test_the_case_pages_one_statement_gives_each_statements_rows(world, reader, ctx):
    """On PostgreSQL the case page reads its timeline, tasks, referrals, people, documents, shares and viewers in one
    statement (core/cases/page_reads.py): each part's rows are those of its own statement, types and order included,
    and finished by its module they are what the module gives when it reads them itself. On SQLite the page sends
    the statements one by one (None)."""
    from caseframe.core.cases import page_reads
    from caseframe.core.cases.tables import CaseSubject
    from caseframe.core.sharing.tables import CaseShare

    actor = {"owner": world["owner"], "partner": world["officer"], "panel member": world["helper"]}[reader]
    case_id = world["case"]["id"]
    _, access = await cases.visible_case(actor, case_id)
    for viewer in (world["owner"], world["officer"], world["owner"], world["helper"]):
        await cases.record_view(viewer, case_id, (await cases.visible_case(viewer, case_id))[1])
    from caseframe.core.notifications.service import unread_count, unread_statement

    read = await page_reads.case_page_rows(case_id, owner=access.is_owner)
    if Case._meta.db.engine_type == "sqlite":
        assert read is None
        return
    assert read is not None
    assert set(read) == {"timeline", "tasks", "referrals", "subjects", "documents"} | (
        {"shares", "viewers"} if access.is_owner else set()
    )
    # the bell's count read with them is the count read alone
    with_bell = await page_reads.case_page_rows(
        case_id, owner=access.is_owner, unread=unread_statement(actor)
    )
    assert with_bell == {**read, "unread": await unread_count(actor)}
    each = {
        "tasks": await Task.raw(tasks.TASKS_OF_CASE_SQL, case_id),
        "referrals": await Referral.raw(referral_queries.RAISED_FROM_CASE_SQL, case_id),
        "subjects": await CaseSubject.raw(cases.SUBJECTS_OF_CASE_SQL, case_id),
        "documents": await Document.raw(documents.DOCUMENTS_OF_SQL, case_id),
        "shares": await CaseShare.raw(sharing.SHARES_OF_SQL, case_id),
        "viewers": await AuditEvent.raw(cases.VIEWERS_SQL, case_id, 200),
    }
    timeline = await CaseEvent.raw(cases.TIMELINE_SQL, case_id, 200)
    assert [{**r, "detail": cases._json(r["detail"])} for r in read["timeline"]] == [
        {**r, "detail": cases._json(r["detail"])} for r in timeline
    ]
    assert (
        len(timeline) > 5 and each["tasks"] and each["referrals"] and each["subjects"] and each["documents"]
    )
    # a JSON column comes loaded in the one statement and as its text from a raw one; the callers load both
    each["subjects"] = [{**r, "flags": cases._json(r["flags"])} for r in each["subjects"]]
    read_subjects = [{**r, "flags": cases._json(r["flags"])} for r in read["subjects"]]
    assert read_subjects == each["subjects"]
    for name, rows in each.items():
        if name in read and name != "subjects":
            assert read[name] == rows, name
    assert len(each["viewers"]) == 3 and len(each["shares"]) == 1
    # finished by their modules, as the page shows them to this reader
    assert await cases.timeline(
        case_id, limit=200, access=access, reader=actor, ctx=ctx, rows=read["timeline"]
    ) == await cases.timeline(case_id, limit=200, access=access, reader=actor, ctx=ctx)
    assert await tasks.tasks_of_case(case_id, reader=actor, rows=read["tasks"]) == await tasks.tasks_of_case(
        case_id, reader=actor
    )
    assert await referral_queries.raised_from_case(
        case_id, reader=actor, ctx=ctx, access=access, rows=read["referrals"]
    ) == await referral_queries.raised_from_case(case_id, reader=actor, ctx=ctx, access=access)
    assert await cases.subjects_of(case_id, rows=read["subjects"]) == await cases.subjects_of(case_id)
    levels = ctx.areas.flag_levels
    assert await cases.subjects_of(
        case_id, rows=read["subjects"], reader=actor, flag_levels=levels
    ) == await cases.subjects_of(case_id, reader=actor, flag_levels=levels)
    assert await documents.documents_of(
        case_id, access, rows=read["documents"]
    ) == await documents.documents_of(case_id, access)
    if access.is_owner:
        assert await sharing.shares_of(case_id, rows=read["shares"]) == await sharing.shares_of(case_id)
        assert await cases.viewers_of(case_id, rows=read["viewers"]) == await cases.viewers_of(case_id)


@pytest.mark.parametrize("due", [dt.date.min, dt.date.max], ids=["first", "last"])
async def test_a_task_due_on_the_first_or_last_date_is_read_back_by_the_one_statement(
    world, ctx, db, due, caplog
):
    """asyncpg stores Python's first and last date as PostgreSQL's -infinity and infinity, and the one statement's
    JSON gives those words: they are read back as the dates asyncpg gives, so the page is the one statement's, not
    the one-by-one fallback (test_hostile_writes found a due date of 0001-01-01, since refused, sending every later
    view there)."""
    from caseframe.core.cases import page_reads

    owner, case_id = world["owner"], world["case"]["id"]
    # stored before due dates were bounded (tasks.DUE_WITHIN_YEARS), or written by other means
    task = await tasks.add_task(ctx, owner, case_id, title="A task due at the edge of the calendar")
    await Task.update({Task.due_date: due}).where(Task.id == task["id"])
    read = await page_reads.case_page_rows(case_id, owner=True)
    if Case._meta.db.engine_type == "sqlite":
        assert read is None
    else:
        assert read is not None and "tasks" in read
        assert read["tasks"] == await Task.raw(tasks.TASKS_OF_CASE_SQL, case_id)
        assert due in [t["due_date"] for t in read["tasks"]]
    async with web_client(ctx, db) as client:
        await sign_in(client, owner)
        page = await client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and "A task due at the edge of the calendar" in page.text
    assert "read one by one" not in caplog.text
