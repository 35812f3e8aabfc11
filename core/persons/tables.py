"""Persons: the people cases are about, shared across areas."""

from piccolo.columns import JSON, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from caseframe.core.agencies.tables import Agency


class Person(Table, tablename="cf_person"):
    id: Serial
    given_name = Varchar(length=100)
    family_name = Varchar(length=100)
    date_of_birth = Date(null=True, default=None, index=True)
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
    #: set when this record was merged into another: the survivor's id. The record stays as a tombstone that
    #: sends its address on to the survivor, and is found by no search
    merged_into = Integer(null=True, default=None, index=True)


# The search index, written with the person (core.persons.service is the only writer). A searched word
# is matched against the vocabulary of every name word (exactly, as a prefix or by close spelling through
# a trigram index: pg_trgm on PostgreSQL, an FTS5 trigram table on SQLite), then to the persons holding
# the words matched whom the searcher's agency may come to see (cf_name_posting: each person's words under
# each such agency, made and kept by the triggers of migration 2026-12-06T22:40, not declared here); scoring
# the few candidates decides.


class NameWord(Table, tablename="cf_name_word"):
    """Each distinct normalised word of any person's names and aliases, once."""

    id: Serial
    word = Text(default="", unique=True)


class PersonNameWord(Table, tablename="cf_person_name_word"):
    """Which person has which name word (in their name or an alias)."""

    id: Serial
    person = ForeignKey(Person, on_delete=OnDelete.cascade, index=True)
    word = Text(default="", index=True)


class PersonIdentifierKey(Table, tablename="cf_person_identifier_key"):
    """A person's identifier values as searched: normalised, without spaces."""

    id: Serial
    person = ForeignKey(Person, on_delete=OnDelete.cascade, index=True)
    value = Text(default="", index=True)


class PersonMerge(Table, tablename="cf_person_merge"):
    """One merge of two person records: who, when, both records as they were, and exactly which rows moved from
    the merged record to the survivor, so a system admin can undo it. Ids, not foreign keys: the record of a
    merge outlives neither person's deletion by retention, and must not itself be moved by a later merge."""

    id: Serial

    survivor_id = Integer(index=True)
    merged_id = Integer(index=True)
    merged_by = Integer()
    merging_agency = Integer()
    merged_at = Timestamptz()
    #: {"before": {"survivor": {...}, "merged": {...}}, "moved": {"table.column": [row ids]},
    #:  "retired_subjects": [ids], "survivor_version": n}
    detail = JSON(default={})
    undone_at = Timestamptz(null=True, default=None)
    undone_by = Integer(null=True, default=None)
