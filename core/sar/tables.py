"""Subject access requests (UK GDPR Art. 15): who asked, when, the statutory deadline, and what was sent."""

from piccolo.columns import Boolean, Date, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


class SubjectAccessRequest(Table, tablename="cf_subject_access_request"):
    """One request by (or for) a person for everything an agency holds about them. Ids, not foreign keys: the
    request is part of the agency's record of compliance and outlives a merge or an erasure of the person."""

    id: Serial

    reference = Varchar(length=40, unique=True)
    #: the agency that received the request and answers it
    agency_id = Integer(index=True)
    person_id = Integer(index=True)
    #: who asked: the person themself, or e.g. a solicitor on their behalf (words, as the request said)
    requester = Text(default="")
    received_on = Date()
    #: one calendar month from receipt; three with the two-month extension for a complex request
    due_on = Date()
    extended = Boolean(default=False)
    extension_reason = Text(default="")
    notes = Text(default="")
    status = Varchar(length=20, default="open", index=True)
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz()
    closed_at = Timestamptz(null=True, default=None)
    closed_by = Integer(null=True, default=None)
    closing_note = Text(default="")
    last_exported_at = Timestamptz(null=True, default=None)
