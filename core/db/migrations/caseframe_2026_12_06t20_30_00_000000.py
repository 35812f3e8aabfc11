"""Indexes for the reads every case page, My work page and panel page makes on tables that grow without end.

A case's timeline, tasks, referrals raised and panel agenda, a user's open cases, an agency's open tasks, a panel's
meetings: each read a whole table (SQLite) or walked its primary key (PostgreSQL), so each page grew dearer with
every case, event and task anyone recorded (the benchmarks, with 10,000 cases and few events, did not show it).
``tests/core/test_hot_reads.py`` walks those pages and fails on any read that scans such a table.

Who viewed a case (the case page, for its owner) reads the case's last 200 views, and My work the user's last 50.
Each had a one-column index to choose from (the object, the actor or the action) and so read every view of the
case, or every event of the user, and sorted them (on PostgreSQL, 4.8 ms after 4,000 views when the planner took
the action's index, against 0.3 ms). A partial index of the views by case (or by viewer) in id order gives the
newest views straight from the index, at any size.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-06T20:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Indexes for the case page's, My work's and the panels' reads of growing tables, and of case views"

INDEXES = [
    # the case page: its timeline newest first, its tasks, the referrals it raised, its place on panel agendas
    'CREATE INDEX IF NOT EXISTS cf_case_event_case_id ON cf_case_event ("case", id)',
    'CREATE INDEX IF NOT EXISTS cf_task_case_id ON cf_task ("case", id)',
    "CREATE INDEX IF NOT EXISTS cf_referral_from_case_id ON cf_referral (from_case, id)",
    'CREATE INDEX IF NOT EXISTS cf_agenda_item_case ON cf_agenda_item ("case")',
    # My work and the dashboards: a user's open cases, latest first; an agency's tasks by status and due date;
    # an agency's cases; the referrals an agency raised
    "CREATE INDEX IF NOT EXISTS cf_case_lead_officer_updated ON cf_case (lead_officer, updated_at)",
    "CREATE INDEX IF NOT EXISTS cf_case_owning_agency ON cf_case (owning_agency)",
    "CREATE INDEX IF NOT EXISTS cf_task_owner_agency_status_due ON cf_task (owner_agency, status, due_date)",
    "CREATE INDEX IF NOT EXISTS cf_referral_raised_by_agency ON cf_referral (raised_by_agency)",
    "CREATE INDEX IF NOT EXISTS cf_referral_decided_by ON cf_referral (decided_by)",
    # the referrals page's decided box, newest first; why each referral was made (a list asks it of each)
    "CREATE INDEX IF NOT EXISTS cf_referral_created_at ON cf_referral (created_at)",
    "CREATE INDEX IF NOT EXISTS cf_rule_firing_referral ON cf_rule_firing (referral)",
    "CREATE INDEX IF NOT EXISTS cf_user_agency ON cf_user (agency)",
    # a panel's meetings
    "CREATE INDEX IF NOT EXISTS cf_meeting_panel ON cf_meeting (panel)",
    # the newest views of a case, and of a viewer (core/cases/service.py VIEWERS_SQL, core/dashboards/my_work.py)
    "CREATE INDEX IF NOT EXISTS cf_audit_case_views ON cf_audit (object_id, id) "
    "WHERE action = 'case.view' AND object_type = 'case'",
    "CREATE INDEX IF NOT EXISTS cf_audit_views_by_actor ON cf_audit (actor_id, id) WHERE action = 'case.view'",
]


class CaseEvent(Table, tablename="cf_case_event", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def run():
        for sql in INDEXES:
            await CaseEvent.raw(sql)

    manager.add_raw(run)
    return manager
