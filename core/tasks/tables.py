"""Tasks and panel actions: something someone must do on a case, with an owner and a due date."""

from piccolo.columns import Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from caseframe.core.agencies.tables import Agency
from caseframe.core.auth.tables import User
from caseframe.core.cases.tables import Case


class Task(Table, tablename="cf_task"):
    id: Serial
    case = ForeignKey(Case, null=True, default=None)
    title = Varchar(length=200)
    description = Text(default="")
    owner_agency = ForeignKey(Agency)
    assignee = ForeignKey(User, null=True, default=None)
    due_date = Date(null=True, default=None)
    status = Varchar(length=20, default="open")
    source = Varchar(length=20, default="manual")
    meeting_id = Integer(null=True, default=None)
    #: the agenda item (and so the minute) a panel action came from
    agenda_item_id = Integer(null=True, default=None)
    created_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz()
    completed_at = Timestamptz(null=True, default=None)
    completed_by = ForeignKey(User, null=True, default=None)
