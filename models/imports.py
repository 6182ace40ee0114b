"""Bulk import jobs (issue 9 item 4): one uploaded file of customers, products, employees, stock, budgets or
opening receivables, checked (dry run) and then written all or nothing by portal.importer.

The uploaded bytes are personal data (customers' contacts, staff records), so they are kept sealed with
PORTAL_FILE_KEY (BRD 9(2)2) and dropped once the import is over. A job is not a business record: it is not
audited field by field (its bytes would end up in the trail); the import itself leaves one summary entry.
"""

from flask_babel import lazy_gettext as _l
from mongoengine import (
    BinaryField,
    BooleanField,
    DateTimeField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentListField,
    IntField,
    ObjectIdField,
    StringField,
)

from models.common import choices, utcnow

IMPORT_STATUSES = choices(
    ("uploaded", _l("Uploaded")), ("checking", _l("Checking")), ("checked", _l("Checked")),
    ("committing", _l("Importing")), ("done", _l("Done")), ("failed", _l("Import failed")),
)
RUNNING = ("uploaded", "checking", "committing")  # a job page refreshes itself while in one of these
MAX_ERRORS = 500  # errors kept per job; the count says how many there were


class ImportProblem(EmbeddedDocument):
    """One bad cell (or row, or file): row number as in the file (the header is row 1), column header, message
    in the importer's language."""

    row = IntField(min_value=0, verbose_name=_l("Row"))
    column = StringField(max_length=120, verbose_name=_l("Column"))
    message = StringField(max_length=600, verbose_name=_l("Message"))


class ImportJob(Document):
    """One uploaded file on its way in: uploaded -> checked -> committing -> done, or failed."""

    meta = {"collection": "import_jobs", "indexes": [["user", "-created_at"], "kind", "status"],
            "ordering": ["-created_at"]}

    kind = StringField(required=True, max_length=32, verbose_name=_l("Kind"))
    file_name = StringField(required=True, max_length=200, verbose_name=_l("File name"))
    file_format = StringField(required=True, choices=(("csv", "CSV"), ("xlsx", "XLSX")), verbose_name=_l("Format"))
    size = IntField(min_value=0, verbose_name=_l("Size"))
    sha256 = StringField(max_length=64)
    data = BinaryField()  # the file, sealed (portal.crypto); removed when the import is done or failed
    status = StringField(required=True, choices=IMPORT_STATUSES, default="uploaded", verbose_name=_l("Status"))
    background = BooleanField(default=False)  # checked and written by a worker thread (large files)
    total = IntField(default=0, min_value=0, verbose_name=_l("Rows"))
    done = IntField(default=0, min_value=0, verbose_name=_l("Rows done"))
    problems = EmbeddedDocumentListField(ImportProblem, verbose_name=_l("Errors"))
    problem_count = IntField(default=0, min_value=0, verbose_name=_l("Errors"))
    created = IntField(default=0, min_value=0, verbose_name=_l("Created"))
    updated = IntField(default=0, min_value=0, verbose_name=_l("Updated"))
    unchanged = IntField(default=0, min_value=0, verbose_name=_l("Unchanged"))
    note = StringField(max_length=1000, verbose_name=_l("Note"))  # why a commit failed, in the user's words
    user = StringField(required=True, max_length=64, verbose_name=_l("User"))
    user_id = ObjectIdField()  # the login whose permissions and scope a background run uses
    locale = StringField(max_length=8, default="en")
    created_at = DateTimeField(default=utcnow, verbose_name=_l("Uploaded at"))
    checked_at = DateTimeField(verbose_name=_l("Checked at"))
    started_at = DateTimeField()  # when its commit was claimed (a commit whose worker stopped is failed later)
    finished_at = DateTimeField(verbose_name=_l("Finished at"))

    def __str__(self) -> str:
        return f"{self.kind}: {self.file_name}"


class ImportLock(Document):
    """One import per kind at a time: the kind's row names the job writing it (claimed by one conditional
    update) until it is released, or until `until` passes (a worker that died)."""

    meta = {"collection": "import_locks"}

    id = StringField(primary_key=True, max_length=32)
    job = ObjectIdField()
    until = DateTimeField()
