"""Panels (standing multi-agency groups), their meetings, agendas and live minutes."""

from piccolo.columns import JSON, Boolean, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from caseframe.core.agencies.tables import Agency
from caseframe.core.auth.tables import User
from caseframe.core.cases.tables import Case


class Panel(Table, tablename="cf_panel"):
    id: Serial
    slug = Varchar(length=60, unique=True)
    name = Varchar(length=200)
    description = Text(default="")
    chair_agency = ForeignKey(Agency)
    #: agency ids of the members (the chair agency is always a member)
    member_agencies = JSON(default=[])
    #: area slugs the panel considers
    areas = JSON(default=[])
    frequency = Varchar(length=40, default="monthly")
    active = Boolean(default=True)
    created_at = Timestamptz()


class PanelCase(Table, tablename="cf_panel_case"):
    """A case the panel has taken on (from an accepted referral), with when it next needs review."""

    id: Serial

    panel = ForeignKey(Panel, index=True)
    case = ForeignKey(Case, index=True)
    referral_id = Integer(null=True, default=None)
    added_at = Timestamptz()
    review_due = Date(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)


class Meeting(Table, tablename="cf_meeting"):
    id: Serial
    panel = ForeignKey(Panel, index=True)
    starts_at = Timestamptz()
    location = Text(default="")
    #: a video-call link, if the meeting is (also) online
    link = Varchar(length=500, default="")
    #: planned -> published (agenda sent to members) -> in_progress -> closed
    status = Varchar(length=20, default="planned")
    published_at = Timestamptz(null=True, default=None)
    started_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    minute_taker = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz(null=True, default=None)
    version = Integer(default=1)


class MeetingAttendee(Table, tablename="cf_meeting_attendee"):
    """A member (a user of a member agency) or a guest (perhaps with no account) at a meeting."""

    id: Serial

    meeting = ForeignKey(Meeting, index=True)
    user = ForeignKey(User, null=True, default=None)
    agency = ForeignKey(Agency, null=True, default=None)
    name = Varchar(length=200)
    email = Varchar(length=254, default="")
    organisation = Varchar(length=200, default="")
    #: member or guest
    kind = Varchar(length=20, default="member")
    present = Boolean(default=False)


class AgendaItem(Table, tablename="cf_agenda_item"):
    id: Serial
    meeting = ForeignKey(Meeting, index=True)
    position = Integer(default=0)
    #: referral, review, actions or other
    kind = Varchar(length=20, default="other")
    case = ForeignKey(Case, null=True, default=None, index=True)
    referral_id = Integer(null=True, default=None)
    title = Varchar(length=300)
    #: pending or discussed
    status = Varchar(length=20, default="pending")
    created_at = Timestamptz()


class Minute(Table, tablename="cf_minute"):
    """One entry of the live minutes: appended, never overwritten, so two minute-takers cannot clash."""

    id: Serial

    meeting = ForeignKey(Meeting, index=True)
    item = ForeignKey(AgendaItem, null=True, default=None)
    #: discussion, decision or action
    kind = Varchar(length=20)
    text = Text()
    author = ForeignKey(User, null=True, default=None)
    at = Timestamptz()
    #: the task an action became
    task_id = Integer(null=True, default=None)
    #: set when a later entry corrects this one
    superseded_by = Integer(null=True, default=None)
