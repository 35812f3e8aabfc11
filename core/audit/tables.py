"""The append-only audit trail: who did what, when, for which agency and purpose.

An event is written as a plain row (``seq`` empty) in the transaction of the change it records; the
sealer (core.audit.service.seal) later gives it the next place in the chain (``seq``) and its keyed
hash. Checkpoints record the chain's head from time to time, so removing the newest events shows.
"""

from piccolo.columns import JSON, BigInt, Integer, Serial, Timestamptz, Varchar
from piccolo.table import Table


class AuditEvent(Table, tablename="cf_audit"):
    id: Serial
    at = Timestamptz()
    actor_id = Integer(null=True, default=None, index=True)
    agency_id = Integer(null=True, default=None)
    action = Varchar(length=60, index=True)
    object_type = Varchar(length=30, default="")
    object_id = BigInt(null=True, default=None, index=True)
    purpose = Varchar(length=60, default="")
    detail = JSON(default={})
    #: the event's place in the sealed chain, 1, 2, 3...; empty until the sealer reaches it
    # unique: an index the migration makes (SQLite cannot add a UNIQUE column)
    seq = BigInt(null=True, default=None)
    prev_hash = Varchar(length=64, default="")
    hash = Varchar(length=64, default="")


class AuditCheckpoint(Table, tablename="cf_audit_checkpoint"):
    """The chain's head as the sealer left it: how many events were sealed, the newest one and its hash."""

    id: Serial
    at = Timestamptz()
    seq = BigInt()
    event_id = BigInt()
    hash = Varchar(length=64)
    #: which key sealed the chain (a fingerprint, not the key)
    key_id = Varchar(length=16)
    prev_mac = Varchar(length=64, default="")
    mac = Varchar(length=64)
