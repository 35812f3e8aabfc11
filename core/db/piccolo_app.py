"""The Piccolo app holding every core table and the migrations that create them."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from caseframe.core.agencies.tables import Agency, AgencyArea
from caseframe.core.audit.tables import AuditCheckpoint, AuditEvent
from caseframe.core.auth.tables import RecoveryCode, Session, SignInThrottle, User
from caseframe.core.cases.tables import Case, CaseEvent, CaseSubject, ReferenceCounter, Submission
from caseframe.core.documents.tables import Document
from caseframe.core.notifications.tables import (
    Notification,
    NotificationEmail,
    NotificationPreference,
    NotificationRead,
)
from caseframe.core.panels.tables import AgendaItem, Meeting, MeetingAttendee, Minute, Panel, PanelCase
from caseframe.core.persons.tables import NameWord, Person, PersonIdentifierKey, PersonMerge, PersonNameWord
from caseframe.core.referrals.tables import Referral, ReferralMessage, RuleFiring
from caseframe.core.retention.tables import CaseRetention, RetentionOverride
from caseframe.core.sar.tables import SubjectAccessRequest
from caseframe.core.sharing.tables import (
    AccessRequest,
    CaseShare,
    Mou,
    MouAcceptance,
    Setting,
    SharingAgreement,
)
from caseframe.core.tasks.tables import Task

TABLES = [
    Agency,
    AgencyArea,
    User,
    Session,
    Person,
    Case,
    CaseSubject,
    CaseEvent,
    ReferenceCounter,
    Task,
    Referral,
    RuleFiring,
    Panel,
    Meeting,
    AuditEvent,
    Submission,
    SignInThrottle,
    SharingAgreement,
    CaseShare,
    AccessRequest,
    Mou,
    MouAcceptance,
    Setting,
    ReferralMessage,
    PanelCase,
    MeetingAttendee,
    AgendaItem,
    Minute,
    RecoveryCode,
    NameWord,
    PersonNameWord,
    PersonIdentifierKey,
    AuditCheckpoint,
    Notification,
    NotificationRead,
    NotificationPreference,
    NotificationEmail,
    Document,
    PersonMerge,
    CaseRetention,
    RetentionOverride,
    SubjectAccessRequest,
]

APP_CONFIG = AppConfig(
    app_name="caseframe",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=TABLES,
    migration_dependencies=[],
    commands=[],
)
