"""Users of an agency, and their server-side sessions."""

from piccolo.columns import JSON, BigInt, Boolean, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.table import Table

from caseframe.core.agencies.tables import Agency


class User(Table, tablename="cf_user"):
    id: Serial
    email = Varchar(length=254, unique=True)
    name = Varchar(length=200)
    agency = ForeignKey(Agency, index=True)
    roles = JSON(default=[])
    password_hash = Varchar(length=200, default="")
    active = Boolean(default=True)
    created_at = Timestamptz()
    last_sign_in = Timestamptz(null=True, default=None)
    #: base32 TOTP secret once the user has set up an authenticator app ("" until then)
    totp_secret = Varchar(length=64, default="", secret=True)
    mfa_enabled = Boolean(default=False)
    #: the last TOTP time step accepted, so one code cannot be used twice
    totp_last_step = BigInt(default=0)
    #: the password was set by an admin (a new user, a reset): the user must choose their own at the next sign-in
    must_change_password = Boolean(default=False)


class RecoveryCode(Table, tablename="cf_recovery_code"):
    """One of a user's one-time codes for signing in without their authenticator app; only its hash is kept."""

    id: Serial

    user = ForeignKey(User, index=True)
    code_hash = Varchar(length=64, secret=True)
    created_at = Timestamptz()
    #: set when the code is spent: a code signs in once
    used_at = Timestamptz(null=True, default=None)


class Session(Table, tablename="cf_session"):
    """A signed-in browser or API client; only a hash of the token is stored."""

    id: Serial

    token_hash = Varchar(length=64, unique=True)
    #: sent back with every form and htmx request; bound to this session
    csrf_token = Varchar(length=64, default="")
    user = ForeignKey(User)
    created_at = Timestamptz()
    last_seen = Timestamptz()
    #: what the session still has to do before pages work: "mfa", "password", "mfa_setup", "mou" or "" (done)
    pending = Varchar(length=20, default="")


class SignInThrottle(Table, tablename="cf_sign_in_throttle"):
    """Failed sign-ins per email address (hashed, known or not), for lockout with back-off, and per source
    network in a window (core/auth/service.py)."""

    id: Serial

    key = Varchar(length=64, unique=True)
    #: "address": failures of an email address, kept for the back-off; "source": failures from a network in
    #: the window ending at ``locked_until``, deleted once it is over
    kind = Varchar(length=10, default="address")
    failures = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    last_failure_at = Timestamptz(null=True, default=None)
