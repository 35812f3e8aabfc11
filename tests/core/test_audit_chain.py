"""The audit trail's hash chain: intact trails verify; a changed, removed or slipped-in row is found."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.audit import service as audit
from core.audit.tables import AuditEvent
from core.audit.verify import verify_chain
from core.db.tx import transaction
from core.testing import make_agency, make_context, make_user

ROOT = Path(__file__).resolve().parents[2]


async def _trail(n: int = 5):
    ctx = make_context()
    agency = await make_agency(ctx, "audit-council")
    actor = await make_user(agency, ("caseworker",))
    for i in range(n):
        async with transaction():
            await audit.record("case.view", actor, object_type="case", object_id=i, purpose="safeguarding",
                               detail={"n": i})
    return [r["id"] for r in await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id)]


async def test_an_untouched_trail_verifies(db):
    ids = await _trail()
    report = await verify_chain()
    assert report.ok and report.checked == len(ids)


async def test_a_changed_row_is_found(db):
    ids = await _trail()
    await AuditEvent.update({AuditEvent.purpose: "early_intervention"}).where(AuditEvent.id == ids[3])
    report = await verify_chain()
    assert not report.ok and report.broken_id == ids[3] and "changed" in report.reason


async def test_a_removed_row_is_found_at_the_next_one(db):
    ids = await _trail()
    await AuditEvent.delete().where(AuditEvent.id == ids[2])
    report = await verify_chain()
    assert not report.ok and report.broken_id == ids[3]


async def test_a_removed_first_row_is_found(db):
    ids = await _trail()
    await AuditEvent.delete().where(AuditEvent.id == ids[0])
    assert (await verify_chain()).broken_id == ids[1]


async def test_a_row_slipped_in_with_a_made_up_hash_is_found(db):
    ids = await _trail()
    last = await AuditEvent.select().where(AuditEvent.id == ids[-1]).first()
    await AuditEvent.insert(AuditEvent(at=last["at"], action="case.view", prev_hash=last["hash"], hash="0" * 64))
    report = await verify_chain()
    assert not report.ok and report.broken_id > ids[-1]


def test_the_command_reports_an_intact_trail_and_a_broken_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CASEFRAME_DATABASE_URL", None)

    def run():
        return subprocess.run([sys.executable, "-m", "core.cli", "--database", url, "audit", "verify"],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)

    subprocess.run([sys.executable, "-m", "core.cli", "--database", url, "demo", "load"], check=True,
                   capture_output=True, env=env, cwd=ROOT, timeout=300)
    ok = run()
    assert ok.returncode == 0 and ok.stdout.startswith("Audit trail intact:"), ok.stderr
    import sqlite3

    con = sqlite3.connect(tmp_path / "audit.sqlite")
    con.execute("UPDATE cf_audit SET action = 'case.view' WHERE id = 3")
    con.commit()
    con.close()
    broken = run()
    assert broken.returncode == 1
    assert broken.stderr.strip() == ("caseframe: audit trail broken at event 3: its content was changed after it "
                                     "was written (2 event(s) before it are intact)")
