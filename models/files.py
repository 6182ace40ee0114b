"""Uploaded files, kept in MongoDB beside the records they belong to (works the same on mongomock and a server);
their content is encrypted at rest by portal.uploads (BRD 9(2)2)."""

from flask_babel import lazy_gettext as _l
from mongoengine import BinaryField, BooleanField, DateTimeField, Document, IntField, StringField

from models.common import utcnow


class Attachment(Document):
    """One uploaded file; only served through the view of the record that owns it."""

    meta = {"collection": "attachments", "indexes": ["sha256"]}

    filename = StringField(required=True, max_length=200, verbose_name=_l("File name"))
    content_type = StringField(required=True, max_length=100, verbose_name=_l("Type"))
    size = IntField(required=True, min_value=0, verbose_name=_l("Size"))
    sha256 = StringField(required=True, max_length=64)
    data = BinaryField(required=True)
    encrypted = BooleanField(default=False)  # False: stored before encryption at rest, served as it is
    uploaded_by = StringField(max_length=64, verbose_name=_l("Uploaded by"))
    uploaded_at = DateTimeField(default=utcnow, verbose_name=_l("Uploaded at"))

    def __str__(self) -> str:
        return self.filename
