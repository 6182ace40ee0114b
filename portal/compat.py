"""Flask-AppBuilder 4.8 on mongoengine: the data interface, filters and form fields FAB lacks (fab-mongo/GUIDE.md)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import mongoengine as me
from bson import ObjectId
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import (
    BS3TextFieldWidget,
    DatePickerWidget,
    DateTimePickerWidget,
    Select2ManyWidget,
    Select2Widget,
)
from flask_appbuilder.models.mongoengine import filters as mf
from flask_appbuilder.models.mongoengine.interface import MongoEngineInterface
from flask_babel import gettext, lazy_gettext
from flask_wtf.i18n import translations as wtforms_translations
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    Field,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import validators as wtv

from models.common import MoneyField, StaleRecord, absurd, choice_label, money

log = logging.getLogger(__name__)

_BAD = object()  # a filter value that cannot be converted for its field


# --------------------------------------------------------------------------------------------------
# Filters: FAB's index order (so `_flt_<n>_<col>` URLs keep their meaning), values converted first
# --------------------------------------------------------------------------------------------------
def _coerce(datamodel, column: str, value: Any) -> Any:
    """Convert a raw URL value with the mongoengine field, or return _BAD (never a dict, never a regex)."""
    field = datamodel.obj._fields.get(column)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    if not isinstance(value, str):
        return _BAD
    if field is None:
        return _BAD
    if isinstance(field, me.BooleanField):
        lowered = value.strip().lower()
        if lowered in ("y", "yes", "true", "1", "on"):
            return True
        if lowered in ("n", "no", "false", "0", "off", ""):
            return False
        return _BAD
    if isinstance(field, me.DecimalField):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return _BAD
        return _BAD if absurd(number) else number
    if isinstance(field, me.DateField):
        from datetime import date

        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return _BAD
    try:
        out = field.prepare_query_value(None, value)
    except Exception:
        return _BAD
    if out is None and value not in ("",):
        return _BAD  # DateTimeField turns garbage into None, which would match rows without a value
    if isinstance(field, (me.IntField, me.FloatField)) and not isinstance(out, (int, float)):
        return _BAD
    return out


def _nothing(query):
    return query.filter(pk__in=[])


class _Coercing:
    lookup = ""

    def apply(self, query, value):
        value = _coerce(self.datamodel, self.column_name, value)
        if value is _BAD:
            return _nothing(query)
        return query.filter(**{self.column_name + (f"__{self.lookup}" if self.lookup else ""): value})


class FilterEqual(_Coercing, mf.FilterEqual):
    lookup = ""


class FilterNotEqual(_Coercing, mf.FilterNotEqual):
    lookup = "ne"


class FilterGreater(_Coercing, mf.FilterGreater):
    lookup = "gt"


class FilterSmaller(_Coercing, mf.FilterSmaller):
    lookup = "lt"


class _Text:
    lookup = "icontains"

    def apply(self, query, value):
        if isinstance(value, (list, tuple)):
            value = value[0] if value else ""
        if not isinstance(value, str):
            return _nothing(query)
        return query.filter(**{f"{self.column_name}__{self.lookup}": value[:200]})  # mongoengine escapes regex


class FilterStartsWith(_Text, mf.FilterStartsWith):
    lookup = "startswith"


class FilterNotStartsWith(_Text, mf.FilterNotStartsWith):
    lookup = "not__startswith"


class FilterContains(_Text, mf.FilterContains):
    lookup = "icontains"


class FilterNotContains(_Text, mf.FilterNotContains):
    lookup = "not__icontains"


class FilterRelationOneToManyEqual(mf.FilterRelationOneToManyEqual):
    def apply(self, query, value):
        related = self.datamodel.get_related_obj(self.column_name, value)
        return _nothing(query) if related is None else query.filter(**{self.column_name: related})


class FilterRelationManyToManyEqual(mf.FilterRelationManyToManyEqual):
    def apply(self, query, value):
        related = self.datamodel.get_related_obj(self.column_name, value)
        return _nothing(query) if related is None else query.filter(**{self.column_name: related})


class FilterListContains(mf.BaseFilter):
    """ListField(StringField): rows whose list holds the value."""

    name = lazy_gettext("Contains")

    def apply(self, query, value):
        if isinstance(value, (list, tuple)):
            value = value[0] if value else ""
        return query.filter(**{self.column_name: str(value)[:200]})


class FilterRelationText(mf.BaseFilter):
    """A reference to a large collection (customers, employees): rows whose referenced record's name or
    number matches the text, or that point at the record whose id is given (links from other pages)."""

    name = lazy_gettext("Name or number contains")

    def apply(self, query, value):
        if isinstance(value, (list, tuple)):
            value = value[0] if value else ""
        text = str(value or "").strip()[:64]
        if not text:
            return query
        lookup = self.datamodel.lookup_for(self.column_name)
        if ObjectId.is_valid(text):  # the list itself is scoped: an id reveals nothing more
            return query.filter(**{self.column_name: ObjectId(text)})
        ids = list(lookup.matching(text).limit(RELATED_SELECT_MAX).scalar("id"))
        return query.filter(**{f"{self.column_name}__in": ids})


class FilterChoiceListContains(FilterListContains):
    """ListField(StringField(choices)): rows whose list holds the chosen value."""

    name = lazy_gettext("Includes")


_STRING = [FilterEqual, FilterNotEqual, FilterStartsWith, FilterNotStartsWith, FilterContains, FilterNotContains]
_ORDERED = [FilterEqual, FilterNotEqual, FilterGreater, FilterSmaller]


class PortalFilterConverter(mf.MongoEngineFilterConverter):
    conversion_table = (
        ("is_lookup_relation", [FilterRelationText]),
        ("is_relation_many_to_one", [FilterRelationOneToManyEqual]),
        ("is_relation_many_to_many", [FilterRelationManyToManyEqual]),
        ("is_object_id", [FilterEqual]),
        ("is_string", _STRING),
        ("is_boolean", [FilterEqual, FilterNotEqual]),
        ("is_datetime", _ORDERED),
        ("is_date", _ORDERED),
        ("is_integer", _ORDERED),
        ("is_float", _ORDERED),
        ("is_numeric", _ORDERED),
        ("is_choice_list", [FilterChoiceListContains]),
        ("is_string_list", [FilterListContains]),
    )

    def convert(self, col_name):
        for method, filters in self.conversion_table:
            if getattr(self.datamodel, method)(col_name):
                return [f(col_name, self.datamodel) for f in filters]
        return []


# --------------------------------------------------------------------------------------------------
# The data interface
# --------------------------------------------------------------------------------------------------
_ME_MESSAGES = [  # mongoengine's own English messages, shown in the user's language
    (re.compile(r"Field is required"), lazy_gettext("This field is required.")),
    (re.compile(r"String value is too long"), lazy_gettext("The text is too long.")),
    (re.compile(r"String value is too short"), lazy_gettext("The text is too short.")),
    (re.compile(r"String value did not match validation regex"), lazy_gettext("The value has an invalid format.")),
    (re.compile(r"Invalid email address"), lazy_gettext("Invalid e-mail address.")),
    (re.compile(r"Value must be one of"), lazy_gettext("Not a valid choice.")),
    (re.compile(r"(Integer|Float|Decimal) value is too small"), lazy_gettext("The number is too small.")),
    (re.compile(r"(Integer|Float|Decimal) value is too large"), lazy_gettext("The number is too large.")),
    (re.compile(r"could not convert|is not a valid|Invalid (decimal|date|ObjectId)"),
     lazy_gettext("Invalid value.")),
]


def user_message(message: Any) -> str:
    """Translate a validation message: ours arrive translated already, mongoengine's are matched to ours."""
    text = str(message)
    for pattern, translated in _ME_MESSAGES:
        if pattern.search(text):
            return str(translated)
    return text


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, str]:
    """{'lines': {0: {'amount': msg}}} -> {'lines-0-amount': msg} (WTForms field ids)."""
    if isinstance(errors, me.ValidationError):
        errors = errors.to_dict() if errors.errors else errors.message
    if isinstance(errors, dict):
        out: dict[str, str] = {}
        for key, value in errors.items():
            if key == me.base.document.NON_FIELD_ERRORS and isinstance(value, dict):  # clean() naming a field
                out.update(flatten_errors(value, prefix))
                continue
            out.update(flatten_errors(value, f"{prefix}-{key}" if prefix else str(key)))
        return out
    return {prefix or "__all__": user_message(errors)}


RELATED_SELECT_MAX = 1000  # a select offering more than this needs a search-as-you-type field instead


class PortalMongoInterface(MongoEngineInterface):
    """MongoEngineInterface with the fixes of fab-mongo/GUIDE.md 2.3-2.8 and one query per reference column."""

    filter_converter_class = PortalFilterConverter
    FilterRelationOneToManyEqual = FilterRelationOneToManyEqual
    FilterRelationManyToManyEqual = FilterRelationManyToManyEqual
    FilterEqual = FilterEqual
    FilterNotEqual = FilterNotEqual
    FilterGreater = FilterGreater
    FilterSmaller = FilterSmaller

    def __init__(self, obj, session=None, page_size_max: int = 100):
        super().__init__(obj, session)
        self.page_size_max = page_size_max
        self.field_errors: dict[str, str] = {}
        self.stale = False

    def _field(self, col):
        return self.obj._fields.get(col)

    def is_numeric(self, col):
        return isinstance(self._field(col), me.DecimalField)

    def is_date(self, col):
        field = self._field(col)
        return isinstance(field, me.DateField)

    def is_datetime(self, col):
        field = self._field(col)
        return isinstance(field, me.DateTimeField) and not isinstance(field, me.DateField)

    def is_string_list(self, col):
        field = self._field(col)
        return isinstance(field, me.ListField) and isinstance(field.field, me.StringField)

    def is_choice_list(self, col):
        field = self._field(col)
        return isinstance(field, me.ListField) and isinstance(field.field, me.StringField) and bool(field.field.choices)

    def lookup_for(self, col):
        """The search-as-you-type lookup of a reference column to a large collection, or None."""
        field = self._field(col)
        return lookup_of(field.document_type) if isinstance(field, me.ReferenceField) else None

    def is_lookup_relation(self, col):
        return self.lookup_for(col) is not None

    def is_relation(self, col):
        field = self._field(col)
        return isinstance(field, me.ReferenceField) or (
            isinstance(field, me.ListField) and isinstance(field.field, me.ReferenceField))

    def is_relation_many_to_one(self, col):
        return isinstance(self._field(col), me.ReferenceField)

    def is_relation_many_to_many(self, col):
        field = self._field(col)
        return isinstance(field, me.ListField) and isinstance(field.field, me.ReferenceField)

    def get_search_columns_list(self):
        return []  # views name their search columns; a default would load whole related collections

    # ---- reading -------------------------------------------------------------------------------
    def query(self, filters=None, order_column="", order_direction="", page=None, page_size=None):
        """Count and one page of rows: two round-trips, plus one per reference column shown."""
        objs = self.obj.objects
        if filters:
            objs = filters.apply_all(objs)
        if order_column and order_column in self.obj._fields:
            db_field = self.obj._fields[order_column].db_field
            objs = objs.order_by(("-" if order_direction == "desc" else "+") + db_field)  # FAB swaps these
        if page_size is None and page is None:  # a related select: all rows, one round-trip
            rows = list(objs.limit(RELATED_SELECT_MAX))
            return len(rows), rows
        count = objs.count()
        page_size = min(page_size or self.page_size_max, self.page_size_max)
        offset = max(page or 0, 0) * page_size
        rows = list(objs.skip(offset).limit(page_size))
        return count, rows

    def prefetch(self, rows: list, columns) -> None:
        """Resolve the reference columns of `rows` with one `$in` query per column (no N+1, no dangling 500)."""
        for col in columns:
            field = self._field(col)
            if isinstance(field, me.ListField) and isinstance(field.field, me.ReferenceField):
                self._prefetch_list(rows, col, field.field.document_type)
            if isinstance(field, me.ReferenceField):
                resolve_references(rows, col, field.document_type)

    @staticmethod
    def _prefetch_list(rows: list, col: str, document_type) -> None:
        raw = {col_value_id(v) for row in rows for v in (row._data.get(col) or []) if _unresolved(v)}
        if not raw:
            return
        found = {o.pk: o for o in document_type.objects(pk__in=list(raw))}
        for row in rows:
            values = row._data.get(col) or []
            if any(_unresolved(v) for v in values):
                resolved = [v if not _unresolved(v) else found.get(col_value_id(v)) for v in values]
                row._data[col] = [v for v in resolved if v is not None]

    def get(self, id, filters=None):
        try:
            return super().get(id, filters)
        except (me.ValidationError, me.DoesNotExist, TypeError, ValueError):
            return None

    def get_related_obj(self, col_name, value):
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        if not isinstance(value, str) or value in ("", "__None"):
            return None
        try:
            return self.get_related_model(col_name).objects(pk=value).first()
        except (me.ValidationError, TypeError):
            return None

    # ---- writing: field errors instead of "General Error <class ...>" ------------------------
    def _save(self, item, ok_message) -> bool:
        self.field_errors = {}
        self.stale = False  # the JSON API answers a stale version with 409
        try:
            item.save()
        except StaleRecord as exc:
            self.message = (str(exc), "warning")
            self.stale = True
        except me.NotUniqueError:
            self.message = (as_unicode(self.add_integrity_error_message), "warning")
            self.field_errors = {"__all__": gettext("A record with this value already exists.")}
        except me.ValidationError as exc:
            self.field_errors = flatten_errors(exc)
            self.message = (gettext("Please correct the errors below."), "warning")
        except me.OperationError as exc:
            self.message = (gettext("This record cannot be saved: %(reason)s", reason=str(exc)), "warning")
        else:
            self.message = (as_unicode(ok_message), "success")
            return True
        return False

    def add(self, item):
        return self._save(item, self.add_row_message)

    def edit(self, item):
        return self._save(item, self.edit_row_message)

    def delete(self, item):
        try:
            item.delete()
        except me.OperationError:
            self.message = (gettext("Other records refer to this one; change or delete them first."), "warning")
            return False
        self.message = (as_unicode(self.delete_row_message), "success")
        return True


def col_value_id(value):
    return getattr(value, "id", value)


def resolve_references(rows: list, col: str, document_type) -> None:
    """Resolve the reference `col` of every row (documents or embedded lines) with one `$in` query; a dangling
    reference becomes None."""
    raw = {col_value_id(row._data.get(col)) for row in rows if _unresolved(row._data.get(col))}
    raw.discard(None)
    found = {o.pk: o for o in document_type.objects(pk__in=list(raw))} if raw else {}
    for row in rows:
        value = row._data.get(col)
        if _unresolved(value):
            row._data[col] = found.get(col_value_id(value))


def _unresolved(value) -> bool:
    return value is not None and not isinstance(value, me.Document)


# --------------------------------------------------------------------------------------------------
# Form fields for the mongoengine types FAB 4.8 cannot convert
# --------------------------------------------------------------------------------------------------
class LinesField(Field):
    """ListField(StringField) as one item per line of a text area."""

    widget = TextAreaField.widget

    def _value(self):
        return "\n".join(self.data or [])

    def process_formdata(self, valuelist):
        raw = valuelist[0] if valuelist else ""
        self.data = [line.strip() for line in raw.splitlines() if line.strip()]


class SubFormWidget:
    """The fields of an embedded document side by side, each with its label and its own errors."""

    def __call__(self, field, **kwargs):
        cells = []
        for sub in field.form:
            errors = "".join(f'<div class="text-danger small">{escape(e)}</div>' for e in sub.errors)
            cells.append(f'<div class="col-sm-6"><label for="{sub.id}">{escape(sub.label.text)}{_star(sub)}</label>'
                         f"{sub(class_='form-control')}{errors}</div>")
        return Markup(f'<div class="row portal-subform">{"".join(cells)}</div>')


class EmbeddedFormField(FormField):
    """EmbeddedDocumentField as a sub-form; saves a real EmbeddedDocument."""

    widget = SubFormWidget()

    def __init__(self, form_class, document_type, **kwargs):
        super().__init__(form_class, **kwargs)
        self.document_type = document_type

    @property
    def errors(self):  # shown next to each sub-field by the widget; FAB's macro expects strings here
        return []

    @errors.setter
    def errors(self, value):
        pass

    def populate_obj(self, obj, name):
        setattr(obj, name, self.document_type(**_clean_data(self.form)))


class LineEditorWidget:
    """A table with one row per embedded document, an add-row button and a remove button on each row."""

    def __call__(self, field, **kwargs):
        template = detached_entry(field, "__index__")  # rendered once inside <template> for the add-row button
        headers = "".join(f"<th>{escape(sub.label.text)}{_star(sub)}</th>" for sub in template.form)
        rows = "".join(self._row(entry) for entry in field.entries)
        proto = self._row(template)
        return Markup(
            f'<div class="portal-lines" data-prefix="{escape(field.name)}">'
            f'<table class="table table-condensed table-bordered"><thead><tr>{headers}<th></th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
            f"<template>{proto}</template>"
            f'<button type="button" class="btn btn-sm btn-default portal-lines-add">'
            f'<i class="fa fa-plus"></i> {escape(gettext("Add line"))}</button></div>'
        )

    @staticmethod
    def _row(entry) -> str:
        cells = []
        for sub in entry.form:
            errors = "".join(f'<div class="text-danger small">{escape(e)}</div>' for e in sub.errors)
            # no `required` attribute: an untouched row is no row (LineEditorField.validate), so the browser must
            # not refuse to send it; a row begun is checked cell by cell on the server
            cells.append(f"<td>{sub(class_='form-control input-sm', required=False)}{errors}</td>")
        remove = escape(gettext("Remove line"))
        return (f"<tr>{''.join(cells)}<td><button type=\"button\" class=\"btn btn-sm btn-link portal-lines-remove\" "
                f'title="{remove}" aria-label="{remove}"><i class="fa fa-times"></i></button></td></tr>')


class AmountsWidget:
    """A fixed row of amount inputs (quarters, months), each labelled."""

    def __call__(self, field, **kwargs):
        values = list(field.raw or [field._format(v) for v in field.data or []])
        cells = []
        for number, label in enumerate(field.item_labels):
            value = values[number] if number < len(values) else ""
            cells.append(f'<div class="portal-amount"><label for="{field.id}-{number}">{escape(label)}</label>'
                         f'<input class="form-control input-sm" id="{field.id}-{number}" name="{field.name}" '
                         f'inputmode="decimal" value="{escape(value)}"></div>')
        return Markup(f'<div class="portal-amounts">{"".join(cells)}</div>')


class AmountsField(Field):
    """ListField(MoneyField) with a fixed number of labelled inputs; all blank means no breakdown."""

    widget = AmountsWidget()

    def __init__(self, label=None, item_labels=(), **kwargs):
        super().__init__(label, **kwargs)
        self.item_labels = [str(x) for x in item_labels]
        self.raw: list[str] = []

    @staticmethod
    def _format(value) -> str:
        return "" if value is None else f"{money(value):.2f}"

    def process_formdata(self, valuelist):
        self.raw = [v.strip().replace(",", "") for v in valuelist]
        if not any(self.raw):
            self.data = []
            return
        try:
            self.data = [money(v) for v in self.raw]
        except ValueError:
            self.data = []
            raise ValueError(gettext("Enter every amount as a number, or leave them all blank.")) from None


class AttachmentWidget:
    """A file input plus a signed hidden value that keeps the file already stored."""

    def __call__(self, field, **kwargs):
        keep = ""
        current = ""
        if field.attachment is not None:
            keep = field.sign(field.attachment.pk)
            current = (f'<div class="small text-muted"><i class="fa fa-paperclip"></i> '
                       f"{escape(field.attachment.filename)}</div>")
        return Markup(f'<input type="hidden" name="{field.name}" value="{escape(keep)}">'
                      f'<input type="file" class="form-control input-sm" id="{field.id}" name="{field.name}" '
                      f'accept=".pdf,.jpg,.jpeg,.png">{current}')


class AttachmentField(Field):
    """ReferenceField(Attachment) as an upload inside a form or a line. A file already stored survives a
    re-shown form through a value signed for this user, so a claimant never uploads twice and nobody can
    point a line at another person's file."""

    widget = AttachmentWidget()
    ALLOWED = frozenset({"pdf", "jpg", "jpeg", "png"})

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("validators", [wtv.Optional()])
        super().__init__(label, **kwargs)
        self.attachment = None

    @staticmethod
    def _serializer():
        from flask import current_app
        from itsdangerous import URLSafeSerializer

        return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="portal.attachment")

    def sign(self, pk) -> str:
        from flask import g

        return self._serializer().dumps([str(pk), getattr(getattr(g, "user", None), "username", "")])

    def _unsign(self, value: str):
        from bson import ObjectId
        from flask import g
        from itsdangerous import BadSignature

        try:
            pk, username = self._serializer().loads(value)
        except (BadSignature, ValueError, TypeError):
            return None
        if username != getattr(getattr(g, "user", None), "username", ""):
            return None
        from models.files import Attachment

        return Attachment.objects(pk=ObjectId(pk)).only("filename", "content_type", "size").first()

    def process_data(self, value):
        self.attachment = value if value is not None and hasattr(value, "filename") else None
        self.data = self.attachment

    def process_formdata(self, valuelist):
        from flask import g

        from portal import uploads

        upload = next((v for v in valuelist if getattr(v, "filename", "")), None)
        keep = next((v for v in valuelist if isinstance(v, str) and v), None)
        self.attachment = self._unsign(keep) if keep else None
        if upload is not None:
            try:
                self.attachment = uploads.store_upload(self.name, upload, self.ALLOWED,
                                                       getattr(getattr(g, "user", None), "username", ""))
            except me.ValidationError as exc:
                raise ValueError(exc.message) from None
        self.data = self.attachment

    def populate_obj(self, obj, name):
        setattr(obj, name, self.attachment)


def _star(field) -> str:
    return ' <strong style="color:red">*</strong>' if field.flags.required else ""


def detached_entry(field: FieldList, index: str = "0"):
    """An entry of a line list made as the list makes its entries, but never added to it: the row template of the
    editor, the line schema of the API. (`append_entry` would fail on a list already at `max_entries`.)"""
    options = {"name": f"{field.name}{field._separator}{index}", "id": f"{field.id}{field._separator}{index}",
               "_meta": field.meta, "translations": field._translations}
    entry = field.meta.bind_field(field._form, field.unbound_field, options)
    entry.process(None)
    return entry


class LineEditorField(FieldList):
    """ListField(EmbeddedDocumentField) as a line editor; saves real EmbeddedDocuments in row order."""

    widget = LineEditorWidget()

    def __init__(self, form_class, document_type, max_entries: int = 200, **kwargs):
        super().__init__(FormField(form_class), min_entries=0, max_entries=max_entries, **kwargs)
        self.document_type = document_type

    def validate(self, form, extra_validators=()):
        self.entries = [e for e in self.entries if not _blank(e.form)]  # an untouched row is no row
        valid = super().validate(form, extra_validators)
        self.errors = [e for e in self.errors if isinstance(e, str)]  # cell errors are shown in their cells
        return valid

    def populate_obj(self, obj, name):
        setattr(obj, name, [self.document_type(**_clean_data(entry.form)) for entry in self.entries
                            if not _blank(entry.form)])


def _blank(form) -> bool:
    """An untouched row: no value, and no typed text either (a row of values that do not convert is answered)."""
    return all(v in (None, "", False, []) for v in _clean_data(form).values()) and not any(
        isinstance(raw, str) and raw.strip() for field in form for raw in getattr(field, "raw_data", None) or [])


def _clean_data(form) -> dict:
    return {k: (None if v == "" else v) for k, v in form.data.items() if k != "csrf_token"}


def _label(field: me.BaseField, name: str):
    return getattr(field, "verbose_name", None) or name.replace("_", " ").capitalize()


def _choice_field(field: me.BaseField, label, required: bool, blank: bool = False) -> SelectField:
    """A select of the field's choices; with a blank option unless it is required (or `blank`: a required cell of a
    line, whose untouched row must read as empty)."""
    options = [(str(k), v) for k, v in ((c if isinstance(c, (list, tuple)) else (c, c)) for c in field.choices)]
    if not required or blank:
        options = [("", ""), *options]
    return SelectField(label, choices=options, validators=[wtv.DataRequired() if required else wtv.Optional()],
                       widget=Select2Widget(), default=field.default, filters=[_none_if_blank])


def form_field_for(field: me.BaseField, name: str, nested: bool = False) -> Field | None:
    """A WTForms field for a mongoengine field FAB cannot convert, or None to let FAB convert it."""
    label = _label(field, name)
    required = bool(field.required)
    req = [wtv.InputRequired() if required else wtv.Optional()]
    if getattr(field, "choices", None) and isinstance(field, me.StringField):
        return _choice_field(field, label, required, blank=nested and field.default is None)
    if isinstance(field, me.ListField) and isinstance(field.field, me.StringField) and field.field.choices:
        return SelectMultipleField(label, choices=[(str(k), v) for k, v in field.field.choices],
                                   validators=[wtv.InputRequired() if required else wtv.Optional()],
                                   widget=Select2ManyWidget())
    if isinstance(field, me.DecimalField):
        return DecimalField(label, places=getattr(field, "precision", 2),
                            validators=[*req, _finite, *_range(field)], widget=BS3TextFieldWidget())
    if isinstance(field, me.DateField):
        return DateField(label, validators=req, widget=DatePickerWidget(), format="%Y-%m-%d")
    if isinstance(field, me.DateTimeField):
        return LocalDateTimeField(label, validators=req, widget=LocalDateTimePickerWidget())
    if isinstance(field, me.ListField) and isinstance(field.field, me.StringField):
        return LinesField(label, validators=[wtv.Optional()],
                          description=lazy_gettext("One item per line."))
    if isinstance(field, me.ListField) and isinstance(field.field, MoneyField):
        return AmountsField(label, item_labels=getattr(field, "item_labels", ()), validators=[wtv.Optional()])
    if isinstance(field, me.ReferenceField) and field.document_type.__name__ == "Attachment":
        return AttachmentField(label)
    if isinstance(field, me.EmbeddedDocumentField):
        return EmbeddedFormField(embedded_form(field.document_type), field.document_type, label=label)
    if isinstance(field, me.ListField) and isinstance(field.field, me.EmbeddedDocumentField):
        return LineEditorField(embedded_form(field.field.document_type), field.field.document_type, label=label)
    if isinstance(field, me.ReferenceField):
        return _reference_field(field, label, required)
    if isinstance(field, me.IntField):
        return _int_field(field, label, req)
    if isinstance(field, me.FloatField):
        return FloatField(label, validators=[*req, _finite, *_range(field)], widget=BS3TextFieldWidget())
    if nested:  # inside a sub-form FAB's converter is not involved: convert the plain types here
        return _plain_field(field, label, req)
    return None


def _reference_field(field: me.ReferenceField, label, required: bool) -> Field:
    """A select of the referenced collection (up to RELATED_SELECT_MAX rows) with a readable blank option;
    a search-as-you-type field for the large collections that have a lookup."""
    document_type = field.document_type
    lookup = lookup_of(document_type)
    if lookup is not None:
        return LookupField(label, lookup=lookup,
                           validators=[wtv.DataRequired()] if required else [wtv.Optional()])
    return QuerySelectField(label, validators=[wtv.DataRequired()] if required else [wtv.Optional()],
                            query_func=lambda: list(document_type.objects.limit(RELATED_SELECT_MAX)),
                            get_pk_func=lambda obj: obj.pk, allow_blank=not required,
                            blank_text=lazy_gettext("(none)"), widget=Select2Widget())


@dataclass(frozen=True)
class Lookup:
    """Search-as-you-type over a large collection: `code_field` matches from its start, `name_field`
    anywhere; rows are offered as their `str()`. `restrict` gives the query of what the signed-in user may
    pick (None: everything)."""

    kind: str
    document: type
    code_field: str | None
    name_field: str
    restrict: Callable[[], me.Q | None] | None = None
    page_size: int = 20

    def _objects(self, query: me.Q):
        allowed = self.restrict() if self.restrict else None
        return self.document.objects(query & allowed if allowed is not None else query)

    def matching(self, text: str):
        text = text.strip()[:64]
        query = me.Q(**{f"{self.name_field}__icontains": text})  # mongoengine escapes the text for the regex
        if self.code_field:
            query |= me.Q(**{f"{self.code_field}__istartswith": text})
        return self._objects(query)

    def get(self, value):
        """The record with this id if the user may pick it, else None."""
        return self._objects(me.Q(pk=ObjectId(value))).first() if ObjectId.is_valid(str(value)) else None

    def search(self, text: str, page: int = 0) -> tuple[list, bool]:
        """One page of matches (one round-trip) and whether more follow."""
        if not text.strip():
            return [], False
        rows = list(self.matching(text).order_by(self.name_field).skip(page * self.page_size)
                    .limit(self.page_size + 1))
        return rows[: self.page_size], len(rows) > self.page_size


LOOKUPS: dict[str, Lookup] = {}


def register_lookup(kind: str, document, code_field: str | None, name_field: str, restrict=None) -> None:
    """Offer `document` through search-as-you-type wherever a form or a search refers to it."""
    LOOKUPS[kind] = Lookup(kind, document, code_field, name_field, restrict)


def lookup_of(document_type) -> Lookup | None:
    return next((lk for lk in LOOKUPS.values() if lk.document is document_type), None)


class LookupWidget:
    """A select holding only the current choice; lookup.js asks the server as the user types."""

    def __call__(self, field, **kwargs):
        from flask import url_for

        current = ""
        if field.data is not None:
            current = f'<option value="{escape(field.data.pk)}" selected>{escape(str(field.data))}</option>'
        return Markup(f'<select class="form-control portal-lookup" id="{escape(field.id)}" name="{escape(field.name)}"'
                      f' data-url="{escape(url_for("LookupView.search", kind=field.lookup.kind))}"'
                      f' data-placeholder="{escape(gettext("Type to search"))}"><option value=""></option>'
                      f"{current}</select>")


class LookupField(Field):
    """ReferenceField to a large collection, chosen by search-as-you-type; the posted value is the id."""

    widget = LookupWidget()

    def __init__(self, label=None, lookup: Lookup | None = None, **kwargs):
        super().__init__(label, **kwargs)
        self.lookup = lookup

    def process_formdata(self, valuelist):
        raw = valuelist[0] if valuelist else ""
        self.data = None
        if not isinstance(raw, str) or raw in ("", "__None"):
            return
        kept = self._stored()
        if kept is not None and str(kept.pk) == raw:
            self.data = kept  # the record's own value stays, even if the user could not pick it today
            return
        self.data = self.lookup.get(raw)
        if self.data is None:
            raise ValueError(gettext("Choose an entry from the list."))

    def _stored(self):
        """The value of this field on the record being edited (top-level fields only), or None."""
        from flask import has_request_context, request

        editing = request.environ.get("portal.editing") if has_request_context() else None
        if editing is None or self.name != self.short_name:
            return None
        value = getattr(editing, self.short_name, None)
        return value if getattr(value, "pk", None) is not None else None

    def populate_obj(self, obj, name):
        setattr(obj, name, self.data)


class LocalDateTimePickerWidget(DateTimePickerWidget):
    """FAB's picker writes `field.data` as it is, naive UTC, which the field reads back as the company's time: every
    save moved the moment 8 hours earlier. It shows what the field reads instead (the company's time, or what was
    typed)."""

    def __call__(self, field, **kwargs):
        from wtforms.widgets import html_params

        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        return Markup(self.data_template % {"text": html_params(type="text", value=field._value(), **kwargs)})


class LocalDateTimeField(Field):
    """A moment entered and shown in the company's time zone, stored as naive UTC like every time here."""

    FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        from portal.settings import to_local

        local = to_local(self.data) if isinstance(self.data, dt.datetime) else None
        return f"{local:%Y-%m-%d %H:%M}" if local else ""

    def process_formdata(self, valuelist):
        text = " ".join(v for v in valuelist if isinstance(v, str)).strip()
        self.data = None
        if not text:
            return
        from portal.settings import from_local

        for pattern in self.FORMATS:
            try:
                moment = dt.datetime.strptime(text[:19], pattern)
            except ValueError:
                continue
            if 1900 <= moment.year <= 2200:
                self.data = from_local(moment)
                return
        raise ValueError(gettext("Enter a date and time like 2026-05-20 14:30."))


def _finite(form, field) -> None:
    """NaN, infinities and absurd magnitudes are not numbers a person means (and break range checks)."""
    data = field.data
    if isinstance(data, float):
        data = Decimal(repr(data))
    if isinstance(data, Decimal) and absurd(data):
        field.errors[:] = []
        raise wtv.StopValidation(gettext("Enter a number."))


def _range(field) -> list:
    low, high = getattr(field, "min_value", None), getattr(field, "max_value", None)
    return [wtv.NumberRange(min=low, max=high)] if low is not None or high is not None else []


_INT64 = wtv.NumberRange(min=-(2**63 - 1), max=2**63 - 1, message=lazy_gettext("This number is out of range."))


def _int_field(field, label, req) -> Field:
    """A whole number within the model's range, and always within what the database can store (a 64-bit integer):
    a number typed past it is an answer next to the field, not an error on save."""
    return IntegerField(label, validators=[*req, _INT64, *_range(field)], widget=BS3TextFieldWidget())


def _plain_field(field, label, req) -> Field:
    if isinstance(field, me.BooleanField):
        return BooleanField(label, validators=[wtv.Optional()])
    if isinstance(field, me.EmailField):
        return StringField(label, validators=[*req, wtv.Email(), wtv.Length(max=field.max_length or 254)])
    if isinstance(field, me.StringField):
        return StringField(label, validators=req + ([wtv.Length(max=field.max_length)] if field.max_length else []))
    return StringField(label, validators=req)


_EMBEDDED_FORMS: dict[type, type] = {}


class _TranslatedForm(Form):
    """A plain sub-form whose built-in messages ("This field is required.") follow the user's language, as the
    page's FlaskForm does."""

    class Meta:
        def get_translations(self, form):
            return wtforms_translations


def embedded_form(document_type) -> type:
    """A WTForms Form class (no CSRF of its own) for an EmbeddedDocument class."""
    if document_type not in _EMBEDDED_FORMS:
        derived = set(getattr(document_type, "derived_fields", ()))  # filled in on save, never typed
        attrs = {name: form_field_for(f, name, nested=True) for name, f in document_type._fields.items()
                 if name not in ("_cls", *derived)}
        _EMBEDDED_FORMS[document_type] = type(f"{document_type.__name__}Form", (_TranslatedForm,), attrs)
    return _EMBEDDED_FORMS[document_type]


def extra_form_fields(document, columns, keep=(), labels=None, descriptions=None) -> dict[str, Field]:
    """add/edit_form_extra_fields for every column FAB 4.8 would render wrong or not at all (except `keep`).

    FAB hands extra fields to the form as they are, so the view's own `label_columns` and `description_columns`
    (the help text under a field) are put into them here, as FAB's converter does for the fields it makes."""
    labels, descriptions = labels or {}, descriptions or {}
    out = {}
    for name in columns:
        field = document._fields.get(name)
        if field is None or name in keep:
            continue
        converted = form_field_for(field, name)
        if converted is None:
            continue
        if name in labels and "label" in converted.kwargs:
            converted.kwargs["label"] = labels[name]
        elif name in labels:
            converted.args = (labels[name], *converted.args[1:])
        if name in descriptions:
            converted.kwargs["description"] = descriptions[name]
        out[name] = converted
    if "version" in document._fields:
        out["version"] = HiddenField(validators=[wtv.Optional()], filters=[_int_or_none])
    return out


def display_formatters(document) -> dict:
    """Formatters for list and show pages: translated labels for choices, nothing for an empty value."""
    return {name: formatter_for(field) for name, field in document._fields.items()}


def formatter_for(field):
    if isinstance(field, me.StringField) and field.choices:
        return lambda value, options=field.choices: choice_label(options, value)
    if isinstance(field, me.ListField) and isinstance(field.field, me.StringField) and field.field.choices:
        return lambda values, options=field.field.choices: ", ".join(choice_label(options, v) for v in values or [])
    if isinstance(field, me.BooleanField):
        return _yes_no
    if isinstance(field, MoneyField):
        return format_money
    if isinstance(field, me.DateTimeField) and not isinstance(field, me.DateField):
        return format_local
    if isinstance(field, me.ListField) and isinstance(field.field, me.EmbeddedDocumentField):
        return lambda rows, doc=field.field.document_type: lines_table(doc, rows)
    if isinstance(field, me.ListField) and isinstance(field.field, MoneyField):
        return lambda values: " / ".join(format_money(v) for v in values or [])
    if isinstance(field, me.ListField):
        return _joined
    return _blank_if_none


def format_local(value) -> str:
    """A stored (UTC) moment in the company's time zone, to the minute."""
    from portal.settings import to_local

    return f"{to_local(value):%Y-%m-%d %H:%M}" if isinstance(value, dt.datetime) else _blank_if_none(value)


def format_money(value) -> str:
    """¥1,234.50 style, with thousands separators; blank for no value."""
    return "" if value is None else f"{money(value):,.2f}"


def lines_table(document_type, rows) -> Markup:
    """Embedded lines as a read-only table with translated headers and formatted cells."""
    if not rows:
        return Markup("")
    fields = [(n, f) for n, f in document_type._fields.items() if n != "_cls"]
    head = "".join(f"<th>{escape(_label(f, n))}</th>" for n, f in fields)
    body = "".join("<tr>" + "".join(f"<td>{escape(formatter_for(f)(getattr(row, n, None)))}</td>" for n, f in fields)
                   + "</tr>" for row in rows)
    return Markup(f'<table class="table table-condensed table-bordered portal-lines-view"><thead><tr>{head}</tr>'
                  f"</thead><tbody>{body}</tbody></table>")


def _blank_if_none(value):
    return "" if value is None else value


def _yes_no(value) -> str:
    return "" if value is None else str(lazy_gettext("Yes") if value else lazy_gettext("No"))


def _joined(values) -> str:
    return ", ".join(str(v) for v in values or [] if v is not None)


def search_form_fields(datamodel, columns, labels) -> dict[str, Field]:
    """Search-form inputs for the columns FAB's converter cannot render (lists, decimals, dates, choices)."""
    out = {}
    for col in columns:
        field = datamodel.obj._fields.get(col)
        label = labels.get(col) or _label(field, col) if field is not None else col
        if isinstance(field, me.StringField) and field.choices:
            out[col] = _choice_field(field, label, required=False)
        elif datamodel.is_choice_list(col):
            out[col] = _choice_field(field.field, label, required=False)
        elif any(test(col) for test in (datamodel.is_lookup_relation, datamodel.is_string_list,
                                        datamodel.is_numeric, datamodel.is_date)):
            out[col] = StringField(label, widget=BS3TextFieldWidget())
    return out


def _none_if_blank(value):
    return None if value == "" else value


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def apply_field_errors(form, errors: dict[str, str]) -> list[str]:
    """Put each error next to its form field (by WTForms id); return those no field could take."""
    unplaced = []
    for key, message in errors.items():
        target = _find_field(form, key)
        if target is None:
            unplaced.append(message)
        else:
            target.errors = [*list(target.errors or []), message]
    return unplaced


def _find_field(form, key: str):
    parts = key.split("-")
    field = form._fields.get(parts[0]) if hasattr(form, "_fields") else None
    for part in parts[1:]:
        if field is None:
            return None
        if isinstance(field, FieldList):
            field = next((e for e in field.entries if e.name.endswith(f"-{part}")), None)
        elif isinstance(field, FormField):
            field = field.form._fields.get(part)
        else:
            return field
    return field
