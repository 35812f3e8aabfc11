"""What retention has decided about a case, and an agency's own retention periods within an area's bounds."""

from piccolo.columns import Boolean, Date, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


class CaseRetention(Table, tablename="cf_case_retention"):
    """One row per case retention has touched: kept longer, on legal hold, restricted, flagged or erased."""

    id: Serial

    case_id = Integer(unique=True)
    #: a later date a local admin extended the case to (never past the area's max_years)
    keep_until = Date(null=True, default=None)
    extend_reason = Text(default="")
    legal_hold = Boolean(default=False)
    hold_reason = Text(default="")
    #: hidden from everyone but the owning agency's local admin
    restricted = Boolean(default=False)
    restrict_reason = Text(default="")
    #: when the nightly sweep first found the case due for review
    flagged_at = Timestamptz(null=True, default=None)
    erased_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()


class RetentionOverride(Table, tablename="cf_retention_override"):
    """An agency's own retention period for an area, set by its local admin within the area's bounds."""

    id: Serial

    agency_id = Integer(index=True)
    area = Varchar(length=40)
    years = Integer()
    reason = Text(default="")
    set_by = Integer(null=True, default=None)
    set_at = Timestamptz()
