"""Export of any list view to CSV and XLSX (issue 9 item 3): exactly the rows the list shows (its filters, its
allow-listed order, its row filters and so the user's scope, every page), in the columns a view declares
(`export_columns`, default its list columns), headers in the user's language, values as a person reads them.

The rows are read through one cursor in batches of `export_batch_size`; each batch resolves its reference columns
with one query per column and runs the view's `prepare_rows` (masked contacts, the bonus a reader may see), so an
export costs a fixed number of round-trips per batch whatever the volume. A list longer than EXPORT_MAX_ROWS is
refused before anything is written. The file is built in memory for this one response and never stored; every
cell goes through `sheets.safe_cell`, so no text is read as a formula. Views of personal or confidential data
(`export_audited`) leave one audit entry per export naming the format, the row count, the filters and the order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal

import mongoengine as me
from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder.urltools import get_order_args
from flask_babel import force_locale, gettext
from markupsafe import Markup

from models.audit import AuditEntry
from models.common import MoneyField, choice_label, money
from portal import audit, sheets
from portal.compat import resolve_references

FORMATS = {"csv": "csv", "xlsx": "xlsx"}
LINE_SEPARATOR = "\n"  # embedded lines: one per line of the cell
EXPORT_RECORD_ID = "*"  # an export concerns a whole list, never one record's history


class TooManyRows(Exception):
    """The list holds more rows than one export may."""


# ---- columns ----------------------------------------------------------------------------------------------------
def columns_of(view) -> list[str]:
    """The columns `view` exports: its `export_columns`, else its list columns.

    Only columns its list or record page shows are allowed (field scope: an export never reveals a field the
    screens keep hidden, such as an award's bonus behind `bonus_shown`); anything else fails at start-up.
    """
    declared = type(view).export_columns
    columns = list(declared if declared is not None else view.list_columns or [])
    shown = set(view.list_columns or []) | set(view.show_columns or [])
    hidden = [c for c in columns if c not in shown]
    if hidden:
        raise TypeError(f"{type(view).__name__}.export_columns {hidden} are on neither its list nor its show page")
    return columns


def headers(view, columns: list[str]) -> list[str]:
    """The column labels in the user's language."""
    return [str(view.label_columns.get(c) or c) for c in columns]


# ---- values as a person reads them -------------------------------------------------------------------------------
def plain(value):
    """A value without a known field: numbers, dates and booleans typed, the rest readable text."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, Markup):
        return value.striptags()
    if isinstance(value, dt.datetime):
        return local(value)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, me.EmbeddedDocument):
        return line_text(type(value), value)
    if isinstance(value, list | tuple):
        return ", ".join(text(plain(v)) for v in value if v is not None)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {text(plain(v))}" for k, v in value.items() if v not in (None, ""))
    return str(value)


def local(value: dt.datetime) -> dt.datetime:
    """A stored (naive UTC) moment as the company's wall-clock time; spreadsheets hold no time zones."""
    from portal.settings import to_local

    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return to_local(value).replace(tzinfo=None)


def text(value) -> str:
    """A cell value as text, for values joined into one cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def cell(field, value):
    """The value of a Document field as a spreadsheet cell: choice labels (translated), references as their
    names, money as a number of yuan, dates as dates, booleans, lists and embedded lines joined readably."""
    if value is None:
        return None
    if isinstance(field, me.StringField) and field.choices:
        return choice_label(field.choices, value)
    if isinstance(field, me.ListField):
        inner = field.field
        if isinstance(inner, me.StringField) and inner.choices:
            return ", ".join(choice_label(inner.choices, v) for v in value or [])
        if isinstance(inner, MoneyField):
            return " / ".join(f"{money(v):.2f}" for v in value or [] if v is not None)
        if isinstance(inner, me.EmbeddedDocumentField):
            return LINE_SEPARATOR.join(line_text(inner.document_type, row) for row in value or [])
        return ", ".join(text(plain(v)) for v in value or [] if v is not None)
    if isinstance(field, me.EmbeddedDocumentField):
        return line_text(field.document_type, value)
    if isinstance(field, MoneyField):
        return money(value)
    return plain(value)


def line_text(document_type, row) -> str:
    """One embedded line as "Label: value, Label: value" (empty values left out)."""
    parts = []
    for name, field in document_type._fields.items():
        if name == "_cls":
            continue
        value = text(cell(field, row._data.get(name) if isinstance(field, me.ReferenceField) else getattr(row, name)))
        if value:
            parts.append(f"{field.verbose_name or name.replace('_', ' ').capitalize()}: {value}")
    return ", ".join(parts)


def row_cells(view, item, columns: list[str]) -> list:
    """One record as a row of cells. A column that is no field (a derived figure, a flag) is read as the list
    reads it; where the view formats it (a status key, a date inside a dict) its formatter gives the words."""
    fields = view.datamodel.obj._fields
    values = view.datamodel.get_values_item(item, columns)
    out = []
    for column, value in zip(columns, values, strict=True):
        field = fields.get(column)
        if field is not None:
            out.append(cell(field, value))
            continue
        formatter = (view.formatters_columns or {}).get(column)
        typed = value is None or isinstance(value, bool | int | float | Decimal | dt.date | Markup)
        out.append(plain(value if typed or formatter is None else formatter(value)))
    return out


# ---- reading the list's rows ---------------------------------------------------------------------------------------
def selection(view):
    """The list's query: its filters from the URL, its row filters (the scope) and its order, without paging."""
    from portal.modelview import apply_filter_args

    order_column, order_direction = get_order_args().get(type(view).__name__, ("", ""))
    if order_column not in (view.order_columns or []):
        order_column, order_direction = "", ""
    if not order_column and view.base_order:
        order_column, order_direction = view.base_order
    apply_filter_args(view._filters)
    query = view._filters.get_joined_filters(view._base_filters).apply_all(view.datamodel.obj.objects)
    document_fields = view.datamodel.obj._fields
    if order_column in document_fields:
        db_field = document_fields[order_column].db_field
        query = query.order_by(("-" if order_direction == "desc" else "+") + db_field)
    return query, (order_column, order_direction)


def batches(query, size: int) -> Iterator[list]:
    """The rows of one cursor in lists of `size` (a server sends each batch as one round-trip)."""
    chunk: list = []
    for item in query.no_cache().batch_size(size):
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def complete(view, rows: list, columns: list[str]) -> None:
    """What the list does to its page, for one batch: references resolved (one query per reference column and
    per reference inside exported lines), then the view's own `prepare_rows` (masking, derived figures)."""
    view.datamodel.prefetch(rows, columns)
    fields = view.datamodel.obj._fields
    for column in columns:
        field = fields.get(column)
        inner = getattr(field, "field", None) if isinstance(field, me.ListField) else field
        if not isinstance(inner, me.EmbeddedDocumentField):
            continue
        lines = [line for row in rows for line in _lines(row._data.get(column))]
        for name, sub in inner.document_type._fields.items():
            if isinstance(sub, me.ReferenceField) and lines:
                resolve_references(lines, name, sub.document_type)
    view.prepare_rows(rows)


def _lines(value) -> list:
    if value is None:
        return []
    return [v for v in value if v is not None] if isinstance(value, list | tuple) else [value]


def rows_of(view, query, columns: list[str], limit: int, counted: list[int]) -> Iterator[list]:
    """Every row of the selection, batch by batch; `counted[0]` ends as the number written."""
    for chunk in batches(query, max(1, int(view.export_batch_size))):
        complete(view, chunk, columns)
        for item in chunk:
            counted[0] += 1
            if counted[0] > limit:  # rows added since the count: refuse rather than cut the file short
                raise TooManyRows
            yield row_cells(view, item, columns)


# ---- the route --------------------------------------------------------------------------------------------------
def export_list(view, fmt: str):
    """The response of `<view>/export/<fmt>/`: the list as a CSV or XLSX attachment, or back to the list with a
    message when it is longer than one export may be."""
    if fmt not in FORMATS or not view.export_enabled:
        abort(404)
    limit = int(current_app.config.get("EXPORT_MAX_ROWS", 50000))
    query, order = selection(view)
    total = query.count()
    if total > limit:
        return too_many(view, total, limit)
    columns = view.export_columns
    counted = [0]
    stem = view.route_base.strip("/").replace("/", "-") or type(view).__name__
    rows = rows_of(view, query, columns, limit, counted)
    try:
        data = (sheets.xlsx_bytes(headers(view, columns), rows, title=stem) if fmt == "xlsx"
                else sheets.csv_bytes(headers(view, columns), rows))
    except TooManyRows:
        return too_many(view, counted[0], limit)
    if view.export_audited:
        record_export(view, fmt, counted[0], order)
    return sheets.download(data, sheets.file_name(stem, FORMATS[fmt]))


def too_many(view, total: int, limit: int):
    flash(gettext("This list has %(total)s rows; one export holds at most %(limit)s. Narrow it down with the "
                  "search filters and export again.", total=total, limit=limit), "warning")
    return redirect(list_url(view))


def list_url(view) -> str:
    """The view's list with the filters and order of this request."""
    query = request.query_string.decode("utf-8", "replace")
    return url_for(f"{type(view).__name__}.list") + (f"?{query}" if query else "")


def links(view) -> list[tuple[str, str]]:
    """(label, url) of the list page's export buttons, keeping its filters and order; none when the view does
    not export or the user may not list it (a page of another permission rendering the list template)."""
    if not view.export_enabled or not view.appbuilder.sm.has_access("can_list", view.class_permission_name):
        return []
    query = request.query_string.decode("utf-8", "replace")
    suffix = f"?{query}" if query else ""
    return [(label, url_for(f"{type(view).__name__}.export", fmt=fmt) + suffix)
            for fmt, label in (("csv", "CSV"), ("xlsx", "Excel"))]


# ---- audit ----------------------------------------------------------------------------------------------------
def describe_filters(view) -> str:
    """The filters of this request in words (English, like the rest of the trail's notes)."""
    with force_locale("en"):
        return "; ".join(f"{flt.column_name} {str(flt.name).lower()} {_joined(values)}"
                         for flt, values in zip(view._filters.filters, view._filters.values, strict=False))


def _joined(values: Iterable | str) -> str:
    if isinstance(values, str):
        return repr(values[:100])
    return ", ".join(repr(str(v)[:100]) for v in values)


def record_export(view, fmt: str, count: int, order: tuple[str, str]) -> AuditEntry:
    """One audit entry for an export of personal or confidential data: who, when, which list, the format, the
    number of rows, the filters and the order."""
    document = view.datamodel.obj
    with force_locale("en"):
        title = str(view.list_title or document.__name__)
    note = f"{fmt.upper()}, {count} rows; filters: {describe_filters(view) or 'none'}"
    if order[0]:
        note += f"; order: {order[0]} {order[1] or 'asc'}"
    return AuditEntry(user=audit.current_actor(), action="export", collection=document._get_collection_name(),
                      record_id=EXPORT_RECORD_ID, record_label=title[:200], note=note[:1000]).save()
