"""Spreadsheets out of the portal (list exports, dashboard tables, import templates): one place that writes CSV
and XLSX, and that neutralises formulas (SECURITY.md 2 Input, OWASP "CSV injection").

A text cell that a spreadsheet program would read as a formula (it starts with =, +, -, @, a tab or a carriage
return) is written with a leading apostrophe, so it shows as the text that was typed and is never evaluated.
Numbers stay numbers. CSV is UTF-8 with a byte-order mark so that Excel opens Chinese text correctly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from flask import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters an XLSX cell cannot hold
_LEADING_IGNORED = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\r") + " \u3000"


def safe_cell(value):
    """A value as a spreadsheet may hold it: numbers and dates as they are, text never read as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal | dt.date | dt.datetime):
        return value
    text = str(value)
    # A spreadsheet skips leading control characters and blanks before it looks for a formula, so do we.
    return "'" + text if text.lstrip(_LEADING_IGNORED).startswith(FORMULA_START) else text


def _csv_cell(value) -> str:
    value = safe_cell(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def csv_bytes(header: Sequence, rows: Iterable[Sequence]) -> bytes:
    """A CSV file (UTF-8 with BOM, CRLF line ends) of `header` and `rows`, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx_cell(value):
    if isinstance(value, str):
        value = _ILLEGAL_XML.sub("", value)  # before neutralising: what is left is what the sheet will read
    value = safe_cell(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def xlsx_bytes(header: Sequence, rows: Iterable[Sequence], title: str = "Sheet1") -> bytes:
    """An XLSX workbook of one sheet: a bold, frozen header row, then `rows`, every cell neutralised.

    Written in openpyxl's write-only mode, so memory stays flat whatever the number of rows.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_UNSAFE_NAME.sub(" ", title)[:31] or "Sheet1")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for label in header:
        cell = WriteOnlyCell(sheet, value=_xlsx_cell(label))
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    for row in rows:
        sheet.append([_xlsx_cell(cell) for cell in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def file_name(stem: str, extension: str, now: dt.datetime | None = None) -> str:
    """A safe download name: ASCII letters, digits, dots and dashes, stamped with the time."""
    now = now or dt.datetime.now()
    return f"{_UNSAFE_NAME.sub('-', stem).strip('-') or 'export'}-{now:%Y%m%d-%H%M}.{extension}"


def download(data: bytes, name: str) -> Response:
    """`data` as an attachment named `name` (CSV or XLSX by extension), never cached."""
    kind = XLSX_TYPE if name.endswith(".xlsx") else CSV_TYPE
    response = Response(data, mimetype=kind.split(";")[0], content_type=kind)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
