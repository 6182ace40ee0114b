"""Pieces every business record shares: audit stamps, optimistic version, owner unit, helpers for choices."""

import datetime as dt

from flask_babel import lazy_gettext as _l
from mongoengine import DateTimeField, Document, IntField, ReferenceField, StringField, ValidationError
from mongoengine.errors import SaveConditionError


def utcnow() -> dt.datetime:
    """Naive UTC now, as MongoDB stores it (millisecond precision)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def field_error(field: str, message) -> ValidationError:
    """A ValidationError that names `field`, so the form shows `message` next to it."""
    return ValidationError(str(message), errors={field: ValidationError(str(message), field_name=field)})


class StaleRecord(ValidationError):
    """Someone else saved the record after it was read: refuse rather than overwrite."""


class PortalDocument(Document):
    """Base of every portal collection: who created and changed it, and a version for lost-update protection."""

    meta = {"abstract": True}
    audit_exclude: tuple[str, ...] = ()  # fields never copied into the audit trail

    created_at = DateTimeField(verbose_name=_l("Created at"))
    created_by = StringField(max_length=64, verbose_name=_l("Created by"))
    updated_at = DateTimeField(verbose_name=_l("Updated at"))
    updated_by = StringField(max_length=64, verbose_name=_l("Updated by"))
    version = IntField(default=0, min_value=0, verbose_name=_l("Version"))

    def save(self, *args, expected_version=None, **kwargs):
        """Save; an update only succeeds while the stored version is still the one this copy was read at."""
        now = utcnow()
        if self.pk is None or self._created:
            self.created_at = self.created_at or now
            self.version = 0
        else:
            expected = self.version if expected_version is None else expected_version
            kwargs.setdefault("save_condition", {"version": expected})
            self.version = (expected or 0) + 1
        self.updated_at = now
        try:
            return super().save(*args, **kwargs)
        except SaveConditionError as exc:
            self.version = expected
            raise StaleRecord(
                str(_l("Someone else changed this record after you opened it. Reload it and apply your changes again."))
            ) from exc


class OwnedDocument(PortalDocument):
    """A business record that belongs to an org unit (data scope of Clerks and DeptHeads)."""

    meta = {"abstract": True}

    owner_unit = ReferenceField("OrgUnit", verbose_name=_l("Owner unit"))


def choices(*pairs: tuple[str, object]) -> tuple[tuple[str, object], ...]:
    """Spell a choice list as (stored value, translatable label) pairs."""
    return tuple(pairs)


def choice_label(choice_list, value) -> str:
    """The translated label of `value` in `choice_list`, or the value itself."""
    for key, label in choice_list:
        if key == value:
            return str(label)
    return "" if value is None else str(value)
