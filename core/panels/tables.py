"""Panels (standing multi-agency groups) and their meetings."""
from piccolo.columns import JSON, ForeignKey, Text, Timestamptz, Varchar
from piccolo.table import Table

from core.agencies.tables import Agency


class Panel(Table, tablename="cf_panel"):
    slug = Varchar(length=60, unique=True)
    name = Varchar(length=200)
    chair_agency = ForeignKey(Agency)
    member_agencies = JSON(default=[])
    areas = JSON(default=[])
    frequency = Varchar(length=40, default="monthly")
    created_at = Timestamptz()


class Meeting(Table, tablename="cf_meeting"):
    panel = ForeignKey(Panel)
    starts_at = Timestamptz()
    location = Text(default="")
    status = Varchar(length=20, default="planned")
