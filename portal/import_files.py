"""Import files in and templates out: a CSV (UTF-8 with or without BOM, GBK as Excel saves it on Chinese
Windows) or an XLSX workbook (checked by its content, read with openpyxl in read-only mode) becomes rows of
cells; a template is the header in the user's language, and in XLSX a second sheet of notes and allowed values.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile

from flask_babel import gettext

from portal import sheets

MAX_ROWS = 50000  # data rows of one file; a longer file is split
MAX_COLUMNS = 100
MAX_CELL = 32767  # characters in one cell (as in Excel); a longer one is an error of that cell, read no further
MAX_UNPACKED = 50 * 1024 * 1024  # bytes of a workbook once unzipped: more is refused before it is read
MAX_MEMBERS = 1000  # files inside a workbook
FORMATS = ("csv", "xlsx")
_ZIP = b"PK\x03\x04"


class FileProblem(ValueError):
    """The file cannot be read as an import: the message says why, in the user's language."""

    def __init__(self, message: str, row: int = 0):
        super().__init__(message)
        self.message, self.row = message, row


def file_format(data: bytes, file_name: str) -> str:
    """"csv" or "xlsx", from the name and confirmed by the content; raises FileProblem."""
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if not data:
        raise FileProblem(gettext("The file is empty."))
    if extension not in ("csv", "txt", "xlsx"):
        raise FileProblem(gettext("Allowed file types: %(types)s.", types="csv, xlsx"))
    is_zip = data.startswith(_ZIP)
    if extension == "xlsx" and not is_zip:
        raise FileProblem(gettext("This file is not an XLSX workbook. Save it from the spreadsheet as XLSX or CSV."))
    if extension != "xlsx" and is_zip:
        raise FileProblem(gettext("This file is a workbook, not CSV text: name it .xlsx, or save it as CSV."))
    return "xlsx" if is_zip else "csv"


def read_rows(data: bytes, fmt: str) -> list[list]:
    """Every row of the file (the header first), cells as read, trailing empty cells dropped; raises FileProblem."""
    rows = _xlsx_rows(data) if fmt == "xlsx" else _csv_rows(_text(data))
    if not rows or not any(_filled(cell) for cell in rows[0]):
        raise FileProblem(gettext("The first row must hold the column headers."), row=1)
    return rows


def _filled(cell) -> bool:
    return cell is not None and (not isinstance(cell, str) or cell.strip() != "")


def _trim(row: list) -> list:
    while row and not _filled(row[-1]):
        row.pop()
    if len(row) > MAX_COLUMNS:
        raise FileProblem(gettext("A row has more than %(count)s columns.", count=MAX_COLUMNS))
    for index, cell in enumerate(row):  # kept one character too long: the cell reports itself (import_cells)
        if isinstance(cell, str) and len(cell) > MAX_CELL:
            row[index] = cell[:MAX_CELL + 1]
    return row


def _text(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if b"\x00" in data:  # binary, or UTF-16 ("Unicode text" from Excel)
        raise FileProblem(gettext("This file is not CSV text. Save it from the spreadsheet as CSV UTF-8."))
    for encoding in ("utf-8", "gb18030"):  # GB18030 reads GBK and GB2312 too
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileProblem(gettext("This file is not CSV text. Save it from the spreadsheet as CSV UTF-8."))


def _delimiter(text: str) -> str:
    """Comma, or the semicolon or tab a spreadsheet in another locale may have used: whichever the header has most."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(text: str) -> list[list]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows = []
    try:
        for row in reader:
            rows.append(_trim(row))
            if len(rows) > MAX_ROWS + 1:
                raise FileProblem(gettext("The file has more than %(count)s rows: split it.", count=MAX_ROWS))
    except csv.Error:
        raise FileProblem(gettext("Row %(row)s cannot be read: a cell is too long or a quote is not closed.",
                                  row=reader.line_num), row=reader.line_num) from None
    return rows


def _unpacked_size(data: bytes) -> None:
    """Refuse a workbook that would unpack to more than MAX_UNPACKED bytes or holds more than MAX_MEMBERS files
    (a zip bomb), from its directory alone: nothing is decompressed. (zipfile never inflates a member past the
    size its directory states, so the sum bounds what openpyxl can read.)"""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileProblem(gettext("The workbook cannot be read. Open it in the spreadsheet and save it as XLSX "
                                  "again.")) from None
    if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED:
        raise FileProblem(gettext("This file is too large once unpacked."))


def _xlsx_rows(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    _unpacked_size(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (bad zip, missing parts, XML errors): all mean "not readable"
        raise FileProblem(gettext("The workbook cannot be read. Open it in the spreadsheet and save it as XLSX "
                                  "again.")) from None
    try:
        rows = []
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # the size the file states may be anything: read the rows there are, no more
        for values in sheet.iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS + 1, values_only=True):
            rows.append(_trim(list(values)))
            if len(rows) > MAX_ROWS + 1:
                raise FileProblem(gettext("The file has more than %(count)s rows: split it.", count=MAX_ROWS))
        return rows
    except FileProblem:
        raise
    except Exception:
        raise FileProblem(gettext("The workbook cannot be read. Open it in the spreadsheet and save it as XLSX "
                                  "again.")) from None
    finally:
        book.close()


def template(header: list[str], notes: list[list[str]], fmt: str, title: str) -> bytes:
    """An empty import file: the header; in XLSX also a second sheet "Notes" with what each column takes."""
    if fmt == "csv":
        return sheets.csv_bytes(header, [])
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(sheets.xlsx_bytes(header, [], title=title)))
    sheet = book.create_sheet(gettext("Notes")[:31])
    sheet.append([sheets.safe_cell(gettext("Column")), sheets.safe_cell(gettext("Required")),
                  sheets.safe_cell(gettext("What to enter"))])
    for row in notes:
        sheet.append([sheets.safe_cell(cell) for cell in row])
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["C"].width = 90
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
