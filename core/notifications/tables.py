"""Notifications: short, content-free messages for a user or for every user of an agency, and who read them."""

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.table import Table

from caseframe.core.agencies.tables import Agency
from caseframe.core.auth.tables import User


class Notification(Table, tablename="cf_notification"):
    """One message. Addressed to one user (``recipient``) or to an agency (``agency``, optionally only its users
    with ``role``): an agency's are resolved to its users when read, so a user who joins sees them from the day
    they joined and one who leaves stops seeing them, with no copies to keep in step."""

    id: Serial

    recipient = ForeignKey(User, null=True, default=None)
    agency = ForeignKey(Agency, null=True, default=None)
    #: only the agency's users with this role; "" for all of them
    role = Varchar(length=30, default="")
    #: referral_waiting, case_shared, panel_action, task_due or rule_notice
    kind = Varchar(length=30)
    #: what the bell shows: a reference at most, never case content
    text = Varchar(length=300)
    #: a path on this site; following it goes through the page's own access checks
    link = Varchar(length=300, default="")
    #: the case it is about, if any (only its id: what a reader may see of it is decided when they open it)
    case_id = Integer(null=True, default=None)
    #: a rule's notice: the rule, its reason and the facts it saw (shown as a referral's are, filtered by access)
    detail = JSON(default={})
    #: the same key is never notified twice (a sweep run again, a rule firing again)
    dedupe_key = Varchar(length=200, null=True, default=None, unique=True)
    created_at = Timestamptz()


class NotificationRead(Table, tablename="cf_notification_read"):
    """That one user read one notification (those addressed to an agency are read user by user)."""

    id: Serial

    notification = ForeignKey(Notification)
    reader = ForeignKey(User)
    read_at = Timestamptz()


class NotificationPreference(Table, tablename="cf_notification_preference"):
    """A user's choices: e-mail or not, and the newest notification they marked read with 'Mark all as read'."""

    id: Serial

    owner = ForeignKey(User, unique=True)
    email = Boolean(default=False)
    #: every notification with an id up to this one counts as read for this user
    seen_up_to = Integer(default=0)


class NotificationEmail(Table, tablename="cf_notification_email"):
    """The e-mail outbox: written with the notification, sent after the commit by the sender, retried a few
    times when the mail server fails, then dropped (the notification is still in the app)."""

    id: Serial

    notification = ForeignKey(Notification)
    recipient = ForeignKey(User)
    #: pending, sent or dropped
    status = Varchar(length=10, default="pending", index=True)
    attempts = Integer(default=0)
    next_try_at = Timestamptz()
    #: the kind of the last failure (an exception class name, never the server's text)
    last_error = Varchar(length=100, default="")
    sent_at = Timestamptz(null=True, default=None)
