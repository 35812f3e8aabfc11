"""The append-only audit trail: who did what, when, for which agency and purpose."""
from piccolo.columns import JSON, BigInt, Integer, Timestamptz, Varchar
from piccolo.table import Table


class AuditEvent(Table, tablename="cf_audit"):
    at = Timestamptz()
    actor_id = Integer(null=True, default=None, index=True)
    agency_id = Integer(null=True, default=None)
    action = Varchar(length=60, index=True)
    object_type = Varchar(length=30, default="")
    object_id = BigInt(null=True, default=None, index=True)
    purpose = Varchar(length=60, default="")
    detail = JSON(default={})
    prev_hash = Varchar(length=64, default="")
    hash = Varchar(length=64, default="")
