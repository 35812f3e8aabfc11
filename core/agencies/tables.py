"""Agencies and the business areas each has enabled."""

from piccolo.columns import Boolean, ForeignKey, Serial, Timestamptz, Varchar
from piccolo.table import Table


class Agency(Table, tablename="cf_agency"):
    id: Serial
    slug = Varchar(length=60, unique=True)
    name = Varchar(length=200)
    agency_type = Varchar(length=60)
    contact_email = Varchar(length=200, default="")
    active = Boolean(default=True)
    created_at = Timestamptz()


class AgencyArea(Table, tablename="cf_agency_area"):
    """An area an agency's local admin has enabled; disabling deletes the row, cases stay readable."""

    id: Serial

    agency = ForeignKey(Agency)
    area = Varchar(length=40)
    enabled_at = Timestamptz()
