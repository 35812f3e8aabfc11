"""Users of an agency, and their server-side sessions."""
from piccolo.columns import JSON, Boolean, ForeignKey, Timestamptz, Varchar
from piccolo.table import Table

from core.agencies.tables import Agency


class User(Table, tablename="cf_user"):
    email = Varchar(length=254, unique=True)
    name = Varchar(length=200)
    agency = ForeignKey(Agency)
    roles = JSON(default=[])
    password_hash = Varchar(length=200, default="")
    active = Boolean(default=True)
    created_at = Timestamptz()
    last_sign_in = Timestamptz(null=True, default=None)


class Session(Table, tablename="cf_session"):
    """A signed-in browser or API client; only a hash of the token is stored."""

    token_hash = Varchar(length=64, unique=True)
    #: sent back with every form and htmx request; bound to this session
    csrf_token = Varchar(length=64, default="")
    user = ForeignKey(User)
    created_at = Timestamptz()
    last_seen = Timestamptz()
