"""The JSON API (issue 9 item 5): every registered CRUD view is a resource of /api/v1 by declaration.

A view's `api_name` (default: its collection's name with hyphens) names the resource and `api_enabled = False`
keeps it out; the operations offered are the view's own (`base_permissions`), each guarded by the same permission
as its page. Nothing here has rules of its own, so the API cannot drift from the forms:

* reading goes through the view's row filters (so the user's scope), its `get_item` and `prepare_rows`, and shows
  the columns of its record page (`show_columns`): masked contacts stay masked, a bonus stays behind `bonus_shown`;
* filters are typed values of the view's `search_columns` and sorting is on its `order_columns` only; a value is
  converted for its field or refused, never a dict or an operator (SECURITY.md F10);
* writes build the view's own add or edit form from the JSON body (csrf off: this path is authenticated by a
  bearer token only) and save through `PortalCRUDMixin.save_form`, the forms' write path: the same validators,
  hooks, scope placement, version check and audit trail.

JSON values: ids as 24-hex strings, money and decimals as strings ("1234.50"; numbers are accepted on input),
dates `YYYY-MM-DD`, times ISO 8601 in UTC (`...Z`; input without an offset is the company's time zone),
embedded records as objects, line lists as arrays of objects, attachments as their ids. The routes are in
views/api.py, the OpenAPI document in portal/openapi.py.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import mongoengine as me
from bson import DBRef, ObjectId
from flask import current_app, request
from flask_appbuilder import ModelView
from flask_appbuilder.fields import QuerySelectField, QuerySelectMultipleField
from flask_babel import gettext
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    FieldList,
    FileField,
    FloatField,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
)

from models.common import absurd
from portal import scope
from portal.compat import (
    AmountsField,
    AttachmentField,
    LineEditorField,
    LinesField,
    LocalDateTimeField,
    LookupField,
    detached_entry,
)
from portal.modelview import PortalCRUDMixin
from portal.settings import from_local, to_local

PREFIX = "/api/v1"
OPERATIONS = ("list", "show", "add", "edit", "delete")
RESERVED = frozenset({"security", "openapi.json", "menu", "_openapi"})  # FAB's and our own paths under /api/v1
BODY_MAX_BYTES = 1024 * 1024  # a JSON record; files are uploaded on the portal's pages
PAGE_MAX = 1_000_000
PAGE_SIZE_DEFAULT = 25
FILTER_VALUE_MAX = 1000
INT_MAX = 2**63 - 1  # MongoDB's 64-bit integers
ID_PATTERN = "^[0-9a-fA-F]{24}$"
DECIMAL_PATTERN = r"^-?[0-9]{1,13}(\.[0-9]{1,10})?$"
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_ID = re.compile(ID_PATTERN)
_INT = re.compile(r"^-?[0-9]{1,18}$")
_DIGITS = re.compile(r"^[0-9]{1,7}$")
_MONGO_OPS = {"": "", "contains": "icontains", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}


class ApiError(Exception):
    """A refusal with its HTTP status, a message in the user's language and errors by field."""

    def __init__(self, status: int, message: str, errors: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors, self.headers = status, message, errors or {}, headers or {}


def invalid(errors: dict[str, list[str]]) -> ApiError:
    return ApiError(400, gettext("Please correct the errors below."), errors)


# ---- the resources -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resource:
    """One view offered as /api/v1/<name>/ with the operations the view itself offers."""

    name: str
    view: Any
    operations: frozenset[str]

    @property
    def document(self):
        return self.view.datamodel.obj

    @property
    def versioned(self) -> bool:
        return "version" in self.document._fields

    def permission(self, operation: str) -> str:
        mapped = (getattr(self.view, "method_permission_name", None) or {}).get(operation, operation)
        return f"can_{mapped}"

    def methods(self, one: bool) -> list[str]:
        """The HTTP methods of the collection (`one` False) or of a record URL, for an Allow header."""
        wanted = (("show", "GET"), ("edit", "PUT"), ("edit", "PATCH"), ("delete", "DELETE")) if one else (
            ("list", "GET"), ("add", "POST"))
        return [method for operation, method in wanted if operation in self.operations]


def api_name_of(view) -> str:
    return view.api_name or view.datamodel.obj._get_collection_name().replace("_", "-")


def build_resources(baseviews) -> dict[str, Resource]:
    """The resource of every registered CRUD view with `api_enabled`; two views on one name fail at start."""
    found: dict[str, Resource] = {}
    for view in baseviews:
        if not (isinstance(view, PortalCRUDMixin) and isinstance(view, ModelView)) or not view.api_enabled:
            continue  # master-detail pages and FAB's own views are not resources
        name = api_name_of(view)
        if not _NAME.match(name) or name in RESERVED:
            raise TypeError(f"{type(view).__name__}: {name!r} cannot be an API name")
        if name in found:
            raise TypeError(f"{type(found[name].view).__name__} and {type(view).__name__} are both /api/v1/{name}/: "
                            "give one of them an api_name")
        resource = Resource(name, view, frozenset())
        offered = frozenset(op for op in OPERATIONS if resource.permission(op) in (view.base_permissions or ()))
        found[name] = Resource(name, view, offered)
    return found


_RESOURCES: dict[int, tuple[int, dict[str, Resource]]] = {}


def resources() -> dict[str, Resource]:
    """The resources of the current app, rebuilt when a view was added (tests add theirs after start)."""
    appbuilder = current_app.appbuilder
    count = len(appbuilder.baseviews)
    cached = _RESOURCES.get(id(appbuilder))
    if cached is None or cached[0] != count:
        cached = _RESOURCES[id(appbuilder)] = (count, build_resources(appbuilder.baseviews))
    return cached[1]


# ---- reading ---------------------------------------------------------------------------------------------------
def plain(value, field: me.BaseField | None = None):
    """A stored value as JSON: references as their ids (never dereferenced), decimals as strings, ISO dates."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else None
    if isinstance(value, dt.datetime):
        if isinstance(field, me.DateField):
            return value.date().isoformat()
        moment = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
        return moment.isoformat() + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, DBRef):
        return str(value.id)
    if isinstance(value, me.Document):
        return str(value.pk)
    if isinstance(value, me.EmbeddedDocument):
        return {name: plain(value._data.get(name), sub) for name, sub in value._fields.items() if name != "_cls"}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if k != "_cls"}
    if isinstance(value, (list, tuple)):
        inner = getattr(field, "field", None)
        return [plain(v, inner) for v in value]
    return str(value)


def output_columns(view) -> list[str]:
    """What a record shows through the API: its page's columns, and its version for the next update."""
    columns = list(view.show_columns or view.list_columns or [])
    if "version" in view.datamodel.obj._fields and "version" not in columns:
        columns.append("version")
    return [c for c in columns if c != "id"]


def serialize(view, item) -> dict:
    """One record as its page shows it to this user (after `prepare_rows`); reference fields are read from the
    stored ids, so serialising costs no query."""
    fields = item._fields
    out: dict[str, Any] = {"id": str(item.pk)}
    for column in output_columns(view):
        if column in fields:
            out[column] = plain(item._data.get(column), fields[column])
        else:  # a figure the view derives (prepare_rows) or a property of the Document
            value = getattr(item, column, None)
            out[column] = None if callable(value) and not isinstance(value, me.Document) else plain(value)
    return out


def get_record(resource: Resource, pk: str):
    """The record as its page loads it (the view's scope, references, prepare_rows), or a 404."""
    item = resource.view.get_item(pk) if _ID.match(pk or "") else None
    if item is None:
        raise ApiError(404, gettext("This page or record does not exist, or is outside your scope."))
    return item


@dataclass
class ListQuery:
    lookups: dict[str, Any]
    order: tuple[str, str] | None
    page: int
    page_size: int


def filter_kind(field: me.BaseField) -> str | None:
    """How a searchable field is filtered through the API (None: it is not)."""
    if isinstance(field, me.ListField):
        inner = field.field
        if isinstance(inner, me.ReferenceField):
            return "id"
        if isinstance(inner, me.StringField):
            return "choice" if inner.choices else "string"
        return None
    if isinstance(field, (me.ReferenceField, me.ObjectIdField)):
        return "id"
    if isinstance(field, me.BooleanField):
        return "bool"
    if isinstance(field, me.DateField):
        return "date"
    if isinstance(field, me.DateTimeField):
        return "datetime"
    if isinstance(field, me.IntField):
        return "int"
    if isinstance(field, (me.DecimalField, me.FloatField)):
        return "number"
    if isinstance(field, me.StringField):
        return "choice" if field.choices else "string"
    return None


_KIND_OPS = {"string": ("", "contains"), "choice": ("",), "id": ("",), "bool": ("",),
             "int": ("", "gt", "gte", "lt", "lte"), "number": ("", "gt", "gte", "lt", "lte"),
             "date": ("", "gt", "gte", "lt", "lte"), "datetime": ("", "gt", "gte", "lt", "lte")}


def filter_params(view) -> dict[str, tuple[str, str, str, me.BaseField]]:
    """query parameter -> (column, operator, kind, field) for the view's search columns."""
    fields = view.datamodel.obj._fields
    out = {}
    for column in view.search_columns or []:
        field = fields.get(column)
        kind = filter_kind(field) if field is not None else None
        if kind is None:
            continue
        for op in _KIND_OPS[kind]:
            out[f"{column}__{op}" if op else column] = (column, op, kind, field)
    return out


def choice_keys(field) -> list:
    return [c[0] if isinstance(c, (list, tuple)) else c for c in field.choices or ()]


def typed_filter(kind: str, field: me.BaseField, text: str):
    """A query value converted for its field; ValueError (with a message for the user) when it cannot be."""
    if len(text) > FILTER_VALUE_MAX:
        raise ValueError(gettext("The text is too long."))
    if kind == "string":
        return text
    if kind == "choice":
        choices = choice_keys(getattr(field, "field", None) or field)
        if text not in choices:
            raise ValueError(gettext("Not a valid choice."))
        return text
    if kind == "id":
        if not _ID.match(text):
            raise ValueError(gettext("Not a valid id."))
        return ObjectId(text)
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise ValueError(gettext("Enter true or false."))
        return lowered in ("true", "1")
    if kind == "int":
        if not _INT.match(text.strip()):
            raise ValueError(gettext("Enter a whole number."))
        return int(text)
    if kind == "number":
        number = _decimal(text)
        return float(number) if isinstance(field, me.FloatField) else number
    if kind == "date":
        try:
            return dt.date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(gettext("Enter a date like 2026-05-20.")) from None
    return _utc(text)


def _decimal(text: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(gettext("Enter a number.")) from None
    if absurd(number):
        raise ValueError(gettext("Enter a number."))
    return number


def _utc(text: str) -> dt.datetime:
    """An ISO 8601 moment as the naive UTC the database keeps; without an offset it is the company's time."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
        if moment.tzinfo is not None:
            return moment.astimezone(dt.UTC).replace(tzinfo=None)
        return from_local(moment)
    except (ValueError, OverflowError):
        raise ValueError(gettext("Enter a date and time like 2026-05-20T14:30:00+08:00.")) from None


def parse_list_args(view, args: MultiDict) -> ListQuery:
    """Paging, sorting and filters of a list call; every problem is a 400 naming its parameter."""
    errors: dict[str, list[str]] = {}
    allowed = filter_params(view)
    lookups: dict[str, Any] = {}
    for key in args:
        values = args.getlist(key)
        if key in ("page", "page_size", "sort", "order"):
            if len(values) != 1:
                errors[key] = [gettext("Give one value.")]
            continue
        spec = allowed.get(key)
        if spec is None:
            errors[key] = [gettext("You cannot filter on this.")]
            continue
        if len(values) != 1:
            errors[key] = [gettext("Give one value.")]
            continue
        column, op, kind, field = spec
        try:
            value = typed_filter(kind, field, values[0])
        except ValueError as exc:
            errors[key] = [str(exc)]
            continue
        lookups[f"{column}__{_MONGO_OPS[op]}" if op else column] = value
    page, page_size = _number(args, "page", 1, errors), _number(args, "page_size", PAGE_SIZE_DEFAULT, errors)
    if page is not None and not 1 <= page <= PAGE_MAX:
        errors["page"] = [gettext("Enter a page from 1 to %(most)s.", most=PAGE_MAX)]
    if page_size is not None and page_size < 1:
        errors["page_size"] = [gettext("Enter at least 1.")]
    order = None
    sort = args.get("sort")
    if sort is not None:
        direction = args.get("order", "asc")
        if sort not in (view.order_columns or []):
            errors["sort"] = [gettext("You cannot sort on this.")]
        if direction not in ("asc", "desc"):
            errors["order"] = [gettext("Enter asc or desc.")]
        order = (sort, direction)
    elif "order" in args:
        errors["order"] = [gettext("Name the column to sort on (sort).")]
    if errors:
        raise ApiError(400, gettext("Check the query parameters."), errors)
    cap = current_app.config.get("PAGE_SIZE_MAX", 100)
    return ListQuery(lookups, order or (tuple(view.base_order) if view.base_order else None), page or 1,
                     min(page_size or PAGE_SIZE_DEFAULT, cap))


def _number(args: MultiDict, name: str, default: int, errors: dict) -> int | None:
    text = args.get(name)
    if text is None:
        return default
    if not _DIGITS.match(text):
        errors[name] = [gettext("Enter a whole number.")]
        return None
    return int(text)


def list_records(resource: Resource, args: MultiDict) -> dict:
    """One page of the records the user may see, as their list page reads them: count and page, one query per
    reference column of the list, the view's fixed summary (prepare_rows); the same whatever the volume."""
    view = resource.view
    query = parse_list_args(view, args)
    objects = view._base_filters.apply_all(view.datamodel.obj.objects)  # the row filters: the user's scope
    if query.lookups:
        objects = objects.filter(**query.lookups)
    count = objects.count()
    if query.order:
        column, direction = query.order
        sign = "-" if direction == "desc" else "+"
        objects = objects.order_by(f"{sign}{column}", f"{sign}id")  # the id keeps pages apart among equal values
    rows = list(objects.skip((query.page - 1) * query.page_size).limit(query.page_size))
    view.datamodel.prefetch(rows, view.list_columns)
    view.prepare_rows(rows)
    return {"count": count, "page": query.page, "page_size": query.page_size,
            "items": [serialize(view, row) for row in rows]}


# ---- writing: the view's own forms -----------------------------------------------------------------------------
def form_kind(field) -> str:
    """What JSON a form field takes, and how it is posted."""
    if isinstance(field, (AttachmentField, FileField)):
        return "file"
    if isinstance(field, LineEditorField):
        return "lines"
    if isinstance(field, FormField):
        return "object"
    if isinstance(field, LinesField):
        return "text_list"
    if isinstance(field, AmountsField):
        return "amounts"
    if isinstance(field, LookupField):
        return "ref"
    if isinstance(field, QuerySelectMultipleField):
        return "refs"
    if isinstance(field, QuerySelectField):
        return "ref"
    if isinstance(field, SelectMultipleField):
        return "choices"
    if isinstance(field, SelectField):
        return "choice"
    if isinstance(field, BooleanField):
        return "bool"
    if isinstance(field, IntegerField) or (isinstance(field, HiddenField) and field.short_name == "version"):
        return "int"
    if isinstance(field, (DecimalField, FloatField)):
        return "decimal"
    if isinstance(field, LocalDateTimeField):
        return "datetime"
    if isinstance(field, DateField):
        return "date"
    if isinstance(field, DateTimeField):
        return "utc_datetime"
    if isinstance(field, FieldList):
        return "unsupported"
    return "string"


def sub_fields(form) -> dict:
    return {f.short_name: f for f in form}


def _error(errors: dict, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


class Conversion:
    """JSON values -> the form data a browser would post (WTForms names: `lines-0-amount`)."""

    def __init__(self, held_files: dict[str, set[str]] | None = None):
        self.data = MultiDict()
        self.errors: dict[str, list[str]] = {}
        self.held_files = held_files or {}  # field name -> attachment ids the record holds there

    def fields(self, fields: dict, body: dict, prefix: str = "", ignored: frozenset[str] = frozenset()) -> None:
        for key, value in body.items():
            field = fields.get(key)
            if field is None:
                if key not in ignored:
                    _error(self.errors, f"{prefix}{key}", gettext("Unknown field."))
                continue
            self.value(field, value, f"{prefix}{key}")

    def value(self, field, value, name: str) -> None:
        if value is None:
            return
        kind = form_kind(field)
        add = self.data.add
        if kind == "string":
            if not isinstance(value, str):
                return _error(self.errors, name, gettext("Enter text."))
            add(name, value)
        elif kind == "choice":
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                return _error(self.errors, name, gettext("Not a valid choice."))
            add(name, str(value))
        elif kind == "choices":
            if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, (str, int)) for v in value):
                return _error(self.errors, name, gettext("Give a list of choices."))
            for v in value:
                add(name, str(v))
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, str)) or (
                    isinstance(value, int) and abs(value) > INT_MAX) or (
                    isinstance(value, str) and not _INT.match(value.strip())):
                return _error(self.errors, name, gettext("Enter a whole number."))
            add(name, str(value))
        elif kind == "decimal":
            text = _decimal_text(value)
            if text is None:
                return _error(self.errors, name, gettext("Enter a number."))
            add(name, text)
        elif kind == "bool":
            if not isinstance(value, bool):
                return _error(self.errors, name, gettext("Enter true or false."))
            if value:
                add(name, "y")
        elif kind in ("date", "datetime", "utc_datetime"):
            if not isinstance(value, str):
                return _error(self.errors, name, gettext("Enter a date like 2026-05-20.") if kind == "date" else
                              gettext("Enter a date and time like 2026-05-20T14:30:00+08:00."))
            if kind == "date":
                add(name, value)
                return None
            try:
                moment = _utc(value)
                local = to_local(moment)
            except ValueError as exc:
                return _error(self.errors, name, str(exc))
            except OverflowError:  # a moment near the end of the calendar, fine in UTC, past it in Beijing
                return _error(self.errors, name, gettext("Enter a date and time like 2026-05-20T14:30:00+08:00."))
            add(name, f"{local:%Y-%m-%d %H:%M:%S}" if kind == "datetime" else f"{moment:%Y-%m-%d %H:%M:%S}")
        elif kind == "text_list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return _error(self.errors, name, gettext("Give a list of texts."))
            add(name, "\n".join(" ".join(v.splitlines()) for v in value))
        elif kind == "amounts":
            texts = [None if v is None else _decimal_text(v) for v in value] if isinstance(value, list) else None
            if texts is None or any(t is None and v is not None for t, v in zip(texts, value, strict=True)) or (
                    len(value) > len(field.item_labels)):
                return _error(self.errors, name, gettext("Give at most %(count)s amounts.",
                                                         count=len(field.item_labels)))
            for text in texts:
                add(name, text or "")
        elif kind in ("ref", "refs"):
            values = value if kind == "refs" and isinstance(value, list) else [value] if kind == "ref" else None
            if values is None or not all(isinstance(v, str) and _ID.match(v) for v in values):
                return _error(self.errors, name, gettext("Not a valid id."))
            for v in values:
                add(name, v.lower())
        elif kind == "object":
            if not isinstance(value, dict):
                return _error(self.errors, name, gettext("Give an object."))
            self.fields(sub_fields(field.form), value, f"{name}-")
        elif kind == "lines":
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                return _error(self.errors, name, gettext("Give a list of lines."))
            if len(value) > (field.max_entries or 200):
                return _error(self.errors, name, gettext("At most %(count)s lines.", count=field.max_entries or 200))
            template = sub_fields(detached_entry(field).form)
            for index, line in enumerate(value):
                self.fields(template, line, f"{name}-{index}-")
        elif kind == "file":
            base = re.sub(r"-\d+-", "-", name)  # a line's file: any line of that list may hand it on
            if not isinstance(value, str) or value.lower() not in self.held_files.get(base, set()) or not isinstance(
                    field, AttachmentField):
                return _error(self.errors, name, gettext("Files are uploaded on the record's page; here you can "
                                                         "only keep one the record already holds (its id)."))
            add(name, field.sign(value.lower()))
        else:
            _error(self.errors, name, gettext("This field cannot be written through the API."))
        return None


def _decimal_text(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    return str(value)


def posted(form) -> MultiDict:
    """What a browser would post for `form` as it stands (an edit form read from its record, a prefilled blank
    one): the base a partial update or a create starts from."""
    data = MultiDict()
    for field in form:
        _post(field, data)
    return data


def _post(field, data: MultiDict) -> None:
    kind, value, name = form_kind(field), field.data, field.name
    if kind == "object":
        for sub in field.form:
            _post(sub, data)
    elif kind == "lines":
        for entry in field.entries:
            for sub in entry.form:
                _post(sub, data)
    elif kind == "file":
        attachment = getattr(field, "attachment", None)
        if attachment is not None and isinstance(field, AttachmentField):
            data.add(name, field.sign(attachment.pk))
    elif value is None or kind == "unsupported":
        return
    elif kind == "bool":
        if value:
            data.add(name, "y")
    elif kind in ("choices",):
        for v in value or []:
            data.add(name, str(v))
    elif kind == "refs":
        for v in value or []:
            data.add(name, str(v.pk))
    elif kind == "ref":
        if getattr(value, "pk", None) is not None:
            data.add(name, str(value.pk))
    elif kind == "decimal":
        data.add(name, format(value, "f") if isinstance(value, Decimal) else repr(value))
    elif kind == "date":
        data.add(name, (value.date() if isinstance(value, dt.datetime) else value).isoformat())
    elif kind == "datetime":
        data.add(name, f"{to_local(value):%Y-%m-%d %H:%M:%S}")
    elif kind == "utc_datetime":
        data.add(name, f"{value:%Y-%m-%d %H:%M:%S}")
    elif kind == "text_list":
        data.add(name, "\n".join(value))
    elif kind == "amounts":
        for v in value:
            data.add(name, field._format(v))
    else:
        data.add(name, str(value))


def _without(data: MultiDict, name: str) -> None:
    for key in [k for k in data if k == name or k.startswith(f"{name}-")]:
        data.poplist(key)


def held_files(form) -> dict[str, set[str]]:
    """Attachment ids a record holds, by form field (a line list's field without its index)."""
    held: dict[str, set[str]] = {}

    def walk(fields, strip_index: bool):
        for field in fields:
            kind = form_kind(field)
            if kind == "file" and getattr(field, "attachment", None) is not None:
                name = re.sub(r"-\d+-", "-", field.name) if strip_index else field.name
                held.setdefault(name, set()).add(str(field.attachment.pk))
            elif kind == "object":
                walk(field.form, strip_index)
            elif kind == "lines":
                for entry in field.entries:
                    walk(entry.form, True)

    walk(form, False)
    return held


def form_errors(form) -> dict[str, list[str]]:
    """A validated form's errors by field name (a line's cell: `lines-0-amount`)."""
    out: dict[str, list[str]] = {}

    def walk(fields):
        for field in fields:
            if isinstance(field, FieldList):
                own = [str(e) for e in field.errors if isinstance(e, str)]
                if own:
                    out[field.name] = own
                for entry in field.entries:
                    walk(entry.form if isinstance(entry, FormField) else [entry])
            elif isinstance(field, FormField):
                walk(field.form)
            elif field.errors:
                out[field.name] = [str(e) for e in field.errors]

    walk(form)
    return out


def new_form(form_class, formdata=None, obj=None):
    return form_class(formdata=formdata, obj=obj, meta={"csrf": False})


def _body_keys(body: dict, form) -> dict:
    """The body without the known read-only columns (a record read, changed and sent back is fine)."""
    return {k: v for k, v in body.items() if k in form._fields}


def create(resource: Resource, body: dict):
    """Create a record from a JSON object through the view's add form: 400 with errors by field, or the item."""
    view = resource.view
    blank = new_form(view.add_form)
    view.prefill_add(blank)  # the defaults the add page offers (the user as owner, today)
    readonly = frozenset(output_columns(view)) | {"id"}
    conversion = Conversion()
    conversion.fields(sub_fields(blank), body, ignored=readonly)
    if conversion.errors:
        raise invalid(conversion.errors)
    data = posted(blank)
    for key in _body_keys(body, blank):
        _without(data, key)
    data.update(conversion.data)
    form = new_form(view.add_form, formdata=data)
    if not form.validate():
        raise invalid(form_errors(form))
    view.process_form(form, True)
    item = view.datamodel.obj()
    _save(view, form, item, True)
    return item


def update(resource: Resource, item, body: dict, partial: bool):
    """Change a record through the view's edit form. PUT (`partial` False) replaces every field of the form,
    PATCH the fields it names (a line list or an embedded record as a whole). The version read is required."""
    view = resource.view
    request.environ["portal.editing"] = item  # a lookup keeps the record's own value, as on the edit page
    current = new_form(view.edit_form, obj=item)
    view.prefill_form(current, item.pk)
    if resource.versioned:
        _check_version(item, body)
    readonly = frozenset(output_columns(view)) | {"id"}
    conversion = Conversion(held_files(current))
    conversion.fields(sub_fields(current), body, ignored=readonly)
    if conversion.errors:
        raise invalid(conversion.errors)
    if partial:
        data = posted(current)
        for key in _body_keys(body, current):
            _without(data, key)
        data.update(conversion.data)
    else:
        data = conversion.data
    form = new_form(view.edit_form, formdata=data)
    form._id = item.pk
    if not form.validate():
        raise invalid(form_errors(form))
    view.process_form(form, False)
    if partial:  # only what the call names is written: untouched values stay exactly as stored
        touched = set(_body_keys(body, form)) | {"version"}
        form.populate_obj = lambda obj: [f.populate_obj(obj, n) for n, f in form._fields.items() if n in touched]
    _save(view, form, item, False)
    return item


def _check_version(item, body: dict) -> None:
    version = body.get("version")
    if version is None:
        raise invalid({"version": [gettext("Send the version you read: it guards against overwriting someone "
                                           "else's change.")]})
    if isinstance(version, bool) or not isinstance(version, int):
        raise invalid({"version": [gettext("Enter a whole number.")]})
    if version != (item.version or 0):
        raise _stale()


def _stale() -> ApiError:
    return ApiError(409, gettext("Someone else changed this record after you opened it. Reload it and apply your "
                                 "changes again."))


def _save(view, form, item, is_new: bool) -> None:
    errors = view.save_form(form, item, is_new)
    if errors:
        if getattr(view.datamodel, "stale", False):
            raise _stale()
        raise invalid({key: [message] for key, message in errors.items()})


def delete(resource: Resource, pk: str) -> None:
    """Delete through the view's hooks: a rule that refuses is 422, other records still referring to it 409."""
    from portal.approvals import Refused

    view = resource.view
    item = view.datamodel.get(pk, view._base_filters) if _ID.match(pk or "") else None  # as FAB's delete reads it
    if item is None:
        raise ApiError(404, gettext("This page or record does not exist, or is outside your scope."))
    try:
        view.pre_delete(item)
    except (me.ValidationError, scope.ScopeDenied, Refused, ValueError) as exc:
        raise ApiError(422, _message(exc)) from None
    if not view.datamodel.delete(item):
        raise ApiError(409, str(view.datamodel.message[0]))
    view.post_delete(item)


def _message(exc: Exception) -> str:
    message = getattr(exc, "message", None)
    return str(message) if message else str(exc)
