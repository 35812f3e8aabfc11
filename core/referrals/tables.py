"""Referrals and the rule firings behind them, kept so anyone can later read why."""

from piccolo.columns import JSON, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from caseframe.core.agencies.tables import Agency
from caseframe.core.auth.tables import User
from caseframe.core.cases.tables import Case
from caseframe.core.persons.tables import Person


class Referral(Table, tablename="cf_referral"):
    id: Serial
    person = ForeignKey(Person, null=True, default=None)
    from_case = ForeignKey(Case, null=True, default=None)
    source_area = Varchar(length=40, default="")
    #: area, agency_type, agency or panel
    target_kind = Varchar(length=20)
    target = Varchar(length=60)
    #: the agency whose inbox it is in, when one is known (else every agency the target describes)
    target_agency = ForeignKey(Agency, null=True, default=None)
    rule_id = Varchar(length=100, null=True, default=None)
    reason = Text()
    status = Varchar(length=20, default="open", index=True)
    raised_by = ForeignKey(User, null=True, default=None)
    raised_by_agency = ForeignKey(Agency, null=True, default=None, index=True)
    created_at = Timestamptz(index=True)
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(User, null=True, default=None, index=True)
    decision_note = Text(default="")
    resulting_case = ForeignKey(Case, null=True, default=None)
    version = Integer(default=1)


class ReferralMessage(Table, tablename="cf_referral_message"):
    """The conversation on a referral: questions, answers and the decision, in order."""

    id: Serial

    referral = ForeignKey(Referral, index=True)
    #: info_requested, info_given, declined, accepted, linked or note
    kind = Varchar(length=20)
    text = Text(default="")
    author = ForeignKey(User, null=True, default=None)
    agency = ForeignKey(Agency, null=True, default=None)
    at = Timestamptz()


class RuleFiring(Table, tablename="cf_rule_firing"):
    """One time a rule matched: the rule, the event, the facts it saw and the reason it gives."""

    id: Serial

    referral = ForeignKey(Referral, index=True)
    rule_id = Varchar(length=100)
    area = Varchar(length=40)
    event = Varchar(length=30)
    case = ForeignKey(Case, null=True, default=None)
    person = ForeignKey(Person, null=True, default=None)
    facts = JSON(default={})
    reason = Text()
    fired_at = Timestamptz()
