"""Documents attached to a case: what was uploaded, by whom, how sensitive it is and where its content is kept."""

from piccolo.columns import BigInt, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from caseframe.core.auth.tables import User
from caseframe.core.cases.tables import Case


class Document(Table, tablename="cf_document"):
    id: Serial
    #: NOT NULL: a document belongs to one case (its table has always said so in the database)
    case = ForeignKey(Case, index=True, null=False)
    #: the name the uploader's file had, cleaned of paths and control characters; shown, never used as a path
    filename = Varchar(length=255)
    #: what the content was found to be (pdf, png, docx...), and its media type
    kind = Varchar(length=20)
    content_type = Varchar(length=120)
    size = BigInt()
    sha256 = Varchar(length=64)
    #: the x-sensitivity level a reader's access must reach to see the document at all
    sensitivity = Varchar(length=30, default="official")
    uploaded_by = ForeignKey(User, null=True, default=None)
    uploaded_at = Timestamptz()
    #: a random name in the document store: the content's only name there
    storage_key = Varchar(length=80, unique=True)
    #: clean (a scanner passed it) or not_scanned (no scanner installed)
    scan_status = Varchar(length=20)
    scanner = Varchar(length=100, default="")
    removed_at = Timestamptz(null=True, default=None)
    removed_by = ForeignKey(User, null=True, default=None)
    removal_reason = Text(default="")
