"""Audit trail (DOMAIN 7): append-only entries of every create, update, delete and state change."""

from flask_babel import lazy_gettext as _l
from mongoengine import (
    DateTimeField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentListField,
    OperationError,
    StringField,
)

from models.common import choices, utcnow

AUDIT_ACTIONS = choices(
    ("create", _l("Created")),
    ("update", _l("Updated")),
    ("delete", _l("Deleted")),
    ("state", _l("State change")),
    ("export", _l("Exported")),
    ("import", _l("Imported")),
    ("login", _l("Signed in")),
    ("admin", _l("Administration")),
)


class FieldChange(EmbeddedDocument):
    """One field's value before and after, as display text."""

    field = StringField(required=True, verbose_name=_l("Field"))
    old = StringField(verbose_name=_l("Old value"))
    new = StringField(verbose_name=_l("New value"))


class AuditEntry(Document):
    """Who did what to which record, when. Written by portal.audit only; never updated or deleted."""

    meta = {"collection": "audit_log",
            "indexes": [("collection", "record_id", "-at"), "-at", ("user", "-at"), "action"],
            "ordering": ["-at"]}

    at = DateTimeField(required=True, default=utcnow, verbose_name=_l("At"))
    user = StringField(required=True, max_length=64, verbose_name=_l("User"))
    action = StringField(required=True, choices=AUDIT_ACTIONS, verbose_name=_l("Action"))
    collection = StringField(required=True, max_length=64, verbose_name=_l("Collection"))
    record_id = StringField(required=True, max_length=64, verbose_name=_l("Record"))
    record_label = StringField(max_length=200, verbose_name=_l("Record label"))
    changes = EmbeddedDocumentListField(FieldChange, verbose_name=_l("Changes"))
    note = StringField(max_length=1000, verbose_name=_l("Note"))

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.collection}/{self.record_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise OperationError("The audit trail is append-only.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise OperationError("The audit trail is append-only.")
