"""Cases, the persons on them, their timeline, and the counters behind human references."""

from piccolo.columns import JSON, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from caseframe.core.agencies.tables import Agency
from caseframe.core.auth.tables import User
from caseframe.core.persons.tables import Person


class Case(Table, tablename="cf_case"):
    id: Serial
    reference = Varchar(length=40, unique=True)
    area = Varchar(length=40, index=True)
    state = Varchar(length=40, index=True)
    #: answers by form name: {"report": {...}, "risk_assessment": {...}}
    data = JSON(default={})
    owning_agency = ForeignKey(Agency, index=True)
    lead_officer = ForeignKey(User, null=True, default=None)
    risk_level = Varchar(length=30, null=True, default=None)
    opened_at = Timestamptz()
    closed_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()
    version = Integer(default=1)


class CaseSubject(Table, tablename="cf_case_subject"):
    id: Serial
    case = ForeignKey(Case, index=True)
    person = ForeignKey(Person, index=True)
    role = Varchar(length=40)
    added_at = Timestamptz()
    removed_at = Timestamptz(null=True, default=None)


class CaseEvent(Table, tablename="cf_case_event"):
    """One line of a case's timeline: a note, a transition, a form change, a task or a referral."""

    id: Serial

    case = ForeignKey(Case)
    kind = Varchar(length=30)
    summary = Text()
    detail = JSON(default={})
    actor = ForeignKey(User, null=True, default=None)
    at = Timestamptz()


class ReferenceCounter(Table, tablename="cf_reference_counter"):
    """Last number used per prefix and year, so references are short and never reused."""

    id: Serial

    key = Varchar(length=20, unique=True)
    value = Integer(default=0)


class Submission(Table, tablename="cf_submission"):
    """A form submission's one-time key, so a double-clicked submit creates one record."""

    id: Serial

    key = Varchar(length=64, unique=True)
    user_id = Integer()
    result_url = Varchar(length=300, default="")
    created_at = Timestamptz()
