"""Information sharing agreements, the cases shared under them, access requests and the MoU."""

from piccolo.columns import JSON, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from caseframe.core.agencies.tables import Agency
from caseframe.core.auth.tables import User
from caseframe.core.cases.tables import Case
from caseframe.core.persons.tables import Person


class SharingAgreement(Table, tablename="cf_isa"):
    """An ISA: which agencies share, for which purposes and areas, on what legal basis, from when to when."""

    id: Serial

    reference = Varchar(length=40, unique=True)
    title = Varchar(length=200)
    #: agency ids that are parties to the agreement
    parties = JSON(default=[])
    #: purpose codes (see core.sharing.policy.PURPOSES)
    purposes = JSON(default=[])
    #: area slugs the agreement covers
    areas = JSON(default=[])
    legal_basis = Text(default="")
    #: the most sensitive answers a partner may see: official, sensitive or special_category
    max_sensitivity = Varchar(length=30, default="official")
    starts_on = Date()
    ends_on = Date()
    created_by = ForeignKey(User, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class CaseShare(Table, tablename="cf_case_share"):
    """A case shared with a partner agency, for a purpose, under an ISA; dead once the ISA ends."""

    id: Serial

    case = ForeignKey(Case, index=True)
    agency = ForeignKey(Agency, index=True)
    isa = ForeignKey(SharingAgreement)
    purpose = Varchar(length=40)
    shared_by = ForeignKey(User, null=True, default=None)
    shared_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoked_by = ForeignKey(User, null=True, default=None)


class AccessRequest(Table, tablename="cf_access_request"):
    """A request, made from the national search, for the records another agency holds about a person."""

    id: Serial

    person = ForeignKey(Person)
    requested_by = ForeignKey(User)
    requesting_agency = ForeignKey(Agency)
    holding_agency = ForeignKey(Agency, index=True)
    purpose = Varchar(length=40)
    reason = Text(default="")
    #: pending, granted or refused
    status = Varchar(length=20, default="pending", index=True)
    isa = ForeignKey(SharingAgreement, null=True, default=None)
    decided_by = ForeignKey(User, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decision_note = Text(default="")
    created_at = Timestamptz()


class Mou(Table, tablename="cf_mou"):
    """A version of the memorandum of understanding every user accepts at sign-in."""

    id: Serial

    version = Integer(unique=True)
    text = Text()
    published_by = ForeignKey(User, null=True, default=None)
    published_at = Timestamptz()


class MouAcceptance(Table, tablename="cf_mou_acceptance"):
    id: Serial
    user = ForeignKey(User, index=True)
    mou_version = Integer()
    session_id = Integer(null=True, default=None)
    accepted_at = Timestamptz()


class Setting(Table, tablename="cf_setting"):
    """Deployment-wide settings a system admin changes at run time (e.g. roles that must use MFA)."""

    id: Serial

    key = Varchar(length=60, unique=True)
    value = JSON(default={})
    updated_at = Timestamptz()
