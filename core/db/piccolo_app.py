"""The Piccolo app holding every core table and the migrations that create them."""
from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.agencies.tables import Agency, AgencyArea
from core.audit.tables import AuditCheckpoint, AuditEvent
from core.auth.tables import RecoveryCode, Session, SignInThrottle, User
from core.cases.tables import Case, CaseEvent, CaseSubject, ReferenceCounter, Submission
from core.documents.tables import Document
from core.notifications.tables import (
          Notification,
          NotificationEmail,
          NotificationPreference,
          NotificationRead,
)
from core.panels.tables import AgendaItem, Meeting, MeetingAttendee, Minute, Panel, PanelCase
from core.persons.tables import NameWord, Person, PersonIdentifierKey, PersonMerge, PersonNameWord
from core.referrals.tables import Referral, ReferralMessage, RuleFiring
from core.retention.tables import CaseRetention, RetentionOverride
from core.sar.tables import SubjectAccessRequest
from core.sharing.tables import AccessRequest, CaseShare, Mou, MouAcceptance, Setting, SharingAgreement
from core.tasks.tables import Task

TABLES = [Agency, AgencyArea, User, Session, Person, Case, CaseSubject, CaseEvent, ReferenceCounter,
          Task, Referral, RuleFiring, Panel, Meeting, AuditEvent, Submission, SignInThrottle, SharingAgreement,
          CaseShare, AccessRequest, Mou, MouAcceptance, Setting, ReferralMessage, PanelCase, MeetingAttendee,
          AgendaItem, Minute, RecoveryCode, NameWord, PersonNameWord, PersonIdentifierKey, AuditCheckpoint,
          Notification, NotificationRead, NotificationPreference, NotificationEmail, Document,
          PersonMerge, CaseRetention, RetentionOverride, SubjectAccessRequest]

APP_CONFIG = AppConfig(
    app_name="caseframe",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=TABLES,
    migration_dependencies=[],
    commands=[],
)
