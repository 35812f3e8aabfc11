"""Persons: the people cases are about, shared across areas."""
from piccolo.columns import JSON, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from core.agencies.tables import Agency


class Person(Table, tablename="cf_person"):
    given_name = Varchar(length=100)
    family_name = Varchar(length=100)
    date_of_birth = Date(null=True, default=None)
    gender = Varchar(length=30, default="")
    aliases = JSON(default=[])
    addresses = JSON(default=[])
    identifiers = JSON(default=[])
    flags = JSON(default=[])
    #: lower-cased names and aliases, for search
    search_text = Text(default="", index=True)
    created_by_agency = ForeignKey(Agency)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)
